// Applies pending migrations at start-up in one transaction with their version rows, so a crash
// mid-migration leaves the schema at the last whole state. On PostgreSQL an advisory lock makes
// instances that start together take turns; SQLite's write lock does the same for one file.
import type { SQL } from "bun";
import { migrations, type Dialect, type Migration } from "./migrations/index.ts";

// Any fixed number shared by every instance of this service.
const MIGRATION_LOCK = 727_268_001;

export async function migrate(sql: SQL, dialect: Dialect, now: () => Date): Promise<Migration[]> {
  return sql.begin(async (tx) => {
    if (dialect === "postgres") await tx.unsafe(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`);
    await tx`CREATE TABLE IF NOT EXISTS schema_migrations (
      version INTEGER PRIMARY KEY,
      name TEXT NOT NULL,
      applied_at TEXT NOT NULL
    )`;
    const rows: Array<{ version: number | string }> = await tx`SELECT version FROM schema_migrations`;
    const applied = new Set(rows.map((row) => Number(row.version)));
    const pending = migrations[dialect].filter((m) => !applied.has(m.version));
    for (const migration of pending) {
      await tx.unsafe(migration.sql);
      await tx`INSERT INTO schema_migrations (version, name, applied_at)
               VALUES (${migration.version}, ${migration.name}, ${now().toISOString()})`;
    }
    return pending;
  });
}
