// The rows behind sessions: one refresh token per row, all of a login's tokens sharing its session
// id. src/auth/session.ts decides what a presented token means; this file only keeps the rows.
import type { SQL } from "bun";
import { Database } from "bun:sqlite";
import { falseIfUserGone, isForeignKeyViolation } from "./errors.ts";
import type { Dialect } from "./migrations/index.ts";
import { sessionColumns, toSessionRow, toSessionUser, type SessionRow, type SessionUser } from "./rows.ts";
import { transaction } from "./connect.ts";
import type { Revocation } from "./revocations.ts";

/** What to do with a presented refresh token; see SessionStore.spend. */
export type SpendDecision = "rotate" | "reuse" | "refuse" | "revoke";

// The hot read of every authenticated request, as text both drivers take: $1 and $2 appear in
// order, so SQLite numbers them as PostgreSQL does.
const SESSION_USER_SQL = `SELECT users.*, EXISTS (SELECT 1 FROM refresh_tokens
    WHERE refresh_tokens.family_id = $1 AND refresh_tokens.user_id = users.id) AS session_alive
  FROM users WHERE users.id = $2`;

/**
 * On SQLite the hot read goes through a cached bun:sqlite statement on a read-only connection:
 * Bun.SQL's sqlite adapter spent about 16 µs on it against 4 µs, and GET /me measured ~70 µs a
 * request against ~110-125 µs without it. In WAL mode this connection sees every committed write.
 */
function sqliteReader(file: string) {
  let db: Database | undefined;
  let statement: ReturnType<Database["query"]> | undefined;
  let closed = false;
  return {
    get(sessionId: string, id: number): Record<string, unknown> | null {
      if (closed) throw new Error("the database is closed");
      // Opened on first use: the schema must exist, and migrations run after the database opens.
      db ??= new Database(file, { readonly: true, strict: true });
      statement ??= db.query(SESSION_USER_SQL);
      return statement.get(sessionId, id) as Record<string, unknown> | null;
    },
    close() {
      closed = true;
      db?.close();
    },
  };
}

export class SessionStore {
  private readonly reader?: ReturnType<typeof sqliteReader>;

  constructor(
    private readonly sql: SQL,
    private readonly dialect: Dialect,
    sqliteFile?: string,
    /** Told of every session ended here, before the caller answers (as UserStore's). */
    private readonly announce: (revocation: Revocation) => void = () => {},
  ) {
    if (sqliteFile) this.reader = sqliteReader(sqliteFile);
  }

  /** The user, and whether this session of theirs still lives. */
  async userBySession(id: number, sessionId: string): Promise<SessionUser | undefined> {
    const row = this.reader ? this.reader.get(sessionId, id) : (await this.sql.unsafe(SESSION_USER_SQL, [sessionId, id]))[0];
    return row ? toSessionUser(row) : undefined;
  }

  /**
   * Stores a session's first token, only if the user's token version is still the one the login saw:
   * a password change or deletion that lands during the password check wins. False if it did.
   */
  async insert(token: Omit<SessionRow, "usedAt">, now: Date): Promise<boolean> {
    // The account can go between our check and our insert (PostgreSQL, READ COMMITTED).
    return falseIfUserGone(() =>
      transaction(this.sql, async (tx) => {
        const [user] = await tx`SELECT token_version FROM users WHERE id = ${token.userId}`;
        if (!user || Number(user.token_version) !== token.userVersion) return false;
        await tx`INSERT INTO refresh_tokens ${tx(sessionColumns(token, now))}`;
        return true;
      }),
    );
  }

  async find(id: string): Promise<SessionRow | undefined> {
    const [row] = await this.sql`SELECT * FROM refresh_tokens WHERE id = ${id}`;
    return row ? toSessionRow(row) : undefined;
  }

  /**
   * Presents token `id` and stores `next`, its successor, in one transaction, as `decide` rules on
   * the token's row, read under a lock: "rotate" spends the token, "reuse" leaves it spent (a second
   * successor in the same session), "refuse" and "revoke" store nothing. "gone" when the token is not
   * there any more (logout, revoked, account deleted) or its session began before the user's latest
   * password change. Parallel presentations of one token take turns, so each sees the last one's
   * outcome: on PostgreSQL by the row lock (on every instance), on SQLite because the first
   * statement writes, which holds the database's write lock from the start.
   */
  async spend(id: string, next: Omit<SessionRow, "usedAt">, now: Date, decide: (row: SessionRow) => SpendDecision): Promise<SpendDecision | "gone"> {
    // The successor goes in first: its foreign-key check locks the user row before any token row is
    // locked, the order an account deletion takes (user, then its tokens by cascade). The other
    // order deadlocks on PostgreSQL. Whatever does not keep it rolls back, successor and all.
    const undo = new Error("refresh token not spent");
    let outcome: SpendDecision | "gone" = "gone";
    try {
      await transaction(this.sql, async (tx) => {
        outcome = "gone";
        await tx`INSERT INTO refresh_tokens ${tx(sessionColumns(next, now))}`;
        const lock = this.dialect === "postgres" ? tx`FOR UPDATE OF refresh_tokens` : tx``;
        const [row] = await tx`
          SELECT refresh_tokens.* FROM refresh_tokens
          JOIN users ON users.id = refresh_tokens.user_id AND users.token_version = refresh_tokens.user_version
          WHERE refresh_tokens.id = ${id} ${lock}`;
        if (!row) throw undo;
        outcome = decide(toSessionRow(row));
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
   * Ends a session: every refresh token of it. On PostgreSQL its rows are locked first, which waits
   * out a rotation in flight; the DELETE, a later statement, then also sees the successor that
   * rotation committed (one DELETE alone would miss it and leave it alive).
   */
  async revoke(sessionId: string): Promise<void> {
    await transaction(this.sql, async (tx) => {
      if (this.dialect === "postgres") await tx`SELECT id FROM refresh_tokens WHERE family_id = ${sessionId} ORDER BY id FOR UPDATE`;
      await tx`DELETE FROM refresh_tokens WHERE family_id = ${sessionId}`;
    }).finally(() => this.announce({ session: sessionId }));
  }

  async deleteExpired(now: Date): Promise<number> {
    const rows = await this.sql`DELETE FROM refresh_tokens WHERE expires_at < ${now.toISOString()} RETURNING id`;
    return rows.length;
  }

  close(): void {
    this.reader?.close();
  }
}
