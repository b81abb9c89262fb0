// The append-only list of schema changes, per dialect. Imported as text so a compiled binary
// carries them; never edit a shipped file, add the next number instead.
import postgres0001 from "./postgres/0001_init.sql" with { type: "text" };
import sqlite0001 from "./sqlite/0001_init.sql" with { type: "text" };
import postgres0002 from "./postgres/0002_accounts.sql" with { type: "text" };
import sqlite0002 from "./sqlite/0002_accounts.sql" with { type: "text" };
import postgres0003 from "./postgres/0003_sessions.sql" with { type: "text" };
import sqlite0003 from "./sqlite/0003_sessions.sql" with { type: "text" };
import postgres0004 from "./postgres/0004_image_sets.sql" with { type: "text" };
import sqlite0004 from "./sqlite/0004_image_sets.sql" with { type: "text" };
import postgres0005 from "./postgres/0005_revocations.sql" with { type: "text" };
import sqlite0005 from "./sqlite/0005_revocations.sql" with { type: "text" };

export type Migration = { version: number; name: string; sql: string };
export type Dialect = "sqlite" | "postgres";

export const migrations: Record<Dialect, readonly Migration[]> = {
  sqlite: [
    { version: 1, name: "init", sql: sqlite0001 },
    { version: 2, name: "accounts", sql: sqlite0002 },
    { version: 3, name: "sessions", sql: sqlite0003 },
    { version: 4, name: "image_sets", sql: sqlite0004 },
    { version: 5, name: "revocations", sql: sqlite0005 },
  ],
  postgres: [
    { version: 1, name: "init", sql: postgres0001 },
    { version: 2, name: "accounts", sql: postgres0002 },
    { version: 3, name: "sessions", sql: postgres0003 },
    { version: 4, name: "image_sets", sql: postgres0004 },
    { version: 5, name: "revocations", sql: postgres0005 },
  ],
};
