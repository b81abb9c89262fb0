// The store's failures as coded errors (src/errors.ts), and the sniffing of driver errors behind
// them: SQLite and PostgreSQL say the same things differently, and callers should not care which.
import { CodedError } from "../core.ts";

export class EmailTakenError extends CodedError {
  constructor() {
    super("email_taken", "An account with this email already exists.");
    this.name = "EmailTakenError";
  }
}

/** The change relied on an admin's rights, and the acting user lost them meanwhile. */
export class NoLongerAdminError extends CodedError {
  constructor() {
    super("forbidden", "You are no longer an admin.");
    this.name = "NoLongerAdminError";
  }
}

/** The change would leave the service without an active admin. */
export class LastAdminError extends CodedError {
  constructor() {
    super("last_admin", "This is the last active admin: promote another account first.");
    this.name = "LastAdminError";
  }
}

/** The database is not answering (see isUnavailable); the driver's error is the cause. */
export class StoreUnavailableError extends CodedError {
  constructor(cause: unknown) {
    super("service_unavailable", "The database is not answering; try again shortly.", { headers: { "Retry-After": "2" }, cause });
    this.name = "StoreUnavailableError";
  }
}

/** SQLite and PostgreSQL name constraint violations differently; both mean the same to us. */
function violates(err: unknown, sqliteCode: string, sqlState: string): boolean {
  const e = err as { code?: unknown; errno?: unknown } | null;
  return e?.code === sqliteCode || e?.code === sqlState || e?.errno === sqlState;
}
export const isUniqueViolation = (err: unknown) => violates(err, "SQLITE_CONSTRAINT_UNIQUE", "23505");
export const isForeignKeyViolation = (err: unknown) => violates(err, "SQLITE_CONSTRAINT_FOREIGNKEY", "23503");

/** A write that names a user: false, not a foreign-key error, if the user was deleted meanwhile. */
export async function falseIfUserGone(write: () => Promise<boolean>): Promise<boolean> {
  try {
    return await write();
  } catch (err) {
    if (isForeignKeyViolation(err)) return false;
    throw err;
  }
}

/**
 * A database we cannot reach right now (refused, closed, timed out), or that is too busy to answer
 * in time (a statement cancelled by statement_timeout, SQLite's write lock held past busy_timeout),
 * as opposed to a bad query: the request gets 503 and the service keeps running, to recover when
 * the database is back. True for the driver's error and for the StoreUnavailableError wrapping it.
 */
export function isUnavailable(err: unknown): boolean {
  if (err instanceof StoreUnavailableError) return true;
  const code = String((err as { code?: unknown } | null)?.code ?? "");
  return (
    /^ERR_POSTGRES_(CONNECTION_|IDLE_TIMEOUT|LIFETIME_TIMEOUT|TLS)/.test(code) ||
    /^SQLITE_BUSY/.test(code) ||
    ["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EHOSTUNREACH", "ERR_CONNECTION_CLOSED", "ERR_DATABASE_TIMEOUT"].includes(code) ||
    // 57014: cancelled by statement_timeout (we cancel nothing ourselves); 55P03: lock_not_available.
    ["57014", "55P03", "57P01", "57P02", "57P03", "08000", "08003", "08006", "08001", "08004"].includes(
      String((err as { errno?: unknown } | null)?.errno ?? ""),
    )
  );
}
