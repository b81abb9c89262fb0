// Applies pending migrations at start-up, each in its own transaction with its version row, so a
// crash mid-migration leaves the schema at the last whole step.
import type { SQL } from "bun";
import { migrations, type Migration } from "./migrations/index.ts";

export async function migrate(sql: SQL, dialect: keyof typeof migrations, now: () => Date): Promise<Migration[]> {
  await sql`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL
  )`;
  const rows: Array<{ version: number | string }> = await sql`SELECT version FROM schema_migrations`;
  const applied = new Set(rows.map((row) => Number(row.version)));
  const pending = migrations[dialect].filter((m) => !applied.has(m.version));
  for (const migration of pending) {
    await sql.begin(async (tx) => {
      await tx.unsafe(migration.sql);
      await tx`INSERT INTO schema_migrations (version, name, applied_at)
               VALUES (${migration.version}, ${migration.name}, ${now().toISOString()})`;
    });
  }
  return pending;
}
