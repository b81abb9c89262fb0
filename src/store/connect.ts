// Opens SQLite or PostgreSQL behind one Bun.SQL handle, with the settings each needs: a bounded
// pool on PostgreSQL (bounded.ts), an off-the-event-loop busy wait and WAL pragmas on SQLite.
import { SQL } from "bun";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { boundedPostgres } from "./bounded.ts";
import type { Dialect } from "./migrations/index.ts";
import { patientSqlite, SYNC_BUSY_MS } from "./patient-sqlite.ts";

export type { Dialect };

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
