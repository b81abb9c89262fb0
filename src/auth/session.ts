// Sessions, the whole design in one file: a login starts one; its refresh tokens rotate on use, and
// a spent token seen again after the reuse window means a stolen copy, so the session ends.
import { timingSafeEqual } from "node:crypto";
import type { LoginDevice, SessionRow, SessionStore, SessionSummary, SpendDecision } from "../store/index.ts";
import { coarseNetwork } from "./device.ts";
import type { Clock } from "../core.ts";

// Opaque `id.secret` tokens (the Lucia design), for refresh tokens here and for mailed links
// (src/accounts/mail-links.ts): the id finds the row, only a SHA-256 of the secret is stored, and
// the check is constant-time.
const randomPart = (bytes: number): string => Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("base64url");
export const sha256 = (text: string): Buffer => Buffer.from(new Bun.CryptoHasher("sha256").update(text).digest());
const TOKEN_SHAPE = /^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

/** 16 random bytes in base64url: a session's id, and the id half of an opaque token. */
export const newId = (): string => randomPart(16);

/** A fresh token: give `token` to the client, store `id` and `secretHash`. */
export function mintOpaque(): { id: string; token: string; secretHash: string } {
  const id = newId();
  const secret = randomPart(32);
  return { id, token: `${id}.${secret}`, secretHash: sha256(secret).toString("hex") };
}

/** The id and secret of a well-shaped token; undefined for anything else. */
export function parseOpaque(token: string): { id: string; secret: string } | undefined {
  const shape = TOKEN_SHAPE.exec(token);
  return shape ? { id: shape[1]!, secret: shape[2]! } : undefined;
}

export function secretMatches(secret: string, secretHash: string): boolean {
  const stored = Buffer.from(secretHash, "hex");
  const presented = sha256(secret);
  return stored.length === presented.length && timingSafeEqual(presented, stored);
}

/**
 * A session as login and refresh hand it out. `tokenVersion` is the user's current one: rotation
 * refuses a session from before a password change. `authTime`: when the login that began the
 * session checked the password (epoch seconds). `token` is the new refresh token.
 */
export type IssuedSession = { userId: number; tokenVersion: number; sessionId: string; token: string; authTime: number };

/**
 * A refresh: the successor (`reused` when the presented token was already spent, within the window),
 * or a refusal (`revoked` when it was spent before the window and its session has been ended).
 */
export type Rotation =
  | { ok: true; session: IssuedSession; reused: boolean }
  | { ok: false; revoked?: { userId: number; sessionId: string } };

/** Where a login came from: src/auth/device.ts's label (fixed words only) and the coarse address. */
export type Client = { device: string; ip: string | null };

const seconds = (ms: number) => Math.floor(ms / 1000);

/** A session's "last used" is kept to this: a busy session costs one write a minute, not one a request. */
export const TOUCH_INTERVAL_MS = 60_000;
/** Sessions this process remembers having touched; past it the longest-remembered is forgotten (one more write). */
const TOUCHED_MAX = 10_000;
/** How many recent (device, network) pairs an account remembers for new-device alerts. */
export const KNOWN_DEVICES = 20;

/**
 * Refresh tokens are opaque `id.secret` strings (the Lucia design): only a SHA-256 of the secret is
 * stored, compared in constant time. Access tokens (src/auth/access.ts) name the session in their
 * `sid` claim and its login time in `auth_time`.
 *
 * Where sessions end besides logout, in the store's own transactions so that no race outlives them:
 * a password change (Store.updateAccount) ends all but the session that made it (`keepSession`); a
 * password reset (LinkStore.resetPassword) and a deactivation end all of them; deleting the account
 * deletes them by cascade. Each bumps the user's token version, which refuses the older tokens.
 */
export class Sessions {
  /** Session id → when this process last wrote its last_used_at (or knows it was written). */
  private readonly touched = new Map<string, number>();

  constructor(
    private readonly rows: SessionStore,
    private readonly ttlSeconds: number,
    private readonly clock: Clock,
    /** REFRESH_TOKEN_REUSE_SECONDS: see `decide`. */
    private readonly reuseSeconds: number,
  ) {}

  /** A token of the session; every one carries the session's device and address, and is a use of it. */
  private mint(user: { id: number; tokenVersion: number }, sessionId: string, authTime: number, client: { device: string | null; ip: string | null }) {
    const { id, token, secretHash } = mintOpaque();
    const now = this.clock();
    const expiresAt = now + this.ttlSeconds * 1000;
    this.remember(sessionId, now);
    const row = { id, sessionId, userId: user.id, userVersion: user.tokenVersion, secretHash, expiresAt, authTime, device: client.device, ip: client.ip, lastUsedAt: now };
    return { token, row };
  }

  private remember(sessionId: string, at: number) {
    this.touched.delete(sessionId); // re-inserted last: the Map's order is then least recently touched first
    this.touched.set(sessionId, at);
    if (this.touched.size > TOUCHED_MAX) this.touched.delete(this.touched.keys().next().value!);
  }

  /**
   * Starts a new session: one per successful login. Undefined if the user's password changed (or the
   * account went) since `user` was read, so a login racing a password change cannot outlive it.
   */
  async issue(user: { id: number; tokenVersion: number }, client: Client): Promise<IssuedSession | undefined> {
    const sessionId = newId();
    const now = this.clock();
    const { token, row } = this.mint(user, sessionId, now, client);
    if (!(await this.rows.insert(row, now))) return undefined;
    return { userId: user.id, tokenVersion: user.tokenVersion, sessionId, token, authTime: seconds(now) };
  }

  /** Looks a presented token up; undefined for anything not ours, with no hint why. */
  private async find(token: string) {
    const parts = parseOpaque(token);
    if (!parts) return undefined;
    const row = await this.rows.find(parts.id);
    return row && secretMatches(parts.secret, row.secretHash) ? row : undefined;
  }

  /**
   * The reuse window (Supabase Auth's REFRESH_TOKEN_REUSE_INTERVAL). Two tabs refreshing at once, or
   * a client retrying after it lost the answer, present a spent token within seconds of its first
   * use: that continues the session with a further successor, as the first use did. Later, the
   * token can only be a copy someone kept, so the session ends for everyone holding it. The window
   * counts from the first use, so reuse cannot stretch it; a reuse revives nothing that ended
   * (logout, password change, expiry), and every successor dies with its session.
   */
  private decide(row: SessionRow, mintedVersion: number, now: number): SpendDecision {
    const live = row.expiresAt > now;
    // The session was carried over a password change since we read it: the successor we minted is stale.
    if (row.userVersion !== mintedVersion) return "refuse";
    if (row.usedAt === null) return live ? "rotate" : "refuse";
    const sinceUse = now - row.usedAt;
    if (this.reuseSeconds > 0 && sinceUse <= this.reuseSeconds * 1000) return live ? "reuse" : "refuse";
    return "revoke";
  }

  /** Spends `token` and returns its successor, or a refusal if it must not be honoured. */
  async rotate(token: string): Promise<Rotation> {
    const row = await this.find(token);
    if (!row) return { ok: false };
    const now = this.clock();
    // A session from before login times were kept counts as an old login.
    const authTime = row.authTime ?? 0;
    const next = this.mint({ id: row.userId, tokenVersion: row.userVersion }, row.sessionId, authTime, row);
    const outcome = await this.rows.spend(row.id, next.row, now, (locked) => this.decide(locked, row.userVersion, now));
    if (outcome === "revoke") {
      await this.rows.revoke(row.sessionId);
      return { ok: false, revoked: { userId: row.userId, sessionId: row.sessionId } };
    }
    if (outcome !== "rotate" && outcome !== "reuse") return { ok: false };
    const session = { userId: row.userId, tokenVersion: row.userVersion, sessionId: row.sessionId, token: next.token, authTime: seconds(authTime) };
    return { ok: true, session, reused: outcome === "reuse" };
  }

  /** Logout by refresh token: ends the session it belongs to. Unknown tokens are ignored, not reported. */
  async revoke(token: string): Promise<void> {
    const row = await this.find(token);
    if (row) await this.rows.revoke(row.sessionId);
  }

  /** Logout by access token: ends the session it names. */
  async end(sessionId: string): Promise<void> {
    await this.rows.revoke(sessionId);
  }

  /**
   * A request on the session: its "last used" moves on, but at most once a minute, and this process
   * remembers when it last wrote, so most requests cost no query. The write happens in the background
   * and a failed one is only tried again on a later request: a last-used time is not worth a failure.
   */
  touch(sessionId: string): void {
    const now = this.clock();
    const last = this.touched.get(sessionId);
    if (last !== undefined && now - last < TOUCH_INTERVAL_MS) return;
    this.remember(sessionId, now);
    Promise.resolve()
      .then(() => this.rows.touch(sessionId, now, now - TOUCH_INTERVAL_MS))
      .catch(() => this.touched.delete(sessionId));
  }

  /** The user's live sessions, most recently used first. */
  list(userId: number): Promise<SessionSummary[]> {
    return this.rows.list(userId, this.clock());
  }

  /**
   * Ends one of `userId`'s sessions: its refresh tokens go, and with them its access tokens, whose
   * `sid` then names no session (src/http/auth.ts). False if they have no session by that id.
   */
  endOwned(userId: number, sessionId: string): Promise<boolean> {
    return this.rows.revokeOwned(userId, sessionId);
  }

  /** Ends all of `userId`'s sessions, or all but `except`. */
  endAll(userId: number, except?: string): Promise<void> {
    return this.rows.revokeAllOf(userId, except);
  }

  /** The user of a refresh token and its session, without spending it; undefined for anything not ours. */
  async owner(token: string): Promise<{ userId: number; sessionId: string } | undefined> {
    const row = await this.find(token);
    return row && { userId: row.userId, sessionId: row.sessionId };
  }

  /** Records a successful login's device and network; see SessionStore.rememberLogin. */
  rememberLogin(userId: number, client: Client): Promise<LoginDevice> {
    return this.rows.rememberLogin(userId, client.device, coarseNetwork(client.ip), this.clock(), KNOWN_DEVICES);
  }

  /** Housekeeping: drops refresh tokens past their expiry. */
  deleteExpired(): Promise<number> {
    return this.rows.deleteExpired(this.clock());
  }
}
