// The append-only list of schema changes, per dialect. Imported as text so a compiled binary
// carries them; never edit a shipped file, add the next number instead.
import postgres0001 from "./postgres/0001_init.sql" with { type: "text" };
import sqlite0001 from "./sqlite/0001_init.sql" with { type: "text" };
import postgres0002 from "./postgres/0002_accounts.sql" with { type: "text" };
import sqlite0002 from "./sqlite/0002_accounts.sql" with { type: "text" };
import postgres0004 from "./postgres/0004_image_sets.sql" with { type: "text" };
import sqlite0004 from "./sqlite/0004_image_sets.sql" with { type: "text" };

export type Migration = { version: number; name: string; sql: string };
export type Dialect = "sqlite" | "postgres";

export const migrations: Record<Dialect, readonly Migration[]> = {
  sqlite: [
    { version: 1, name: "init", sql: sqlite0001 },
    { version: 2, name: "accounts", sql: sqlite0002 },
    { version: 4, name: "image_sets", sql: sqlite0004 },
  ],
  postgres: [
    { version: 1, name: "init", sql: postgres0001 },
    { version: 2, name: "accounts", sql: postgres0002 },
    { version: 4, name: "image_sets", sql: postgres0004 },
  ],
};
