// The rows behind sessions: one refresh token per row, all of a login's tokens sharing its session
// id. src/auth/session.ts decides what a presented token means; this file only keeps the rows.
import type { SQL } from "bun";
import { Database } from "bun:sqlite";
import { falseIfUserGone, isForeignKeyViolation } from "./errors.ts";
import type { Dialect } from "./connect.ts";
import { sessionColumns, stamp, toSessionRow, toSessionSummary, toSessionUser, type SessionRow, type SessionSummary, type SessionUser } from "./rows.ts";
import { transaction } from "./connect.ts";
import type { Revocation } from "./revocations.ts";

/** A login's place among the account's recent ones: its first ever, from a pair seen lately, or from a new one. */
export type LoginDevice = "first" | "known" | "new";

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
  async insert(token: Omit<SessionRow, "usedAt">, now: number): Promise<boolean> {
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
  async spend(id: string, next: Omit<SessionRow, "usedAt">, now: number, decide: (row: SessionRow) => SpendDecision): Promise<SpendDecision | "gone"> {
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
          await tx`UPDATE refresh_tokens SET used_at = ${stamp(now)} WHERE id = ${id} AND used_at IS NULL`;
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

  /**
   * The user's live sessions (a token neither spent nor expired, from since their latest password
   * change), most recently used first. A session is created when its login checked the password.
   */
  async list(userId: number, now: number): Promise<SessionSummary[]> {
    const rows = await this.sql`
      SELECT refresh_tokens.family_id,
        MIN(COALESCE(refresh_tokens.authenticated_at, refresh_tokens.created_at)) AS created,
        MAX(COALESCE(refresh_tokens.last_used_at, refresh_tokens.created_at)) AS last_used,
        MAX(refresh_tokens.device) AS device, MAX(refresh_tokens.ip) AS ip
      FROM refresh_tokens
      JOIN users ON users.id = refresh_tokens.user_id AND users.token_version = refresh_tokens.user_version
      WHERE refresh_tokens.user_id = ${userId}
      GROUP BY refresh_tokens.family_id
      HAVING MAX(CASE WHEN refresh_tokens.used_at IS NULL AND refresh_tokens.expires_at > ${stamp(now)} THEN 1 ELSE 0 END) = 1
      ORDER BY last_used DESC, refresh_tokens.family_id`;
    return rows.map(toSessionSummary);
  }

  /** Ends session `sessionId` if it is `userId`'s, as `revoke` does; false if they have no such session. */
  async revokeOwned(userId: number, sessionId: string): Promise<boolean> {
    return transaction(this.sql, async (tx) => {
      if (this.dialect === "postgres") {
        await tx`SELECT id FROM refresh_tokens WHERE family_id = ${sessionId} AND user_id = ${userId} ORDER BY id FOR UPDATE`;
      }
      const gone = await tx`DELETE FROM refresh_tokens WHERE family_id = ${sessionId} AND user_id = ${userId} RETURNING id`;
      return gone.length > 0;
    }).finally(() => this.announce({ session: sessionId }));
  }

  /** Ends every session of `userId` but `except` (logout's scopes `others` and `global`), as `revoke` does. */
  async revokeAllOf(userId: number, except?: string): Promise<void> {
    const ended = new Set<string>();
    await transaction(this.sql, async (tx) => {
      const but = except === undefined ? tx`` : tx`AND family_id <> ${except}`;
      if (this.dialect === "postgres") await tx`SELECT id FROM refresh_tokens WHERE user_id = ${userId} ${but} ORDER BY id FOR UPDATE`;
      const gone = await tx`DELETE FROM refresh_tokens WHERE user_id = ${userId} ${but} RETURNING family_id`;
      for (const row of gone) ended.add(row.family_id as string);
    }).finally(() => {
      // Each ended session leaves this instance's cache before the answer; others read the feed.
      for (const sessionId of ended) this.announce({ session: sessionId });
    });
  }

  /** Marks the session used at `now` unless it was at `since` or later; the tokens' successors inherit it. */
  async touch(sessionId: string, now: number, since: number): Promise<void> {
    await this.sql`UPDATE refresh_tokens SET last_used_at = ${stamp(now)}
      WHERE family_id = ${sessionId} AND (last_used_at IS NULL OR last_used_at < ${stamp(since)})`;
  }

  /**
   * Records a login from (`device`, `network`) and says whether the account had logged in from it
   * lately: only the `keep` most recently seen pairs are remembered. An account with none is on its
   * "first" login (or its first since this was kept), which has nothing to compare with.
   */
  async rememberLogin(userId: number, device: string, network: string, now: number, keep: number): Promise<LoginDevice> {
    const seen = stamp(now);
    // The usual login, from a pair seen before, is one statement.
    const again = await this.sql`UPDATE login_devices SET last_seen_at = ${seen}
      WHERE user_id = ${userId} AND device = ${device} AND network = ${network} RETURNING user_id`;
    if (again.length > 0) return "known";
    try {
      return await transaction(this.sql, async (tx) => {
        const [{ n }] = await tx`SELECT COUNT(*) AS n FROM login_devices WHERE user_id = ${userId}`;
        // Of two logins from one new pair at once, only the one that inserts it is told "new".
        const added = await tx`INSERT INTO login_devices (user_id, device, network, last_seen_at)
          VALUES (${userId}, ${device}, ${network}, ${seen})
          ON CONFLICT (user_id, device, network) DO NOTHING RETURNING user_id`;
        if (added.length === 0) return "known";
        await tx`DELETE FROM login_devices WHERE user_id = ${userId} AND last_seen_at < (
          SELECT last_seen_at FROM login_devices WHERE user_id = ${userId} ORDER BY last_seen_at DESC LIMIT 1 OFFSET ${keep - 1})`;
        return Number(n) === 0 ? "first" : "new";
      });
    } catch (err) {
      // The account was deleted meanwhile: nobody to tell.
      if (isForeignKeyViolation(err)) return "known";
      throw err;
    }
  }

  async deleteExpired(now: number): Promise<number> {
    const rows = await this.sql`DELETE FROM refresh_tokens WHERE expires_at < ${stamp(now)} RETURNING id`;
    return rows.length;
  }

  close(): void {
    this.reader?.close();
  }
}
