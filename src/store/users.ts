// Users' rows: accounts, their admin rules and picture versions. Every write that must not lose a
// race (the last admin, a password changed meanwhile) checks its condition in the same transaction.
import type { SQL } from "bun";
import { EmailTakenError, isUniqueViolation, LastAdminError, NoLongerAdminError } from "./errors.ts";
import type { Dialect } from "./connect.ts";
import { nullableNumber, stamp, pictureObjects, pictureSet, toUser, type PictureSet, type Role, type UserRow } from "./rows.ts";
import { transaction } from "./connect.ts";
import type { Revocation } from "./revocations.ts";

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
 * `keepSession` is the session that survives a password change (the one that made it), if any.
 * `actingAdmin`: the change uses this user's admin rights, which must still hold when it lands.
 */
export type Expectation = { tokenVersion?: number; passwordHash?: string; keepSession?: string; actingAdmin?: number };

export type NewUser = {
  name: string;
  email: string;
  passwordHash: string;
  now: number;
  role?: Role;
  emailVerified?: boolean;
  /** For imported accounts: when they were created in the app they come from. */
  createdAt?: number;
};

export class UserStore {
  constructor(
    readonly sql: SQL,
    readonly dialect: Dialect,
    /**
     * Told of every change to a user row once its transaction is over, before the caller answers:
     * the session cache drops the row, so this instance never serves it stale (src/auth/session-cache.ts).
     */
    protected readonly announce: (revocation: Revocation) => void = () => {},
  ) {}

  async createUser(user: NewUser): Promise<number> {
    try {
      const [row] = await this.sql`
        INSERT INTO users (name, email, password_hash, role, email_verified, created_at, updated_at)
        VALUES (${user.name}, ${user.email}, ${user.passwordHash}, ${user.role ?? "user"}, ${user.emailVerified ?? false},
                ${stamp(user.createdAt ?? user.now)}, ${stamp(user.now)})
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
   * ends sessions (all of them, or all but `keepSession`) in the same transaction; a new password
   * voids any reset link in flight, and a new email every mailed link. Undefined when stale or gone.
   * Throws LastAdminError or EmailTakenError.
   */
  async updateAccount(id: number, changes: AccountChanges, expect: Expectation, now: number): Promise<UserRow | undefined> {
    const at = stamp(now);
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
        const keep = changes.disabled === true ? undefined : expect.keepSession;
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
    } finally {
      // Also after a failure: the commit may have happened and only its answer been lost.
      this.announce({ user: id });
    }
  }

  /** Replaces a hash only if it is still the one we verified, so a concurrent password change wins. */
  async upgradePasswordHash(id: number, oldHash: string, newHash: string): Promise<void> {
    await this.sql`UPDATE users SET password_hash = ${newHash} WHERE id = ${id} AND password_hash = ${oldHash}`.finally(() =>
      this.announce({ user: id }),
    );
  }

  /** Reserves the next picture version for a user, with the current picture; undefined if the account is gone. */
  async nextImageVersion(id: number): Promise<{ next: number; current: number | null; currentSet: PictureSet | null } | undefined> {
    const [row] = await this.sql`
      UPDATE users SET image_counter = image_counter + 1 WHERE id = ${id} RETURNING image_counter, image_version, image_set`;
    return row ? { next: Number(row.image_counter), current: nullableNumber(row.image_version), currentSet: pictureSet(row) } : undefined;
  }

  /** Points the row at a picture (a set, or with null at none, or at a legacy single JPEG); false if the account is gone. */
  async setImageVersion(id: number, version: number | null, now: number, set: PictureSet | null = null): Promise<boolean> {
    const json = version === null || set === null ? null : JSON.stringify(set);
    const rows = await this.sql`
      UPDATE users SET image_version = ${version}, image_set = ${json}, updated_at = ${stamp(now)} WHERE id = ${id} RETURNING id`.finally(() =>
      this.announce({ user: id }),
    );
    return rows.length === 1;
  }

  /**
   * The backfill's commit: gives a legacy picture its set, only if the row still points at that same
   * legacy picture (an upload or removal meanwhile wins). updated_at stays: the profile did not change.
   */
  async attachPictureSet(id: number, version: number, set: PictureSet): Promise<boolean> {
    const rows = await this.sql`
      UPDATE users SET image_set = ${JSON.stringify(set)} WHERE id = ${id} AND image_version = ${version} RETURNING id`.finally(() =>
      this.announce({ user: id }),
    );
    return rows.length === 1;
  }

  /**
   * One page of users after `afterId` (by id), with those whose picture is a legacy single JPEG: the
   * backfill's work, resumable by id. `last` is the page's last id (undefined: no rows left).
   */
  async legacyPictures(afterId: number, limit: number): Promise<{ pictures: Array<{ id: number; version: number }>; last: number | undefined }> {
    const rows: Array<Record<string, unknown>> = await this.sql`
      SELECT id, image_version, image_set FROM users WHERE id > ${afterId} AND image_version IS NOT NULL ORDER BY id LIMIT ${limit}`;
    const pictures = rows.filter((row) => pictureSet(row) === null).map((row) => ({ id: Number(row.id), version: Number(row.image_version) }));
    return { pictures, last: rows.length === 0 ? undefined : Number(rows.at(-1)!.id) };
  }

  /**
   * How many pictures are single JPEGs: no set, or a set made for another version (the JSON we write
   * starts with it, see PictureSet), as an older instance's upload during a rolling deploy leaves.
   */
  async legacyPictureCount(): Promise<number> {
    const [row] = await this.sql`
      SELECT count(*) AS n FROM users WHERE image_version IS NOT NULL
        AND (image_set IS NULL OR image_set NOT LIKE ('{"version":' || image_version || ',%'))`;
    return Number(row.n);
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
    }).finally(() => this.announce({ user: id }));
  }

  /**
   * The current legacy picture version of those of `ids` whose picture is one (no set), for
   * reconciling storage: once a row points at a set, its old single JPEG is garbage.
   */
  async imageVersions(ids: number[]): Promise<Map<number, number>> {
    if (ids.length === 0) return new Map();
    const rows: Array<Record<string, unknown>> = await this.sql`
      SELECT id, image_version, image_set FROM users WHERE image_version IS NOT NULL AND id IN ${this.sql(ids)}`;
    return new Map(rows.filter((row) => pictureSet(row) === null).map((row) => [Number(row.id), Number(row.image_version)]));
  }

  /** The object names the rows of `ids` point at (users with a picture set only). */
  async imageObjects(ids: number[]): Promise<Map<number, Set<string>>> {
    if (ids.length === 0) return new Map();
    const rows: Array<Record<string, unknown>> = await this.sql`
      SELECT id, image_version, image_set FROM users WHERE image_set IS NOT NULL AND id IN ${this.sql(ids)}`;
    const sets = rows.map((row) => [Number(row.id), pictureSet(row)] as const).filter(([, set]) => set !== null);
    return new Map(sets.map(([id, set]) => [id, new Set(pictureObjects(set!))]));
  }
}
