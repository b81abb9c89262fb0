// Opens the database and holds every query the app makes, through Bun.SQL's tagged templates so
// the same code speaks SQLite today and PostgreSQL as a second dialect. Rows come back normalised.
import { SQL } from "bun";
import { Database } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { boundedPostgres } from "./bounded.ts";
import { patientSqlite } from "./patient-sqlite.ts";
import type { Dialect } from "./migrations/index.ts";
import { transaction } from "./transaction.ts";

export type Role = "user" | "admin";

export type UserRow = {
  id: number;
  name: string;
  email: string;
  passwordHash: string;
  bio: string;
  role: Role;
  imageVersion: number | null;
  tokenVersion: number;
  emailVerified: boolean;
  /** When an admin deactivated the account; null while it is active. */
  disabledAt: string | null;
  createdAt: string;
  updatedAt: string;
};

export type RefreshTokenRow = {
  id: string;
  familyId: string;
  userId: number;
  userVersion: number;
  secretHash: string;
  expiresAt: string;
  usedAt: string | null;
  /** When the login that began this family checked the password (null for families from before it was kept). */
  authenticatedAt: string | null;
};

/** What to do with a presented refresh token; see Store.spendRefreshToken. */
export type SpendDecision = "rotate" | "reuse" | "refuse" | "revoke";

export class EmailTakenError extends Error {
  constructor() {
    super("email already registered");
    this.name = "EmailTakenError";
  }
}

/** The change relied on an admin's rights, and the acting user lost them meanwhile. */
export class NoLongerAdminError extends Error {
  constructor() {
    super("the acting user is no longer an active admin");
    this.name = "NoLongerAdminError";
  }
}

/** The change would leave the service without an active admin. */
export class LastAdminError extends Error {
  constructor() {
    super("the last active admin cannot be removed, demoted or deactivated");
    this.name = "LastAdminError";
  }
}

/** SQLite and PostgreSQL name constraint violations differently; both mean the same to us. */
function violates(err: unknown, sqliteCode: string, sqlState: string): boolean {
  const e = err as { code?: unknown; errno?: unknown } | null;
  return e?.code === sqliteCode || e?.code === sqlState || e?.errno === sqlState;
}
export const isUniqueViolation = (err: unknown) => violates(err, "SQLITE_CONSTRAINT_UNIQUE", "23505");
const isForeignKeyViolation = (err: unknown) => violates(err, "SQLITE_CONSTRAINT_FOREIGNKEY", "23503");

/** A write that names a user: false, not a foreign-key error, if the user was deleted meanwhile. */
export async function falseIfUserGone(write: () => Promise<boolean>): Promise<boolean> {
  try {
    return await write();
  } catch (err) {
    if (isForeignKeyViolation(err)) return false;
    throw err;
  }
}

// SQLite hands back the ISO strings we stored; PostgreSQL hands back Dates.
export const iso = (value: unknown): string =>
  typeof value === "string" && value.endsWith("Z") ? value : (value instanceof Date ? value : new Date(String(value))).toISOString();
const nullableNumber = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));
export const nullableIso = (value: unknown): string | null => (value === null || value === undefined ? null : iso(value));
// SQLite has no booleans: 0/1 there, true/false on PostgreSQL.
export const bool = (value: unknown): boolean => value === true || Number(value) === 1;

function toUser(row: Record<string, unknown>): UserRow {
  return {
    id: Number(row.id),
    name: String(row.name),
    email: String(row.email),
    passwordHash: String(row.password_hash),
    bio: String(row.bio ?? ""),
    role: row.role === "admin" ? "admin" : "user",
    imageVersion: nullableNumber(row.image_version),
    tokenVersion: Number(row.token_version),
    emailVerified: bool(row.email_verified),
    disabledAt: nullableIso(row.disabled_at),
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}

function toRefreshToken(row: Record<string, unknown>): RefreshTokenRow {
  return {
    id: String(row.id),
    familyId: String(row.family_id),
    userId: Number(row.user_id),
    userVersion: Number(row.user_version),
    secretHash: String(row.secret_hash),
    expiresAt: iso(row.expires_at),
    usedAt: nullableIso(row.used_at),
    authenticatedAt: nullableIso(row.authenticated_at),
  };
}

export type { Dialect };

export type OpenDatabase = { sql: SQL; dialect: Dialect; readUser?: UserReader };

export const isPostgresUrl = (url: string): boolean => /^postgres(ql)?:\/\//.test(url);

export type OpenOptions = {
  poolSize?: number;
  /**
   * PostgreSQL: how long a statement may run (statement_timeout) and, one second more, how long we
   * wait for any answer before replacing the pool (src/db/bounded.ts). SQLite: how long a write
   * waits, off the event loop, for another process's lock (src/db/patient-sqlite.ts). Unset: no
   * bound on PostgreSQL, SQLite's own busy wait (the CLI).
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
  return { sql, dialect: "sqlite", readUser: filename === ":memory:" ? undefined : sqliteUserReader(filename) };
}

/**
 * A database we cannot reach right now (refused, closed, timed out), or that is too busy to answer
 * in time (a statement cancelled by statement_timeout, SQLite's write lock held past busy_timeout),
 * as opposed to a bad query: the request gets 503 and the service keeps running, to recover when
 * the database is back.
 */
export function isUnavailable(err: unknown): boolean {
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

/** Reads a user by id, and whether a session (refresh family) of theirs is still alive. */
export type UserReader = { bySession(id: number, sessionId: string): SessionUser | undefined; close(): void };
export type SessionUser = UserRow & { sessionAlive: boolean };

const SESSION_USER_SQL = `SELECT users.*, EXISTS (SELECT 1 FROM refresh_tokens
    WHERE refresh_tokens.family_id = ? AND refresh_tokens.user_id = users.id) AS session_alive
  FROM users WHERE users.id = ?`;

const toSessionUser = (row: Record<string, unknown>): SessionUser => ({
  ...toUser(row),
  sessionAlive: bool(row.session_alive),
});

/**
 * The hot read on SQLite, as a cached prepared statement on a read-only connection. Measured here,
 * Bun.SQL's sqlite adapter spends about 16 µs on this query against 4 µs for a bun:sqlite prepared
 * statement; in WAL mode this connection sees every committed write, so nothing can be stale.
 */
function sqliteUserReader(filename: string): UserReader {
  let statement: ReturnType<Database["query"]> | undefined;
  let db: Database | undefined;
  let closed = false;
  return {
    bySession(id, sessionId) {
      if (closed) throw new Error("the database is closed");
      // Opened on first use: the schema must exist, and migrations run after openDatabase.
      db ??= new Database(filename, { readonly: true, strict: true });
      statement ??= db.query(SESSION_USER_SQL);
      const row = statement.get(sessionId, id) as Record<string, unknown> | null;
      return row ? toSessionUser(row) : undefined;
    },
    close() {
      closed = true;
      db?.close();
    },
  };
}

/**
 * Per-connection settings: WAL for concurrent readers, a bounded busy wait before SQLITE_BUSY (which
 * isUnavailable turns into a 503), real FKs.
 */
export async function configureSqlite(sql: SQL, busyTimeoutMs = 5000): Promise<void> {
  await sql`PRAGMA journal_mode = WAL`;
  await sql.unsafe(`PRAGMA busy_timeout = ${Math.trunc(busyTimeoutMs)}`);
  await sql`PRAGMA foreign_keys = ON`;
  await sql`PRAGMA synchronous = NORMAL`;
}

export type AccountChanges = {
  name?: string;
  email?: string;
  bio?: string;
  passwordHash?: string;
  role?: Role;
  /** true deactivates the account, false reactivates it. */
  disabled?: boolean;
  emailVerified?: boolean;
};

/**
 * What the caller read before deciding on the change; the update applies only if it still holds.
 * `keepFamily` is the session that survives a password change (the one that made it), if any.
 * `actingAdmin`: the change uses this user's admin rights, which must still hold when it lands.
 */
export type Expectation = { tokenVersion?: number; passwordHash?: string; keepFamily?: string; actingAdmin?: number };

export type NewUser = {
  name: string;
  email: string;
  passwordHash: string;
  now: Date;
  role?: Role;
  emailVerified?: boolean;
  /** For imported accounts: when they were created in the app they come from. */
  createdAt?: Date;
};

const refreshTokenColumns = (token: Omit<RefreshTokenRow, "usedAt">, now: Date) => ({
  id: token.id,
  family_id: token.familyId,
  user_id: token.userId,
  user_version: token.userVersion,
  secret_hash: token.secretHash,
  expires_at: token.expiresAt,
  authenticated_at: token.authenticatedAt,
  created_at: now.toISOString(),
});

export class Store {
  constructor(
    readonly sql: SQL,
    readonly dialect: Dialect,
    private readonly reader?: UserReader,
  ) {}

  /** Readiness: a real read of the table every request needs, so a lock held on it shows here too. */
  async ping(): Promise<void> {
    await this.sql`SELECT id FROM users LIMIT 1`;
  }

  async createUser(user: NewUser): Promise<number> {
    try {
      const [row] = await this.sql`
        INSERT INTO users (name, email, password_hash, role, email_verified, created_at, updated_at)
        VALUES (${user.name}, ${user.email}, ${user.passwordHash}, ${user.role ?? "user"}, ${user.emailVerified ?? false},
                ${(user.createdAt ?? user.now).toISOString()}, ${user.now.toISOString()})
        RETURNING id`;
      return Number(row.id);
    } catch (err) {
      if (isUniqueViolation(err)) throw new EmailTakenError();
      throw err;
    }
  }

  async userById(id: number): Promise<UserRow | undefined> {
    const [row] = await this.sql`SELECT * FROM users WHERE id = ${id}`;
    return row ? toUser(row) : undefined;
  }

  /** The hot path of every authenticated request: the user, and whether this session still lives. */
  async userBySession(id: number, sessionId: string): Promise<SessionUser | undefined> {
    if (this.reader) return this.reader.bySession(id, sessionId);
    const [row] = await this.sql`
      SELECT users.*, EXISTS (SELECT 1 FROM refresh_tokens
          WHERE refresh_tokens.family_id = ${sessionId} AND refresh_tokens.user_id = users.id) AS session_alive
      FROM users WHERE users.id = ${id}`;
    return row ? toSessionUser(row) : undefined;
  }

  async userByEmail(email: string): Promise<UserRow | undefined> {
    // PostgreSQL text cannot hold NUL and refuses the query; no stored address has one anyway.
    if (email.includes("\0")) return undefined;
    const [row] = await this.sql`SELECT * FROM users WHERE lower(email) = ${email.toLowerCase()}`;
    return row ? toUser(row) : undefined;
  }

  /**
   * Newest first by id, which only grows, so a page never shifts when users sign up meanwhile;
   * only ids below `beforeId` (the cursor), and only names or emails starting with `prefix`.
   */
  async listUsers(options: { limit: number; beforeId?: number; prefix?: string }): Promise<UserRow[]> {
    const sql = this.sql;
    const before = options.beforeId === undefined ? sql`` : sql`AND id < ${options.beforeId}`;
    let search = sql``;
    if (options.prefix !== undefined) {
      // Folded by the database on both sides: SQLite's lower() knows only ASCII, and folding the
      // prefix in JS while SQLite leaves "É" alone would make such names unfindable.
      const pattern = `${options.prefix.replace(/[!%_]/g, (c) => `!${c}`)}%`;
      search = sql`AND (lower(name) LIKE lower(${pattern}) ESCAPE '!' OR lower(email) LIKE lower(${pattern}) ESCAPE '!')`;
    }
    const rows = await sql`SELECT * FROM users WHERE 1 = 1 ${before} ${search} ORDER BY id DESC LIMIT ${options.limit}`;
    return rows.map(toUser);
  }

  /** One password hash that does not start with `currentPrefix` (PasswordHasher's), if any account has one. */
  async legacyPasswordHash(currentPrefix: string): Promise<string | undefined> {
    const [row] = await this.sql`SELECT password_hash FROM users WHERE password_hash NOT LIKE ${`${currentPrefix}%`} LIMIT 1`;
    return row ? String(row.password_hash) : undefined;
  }

  async activeAdminCount(): Promise<number> {
    const [row] = await this.sql`SELECT count(*) AS n FROM users WHERE role = 'admin' AND disabled_at IS NULL`;
    return Number(row.n);
  }

  /**
   * Inside a transaction about to demote, deactivate or delete `id`: refuses if it is the last
   * active admin. On PostgreSQL the admins' rows are locked first, so two admins removing each
   * other at the same moment cannot both succeed; SQLite runs one write transaction at a time.
   */
  private async keepAnAdmin(tx: SQL, id: number): Promise<void> {
    const lock = this.dialect === "postgres" ? tx`FOR UPDATE` : tx``;
    const admins: Array<{ id: unknown }> = await tx`SELECT id FROM users WHERE role = 'admin' AND disabled_at IS NULL ${lock}`;
    if (admins.length === 1 && Number(admins[0]!.id) === id) throw new LastAdminError();
  }

  /**
   * Inside the transaction that uses them: are `actor`'s admin rights still there? An admin demoted
   * or deactivated while their request was being prepared (a password hash takes a while) must not
   * land it. On PostgreSQL the row is share-locked, so the demotion waits for us or we for it.
   */
  private async stillAdmin(tx: SQL, actor: number | undefined): Promise<void> {
    if (actor === undefined) return;
    const lock = this.dialect === "postgres" ? tx`FOR SHARE` : tx``;
    const rows = await tx`SELECT id FROM users WHERE id = ${actor} AND role = 'admin' AND disabled_at IS NULL ${lock}`;
    if (rows.length === 0) throw new NoLongerAdminError();
  }

  /**
   * Applies account changes, but only if the caller's view still holds (see Expectation). A new
   * email is unverified until proven; a new password or a deactivation bumps the token version and
   * ends sessions (all of them, or all but `keepFamily`) in the same transaction; a new password
   * voids any reset link in flight, and a new email every mailed link. Undefined when stale or gone.
   * Throws LastAdminError or EmailTakenError.
   */
  async updateAccount(id: number, changes: AccountChanges, expect: Expectation, now: Date): Promise<UserRow | undefined> {
    const at = now.toISOString();
    const set: Record<string, unknown> = { updated_at: at };
    if (changes.name !== undefined) set.name = changes.name;
    if (changes.email !== undefined) set.email = changes.email;
    if (changes.email !== undefined) set.email_verified = false;
    if (changes.bio !== undefined) set.bio = changes.bio;
    if (changes.passwordHash !== undefined) set.password_hash = changes.passwordHash;
    if (changes.role !== undefined) set.role = changes.role;
    if (changes.disabled !== undefined) set.disabled_at = changes.disabled ? at : null;
    if (changes.emailVerified !== undefined) set.email_verified = changes.emailVerified;
    const endsSessions = changes.passwordHash !== undefined || changes.disabled === true;
    try {
      return await transaction(this.sql, async (tx) => {
        if (changes.role === "user" || changes.disabled === true) await this.keepAnAdmin(tx, id);
        await this.stillAdmin(tx, expect.actingAdmin);
        const sameVersion = expect.tokenVersion === undefined ? tx`` : tx`AND token_version = ${expect.tokenVersion}`;
        const sameHash = expect.passwordHash === undefined ? tx`` : tx`AND password_hash = ${expect.passwordHash}`;
        const [row] = await tx`UPDATE users SET ${tx(set)} WHERE id = ${id} ${sameVersion} ${sameHash} RETURNING *`;
        if (!row) return undefined;
        // A new email voids every mailed link, verification links too: else, after A → B → A, the
        // first link for A would confirm A again. A new password voids the reset links.
        if (changes.email !== undefined) {
          await tx`DELETE FROM account_tokens WHERE user_id = ${id}`;
        } else if (changes.passwordHash !== undefined) {
          await tx`DELETE FROM account_tokens WHERE user_id = ${id} AND purpose = 'password_reset'`;
        }
        if (!endsSessions) return toUser(row);
        const [bumped] = await tx`UPDATE users SET token_version = token_version + 1 WHERE id = ${id} RETURNING *`;
        const keep = changes.disabled === true ? undefined : expect.keepFamily;
        if (keep === undefined) {
          await tx`DELETE FROM refresh_tokens WHERE user_id = ${id}`;
        } else {
          await tx`DELETE FROM refresh_tokens WHERE user_id = ${id} AND family_id != ${keep}`;
          await tx`UPDATE refresh_tokens SET user_version = ${bumped.token_version} WHERE family_id = ${keep}`;
        }
        return toUser(bumped);
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new EmailTakenError();
      throw err;
    }
  }

  /** Replaces a hash only if it is still the one we verified, so a concurrent password change wins. */
  async upgradePasswordHash(id: number, oldHash: string, newHash: string): Promise<void> {
    await this.sql`UPDATE users SET password_hash = ${newHash} WHERE id = ${id} AND password_hash = ${oldHash}`;
  }

  /** Reserves the next picture version for a user, with the current one; undefined if the account is gone. */
  async nextImageVersion(id: number): Promise<{ next: number; current: number | null } | undefined> {
    const [row] = await this.sql`
      UPDATE users SET image_counter = image_counter + 1 WHERE id = ${id} RETURNING image_counter, image_version`;
    return row ? { next: Number(row.image_counter), current: nullableNumber(row.image_version) } : undefined;
  }

  async setImageVersion(id: number, version: number | null, now: Date): Promise<boolean> {
    const rows = await this.sql`
      UPDATE users SET image_version = ${version}, updated_at = ${now.toISOString()} WHERE id = ${id} RETURNING id`;
    return rows.length === 1;
  }

  /**
   * Deletes the account (never the last active admin; `actingAdmin` as in Expectation); its tokens
   * go with it (ON DELETE CASCADE).
   */
  async deleteUser(id: number, actingAdmin?: number): Promise<boolean> {
    return transaction(this.sql, async (tx) => {
      await this.keepAnAdmin(tx, id);
      await this.stillAdmin(tx, actingAdmin);
      const rows = await tx`DELETE FROM users WHERE id = ${id} RETURNING id`;
      return rows.length === 1;
    });
  }

  /** The current picture version of those of `ids` that have one, for reconciling storage after a crash. */
  async imageVersions(ids: number[]): Promise<Map<number, number>> {
    if (ids.length === 0) return new Map();
    const rows: Array<{ id: unknown; image_version: unknown }> = await this.sql`
      SELECT id, image_version FROM users WHERE image_version IS NOT NULL AND id IN ${this.sql(ids)}`;
    return new Map(rows.map((row) => [Number(row.id), Number(row.image_version)]));
  }

  /**
   * Starts a session for a user, only if their token version is still the one the login saw: a
   * password change or deletion that lands during the password check wins. False if it did.
   */
  async insertRefreshToken(token: Omit<RefreshTokenRow, "usedAt">, now: Date): Promise<boolean> {
    // The account can go between our check and our insert (PostgreSQL, READ COMMITTED).
    return falseIfUserGone(() =>
      transaction(this.sql, async (tx) => {
        const [user] = await tx`SELECT token_version FROM users WHERE id = ${token.userId}`;
        if (!user || Number(user.token_version) !== token.userVersion) return false;
        await tx`INSERT INTO refresh_tokens ${tx(refreshTokenColumns(token, now))}`;
        return true;
      }),
    );
  }

  async refreshToken(id: string): Promise<RefreshTokenRow | undefined> {
    const [row] = await this.sql`SELECT * FROM refresh_tokens WHERE id = ${id}`;
    return row ? toRefreshToken(row) : undefined;
  }

  /**
   * Presents refresh token `id` and stores `next`, its successor, in one transaction, as `decide` rules
   * on the token's row, read under a lock: "rotate" spends the token, "reuse" leaves it spent (a
   * second successor in the same family), "refuse" and "revoke" store nothing. "gone" when the token
   * is not there any more (logout, revoked, account deleted) or its family began before the user's
   * latest password change. Parallel presentations of one token take turns, so each sees the last
   * one's outcome: on PostgreSQL by the row lock (on every instance), on SQLite because the first
   * statement writes, which holds the database's write lock from the start.
   */
  async spendRefreshToken(
    id: string,
    next: Omit<RefreshTokenRow, "usedAt">,
    now: Date,
    decide: (row: RefreshTokenRow) => SpendDecision,
  ): Promise<SpendDecision | "gone"> {
    // The successor goes in first: its foreign-key check locks the user row before any token row is
    // locked, the order an account deletion takes (user, then its tokens by cascade). The other
    // order deadlocks on PostgreSQL. Whatever does not keep it rolls back, successor and all.
    const undo = new Error("refresh token not spent");
    let outcome: SpendDecision | "gone" = "gone";
    try {
      await transaction(this.sql, async (tx) => {
        outcome = "gone";
        await tx`INSERT INTO refresh_tokens ${tx(refreshTokenColumns(next, now))}`;
        const lock = this.dialect === "postgres" ? tx`FOR UPDATE OF refresh_tokens` : tx``;
        const [row] = await tx`
          SELECT refresh_tokens.* FROM refresh_tokens
          JOIN users ON users.id = refresh_tokens.user_id AND users.token_version = refresh_tokens.user_version
          WHERE refresh_tokens.id = ${id} ${lock}`;
        if (!row) throw undo;
        outcome = decide(toRefreshToken(row));
        if (outcome === "rotate") {
          await tx`UPDATE refresh_tokens SET used_at = ${now.toISOString()} WHERE id = ${id} AND used_at IS NULL`;
        } else if (outcome !== "reuse") {
          throw undo;
        }
      });
      return outcome;
    } catch (err) {
      if (err === undo) return outcome;
      // The account was deleted before our insert could reference it.
      if (isForeignKeyViolation(err)) return "gone";
      throw err;
    }
  }

  /**
   * Ends a session: every refresh token of the family. On PostgreSQL the family's rows are locked
   * first, which waits out a rotation in flight; the DELETE, a later statement, then also sees the
   * successor that rotation committed (one DELETE alone would miss it and leave it alive).
   */
  async revokeFamily(familyId: string): Promise<void> {
    await transaction(this.sql, async (tx) => {
      if (this.dialect === "postgres") await tx`SELECT id FROM refresh_tokens WHERE family_id = ${familyId} ORDER BY id FOR UPDATE`;
      await tx`DELETE FROM refresh_tokens WHERE family_id = ${familyId}`;
    });
  }

  async deleteExpiredRefreshTokens(now: Date): Promise<number> {
    const rows = await this.sql`DELETE FROM refresh_tokens WHERE expires_at < ${now.toISOString()} RETURNING id`;
    return rows.length;
  }

  async close(): Promise<void> {
    this.reader?.close();
    await this.sql.close();
  }
}
