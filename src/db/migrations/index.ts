// The append-only list of schema changes, per dialect. Imported as text so a compiled binary
// carries them; never edit a shipped file, add the next number instead.
import sqlite0001 from "./sqlite/0001_init.sql" with { type: "text" };

export type Migration = { version: number; name: string; sql: string };

export const migrations: Record<"sqlite", readonly Migration[]> = {
  sqlite: [{ version: 1, name: "init", sql: sqlite0001 }],
};
