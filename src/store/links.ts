// The one-time tokens we mail: password-reset links and email-verification links. Each row keeps
// the address it was sent to; spending one is a conditional UPDATE, so it works exactly once.
import type { SQL } from "bun";
import { falseIfUserGone } from "./errors.ts";
import type { Dialect } from "./connect.ts";
import { stamp, toLinkRow, type AccountTokenPurpose, type AccountTokenRow } from "./rows.ts";
import { transaction } from "./connect.ts";
import type { Revocation } from "./revocations.ts";

export type { AccountTokenPurpose, AccountTokenRow };

export class LinkStore {
  constructor(
    private readonly sql: SQL,
    private readonly dialect: Dialect,
    /** Told of every user row changed here, before the caller answers (as UserStore's). */
    private readonly announce: (revocation: Revocation) => void = () => {},
  ) {}

  /**
   * Stores a new token; earlier unspent ones for the same purpose stay valid until they expire, or
   * until the account's email changes (UserStore.updateAccount deletes them all). False if, by the
   * time it could be stored (mail is sent after the answer), the account is gone or its address is
   * no longer `token.email`: a link stored after a change would come back to life if the address
   * came back. On PostgreSQL the account's row is share-locked, so a change waits for us or we for it.
   */
  async insert(token: Omit<AccountTokenRow, "usedAt">, now: number): Promise<boolean> {
    return falseIfUserGone(() =>
      transaction(this.sql, async (tx) => {
        const lock = this.dialect === "postgres" ? tx`FOR SHARE` : tx``;
        const [user] = await tx`SELECT email FROM users WHERE id = ${token.userId} ${lock}`;
        if (!user || String(user.email).toLowerCase() !== token.email.toLowerCase()) return false;
        await tx`
          INSERT INTO account_tokens (id, user_id, purpose, email, secret_hash, expires_at, created_at)
          VALUES (${token.id}, ${token.userId}, ${token.purpose}, ${token.email}, ${token.secretHash}, ${stamp(token.expiresAt)}, ${stamp(now)})`;
        return true;
      }),
    );
  }

  async find(id: string): Promise<AccountTokenRow | undefined> {
    const [row] = await this.sql`SELECT * FROM account_tokens WHERE id = ${id}`;
    return row ? toLinkRow(row) : undefined;
  }

  /**
   * Spends a token if it is unspent, unexpired and its address is still the account's. On
   * PostgreSQL the account's row is locked first, the order every other change to an account takes
   * (user, then its tokens); spending the token first deadlocked two resets racing each other.
   */
  private async spend(tx: SQL, id: string, purpose: AccountTokenPurpose, now: number) {
    const at = stamp(now);
    if (this.dialect === "postgres") {
      await tx`SELECT id FROM users WHERE id = (SELECT user_id FROM account_tokens WHERE id = ${id}) FOR UPDATE`;
    }
    const [token] = await tx`
      UPDATE account_tokens SET used_at = ${at}
      WHERE id = ${id} AND purpose = ${purpose} AND used_at IS NULL AND expires_at > ${at}
        AND lower(email) = (SELECT lower(email) FROM users WHERE users.id = account_tokens.user_id)
      RETURNING user_id`;
    return token ? Number(token.user_id) : undefined;
  }

  /** Marks the address verified. The user id, or undefined if the token was not spendable. */
  async verifyEmail(id: string, now: number): Promise<number | undefined> {
    return transaction(this.sql, async (tx) => {
      const userId = await this.spend(tx, id, "email_verification", now);
      if (userId === undefined) return undefined;
      await tx`UPDATE users SET email_verified = ${true}, updated_at = ${stamp(now)} WHERE id = ${userId}`;
      return userId;
    }).then(this.announced);
  }

  /**
   * Sets the new password and ends every session and every other reset link, in one transaction.
   * The link reached the account's inbox, so the address counts as verified too.
   */
  async resetPassword(id: string, passwordHash: string, now: number): Promise<number | undefined> {
    return transaction(this.sql, async (tx) => {
      const userId = await this.spend(tx, id, "password_reset", now);
      if (userId === undefined) return undefined;
      await tx`
        UPDATE users SET password_hash = ${passwordHash}, token_version = token_version + 1, email_verified = ${true},
                         updated_at = ${stamp(now)}
        WHERE id = ${userId}`;
      await tx`DELETE FROM refresh_tokens WHERE user_id = ${userId}`;
      await tx`DELETE FROM account_tokens WHERE user_id = ${userId} AND purpose = 'password_reset' AND id != ${id}`;
      return userId;
    }).then(this.announced);
  }

  private readonly announced = (userId: number | undefined) => {
    if (userId !== undefined) this.announce({ user: userId });
    return userId;
  };

  async deleteExpired(now: number): Promise<number> {
    const rows = await this.sql`DELETE FROM account_tokens WHERE expires_at < ${stamp(now)} RETURNING id`;
    return rows.length;
  }
}
