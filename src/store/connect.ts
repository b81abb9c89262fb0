// Opens SQLite or PostgreSQL behind one Bun.SQL handle, with the settings each needs (a bounded
// pool on PostgreSQL, a patient busy wait and WAL on SQLite), migrates it, and runs transactions.
import { SQL } from "bun";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { boundedPostgres } from "./bounded.ts";
import { patientSqlite, SYNC_BUSY_MS } from "./patient-sqlite.ts";
import { stamp } from "./rows.ts";
import type { Clock } from "../core.ts";
// Imported as text so a compiled binary carries them; never edit a shipped file, add the next number.
import postgres0001 from "./migrations/postgres/0001_init.sql" with { type: "text" };
import postgres0002 from "./migrations/postgres/0002_accounts.sql" with { type: "text" };
import postgres0003 from "./migrations/postgres/0003_sessions.sql" with { type: "text" };
import postgres0004 from "./migrations/postgres/0004_image_sets.sql" with { type: "text" };
import postgres0005 from "./migrations/postgres/0005_revocations.sql" with { type: "text" };
import postgres0006 from "./migrations/postgres/0006_revocation_writers.sql" with { type: "text" };
import postgres0007 from "./migrations/postgres/0007_revocation_paths.sql" with { type: "text" };
import sqlite0001 from "./migrations/sqlite/0001_init.sql" with { type: "text" };
import sqlite0002 from "./migrations/sqlite/0002_accounts.sql" with { type: "text" };
import sqlite0003 from "./migrations/sqlite/0003_sessions.sql" with { type: "text" };
import sqlite0004 from "./migrations/sqlite/0004_image_sets.sql" with { type: "text" };
import sqlite0005 from "./migrations/sqlite/0005_revocations.sql" with { type: "text" };
import sqlite0006 from "./migrations/sqlite/0006_revocation_writers.sql" with { type: "text" };
import sqlite0007 from "./migrations/sqlite/0007_revocation_paths.sql" with { type: "text" };

export type Dialect = "sqlite" | "postgres";
export type Migration = { version: number; name: string; sql: string };

// The append-only list of schema changes: version n is the nth name, with one file per dialect.
const MIGRATION_NAMES = ["init", "accounts", "sessions", "image_sets", "revocations", "revocation_writers", "revocation_paths"] as const;
const MIGRATION_FILES: Record<Dialect, readonly string[]> = {
  sqlite: [sqlite0001, sqlite0002, sqlite0003, sqlite0004, sqlite0005, sqlite0006, sqlite0007],
  postgres: [postgres0001, postgres0002, postgres0003, postgres0004, postgres0005, postgres0006, postgres0007],
};

/** Each dialect's migrations in order, numbered from 1. */
export function migrations(dialect: Dialect): Migration[] {
  const files = MIGRATION_FILES[dialect];
  if (files.length !== MIGRATION_NAMES.length) throw new TypeError(`${dialect}: ${files.length} migration files for ${MIGRATION_NAMES.length} names`);
  return MIGRATION_NAMES.map((name, i) => ({ version: i + 1, name, sql: files[i]! }));
}

/** An open database; `file` is the SQLite file (not for :memory:), for the hot-path reader. */
export type OpenDatabase = { sql: SQL; dialect: Dialect; file?: string };

export const isPostgresUrl = (url: string): boolean => /^postgres(ql)?:\/\//.test(url);

export type OpenOptions = {
  poolSize?: number;
  /**
   * PostgreSQL: how long a statement may run (statement_timeout) and, one second more, how long we
   * wait for any answer before replacing the pool (bounded.ts). SQLite: how long a write waits, off
   * the event loop, for another process's lock (patient-sqlite.ts). Unset: no bound on PostgreSQL,
   * SQLite's own busy wait (the CLI).
   */
  timeoutMs?: number;
  onRecycle?: (reason: string) => void;
};

export function openDatabase(url: string, options: OpenOptions = {}): OpenDatabase {
  if (isPostgresUrl(url)) {
    const max = options.poolSize ?? 10;
    const sql =
      options.timeoutMs === undefined
        ? new SQL(url, { max, idleTimeout: 60, connectionTimeout: 5 })
        : boundedPostgres(url, { max, timeoutMs: options.timeoutMs, onRecycle: options.onRecycle });
    return { sql, dialect: "postgres" };
  }
  const filename = url === ":memory:" ? ":memory:" : url.replace(/^sqlite:(\/\/)?/, "");
  if (filename !== ":memory:") mkdirSync(dirname(filename), { recursive: true });
  const raw = new SQL({ adapter: "sqlite", filename, create: true, readwrite: true });
  const sql = options.timeoutMs === undefined ? raw : patientSqlite(raw, options.timeoutMs);
  return { sql, dialect: "sqlite", file: filename === ":memory:" ? undefined : filename };
}

/**
 * Per-connection settings: WAL for concurrent readers, a bounded busy wait before SQLITE_BUSY (which
 * isUnavailable turns into a 503), real FKs. With a patient handle (timeoutMs set) SQLite's own
 * wait stays short, since it blocks the event loop; the patient retries do the rest.
 */
export async function configureSqlite(sql: SQL, patient: boolean): Promise<void> {
  const busyTimeoutMs = patient ? SYNC_BUSY_MS : 5000;
  await sql`PRAGMA journal_mode = WAL`;
  await sql.unsafe(`PRAGMA busy_timeout = ${Math.trunc(busyTimeoutMs)}`);
  await sql`PRAGMA foreign_keys = ON`;
  await sql`PRAGMA synchronous = NORMAL`;
}

// Any fixed number shared by every instance of this service.
const MIGRATION_LOCK = 727_268_001;

/**
 * Applies pending migrations at start-up in one transaction with their version rows, so a crash
 * mid-migration leaves the schema at the last whole state. On PostgreSQL an advisory lock makes
 * instances that start together take turns; SQLite's write lock does the same for one file.
 */
export async function migrate(sql: SQL, dialect: Dialect, now: Clock): Promise<Migration[]> {
  return sql.begin(async (tx) => {
    if (dialect === "postgres") await tx.unsafe(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`);
    await tx`CREATE TABLE IF NOT EXISTS schema_migrations (
      version INTEGER PRIMARY KEY,
      name TEXT NOT NULL,
      applied_at TEXT NOT NULL
    )`;
    const rows: Array<{ version: number | string }> = await tx`SELECT version FROM schema_migrations`;
    const applied = new Set(rows.map((row) => Number(row.version)));
    const pending = migrations(dialect).filter((m) => !applied.has(m.version));
    for (const migration of pending) {
      await tx.unsafe(migration.sql);
      await tx`INSERT INTO schema_migrations (version, name, applied_at)
               VALUES (${migration.version}, ${migration.name}, ${stamp(now())})`;
    }
    return pending;
  });
}

const RETRYABLE = new Set(["40P01", "40001"]); // deadlock_detected, serialization_failure
const ATTEMPTS = 3;

const sqlState = (err: unknown) => String((err as { errno?: unknown } | null)?.errno ?? (err as { code?: unknown } | null)?.code ?? "");

/**
 * A transaction that PostgreSQL may abort for reasons of timing alone (a deadlock between two
 * requests, a serialization failure) is run again: the first attempt rolled back whole, so trying
 * again is safe, and the client gets an answer instead of a 500.
 */
export async function transaction<T>(sql: SQL, work: (tx: SQL) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await sql.begin(work);
    } catch (err) {
      if (attempt >= ATTEMPTS || !RETRYABLE.has(sqlState(err))) throw err;
      // A few milliseconds, different each time, so the two parties do not collide again.
      await Bun.sleep(Math.random() * 10 * attempt);
    }
  }
}
