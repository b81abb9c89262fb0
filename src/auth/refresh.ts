// Refresh tokens are opaque `id.secret` strings (the Lucia design): only a SHA-256 of the secret is
// stored and compared in constant time. Each use rotates the token; a spent one presented again
// after the reuse window means it was stolen, so the whole family — that login's session — ends.
import type { RefreshTokenRow, SpendDecision, Store } from "../db/index.ts";
import type { Clock } from "./jwt.ts";
import { mintOpaque, newId, parseOpaque, secretMatches } from "./opaque.ts";

/**
 * `tokenVersion` is the user's current one: rotation refuses a family from before a password change.
 * `authenticatedAt` is when the login that began the family checked the password (epoch seconds).
 */
export type RefreshResult = { userId: number; tokenVersion: number; familyId: string; token: string; authenticatedAt: number };

/**
 * A refresh: the successor (`reused` when the presented token was already spent, within the window),
 * or a refusal (`revoked` when it was spent before the window and its session has been ended).
 */
export type Rotation =
  | { ok: true; session: RefreshResult; reused: boolean }
  | { ok: false; revoked?: { userId: number; familyId: string } };

const seconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);

export class RefreshTokens {
  constructor(
    private readonly store: Store,
    private readonly ttlSeconds: number,
    private readonly clock: Clock,
    /** REFRESH_TOKEN_REUSE_SECONDS: see `decide`. */
    private readonly reuseSeconds: number,
  ) {}

  private mint(user: { id: number; tokenVersion: number }, familyId: string, authenticatedAt: string) {
    const { id, token, secretHash } = mintOpaque();
    const expiresAt = new Date(this.clock() + this.ttlSeconds * 1000).toISOString();
    return { token, row: { id, familyId, userId: user.id, userVersion: user.tokenVersion, secretHash, expiresAt, authenticatedAt } };
  }

  /**
   * Starts a new family: one per successful login. Undefined if the user's password changed (or the
   * account went) since `user` was read, so a login racing a password change cannot outlive it.
   */
  async issue(user: { id: number; tokenVersion: number }): Promise<RefreshResult | undefined> {
    const familyId = newId();
    const now = new Date(this.clock()).toISOString();
    const { token, row } = this.mint(user, familyId, now);
    if (!(await this.store.insertRefreshToken(row, new Date(this.clock())))) return undefined;
    return { userId: user.id, tokenVersion: user.tokenVersion, familyId, token, authenticatedAt: seconds(now) };
  }

  /** Looks a presented token up; undefined for anything not ours, with no hint why. */
  private async find(token: string) {
    const parts = parseOpaque(token);
    if (!parts) return undefined;
    const row = await this.store.refreshToken(parts.id);
    return row && secretMatches(parts.secret, row.secretHash) ? row : undefined;
  }

  /**
   * The reuse window (Supabase Auth's REFRESH_TOKEN_REUSE_INTERVAL). Two tabs refreshing at once, or
   * a client retrying after it lost the answer, present a spent token within seconds of its first
   * use: that continues the session with a further successor in the same family, as the first use
   * did. Later, the token can only be a copy someone kept, so the session ends for everyone
   * holding it. The window counts from the first use, so reuse cannot stretch it; a reuse revives
   * nothing that ended (logout, password change, expiry), and every successor dies with its family.
   */
  private decide(row: RefreshTokenRow, mintedVersion: number, now: number): SpendDecision {
    const live = Date.parse(row.expiresAt) > now;
    // Its family was carried over a password change since we read it: the successor we minted is stale.
    if (row.userVersion !== mintedVersion) return "refuse";
    if (row.usedAt === null) return live ? "rotate" : "refuse";
    const sinceUse = now - Date.parse(row.usedAt);
    if (this.reuseSeconds > 0 && sinceUse <= this.reuseSeconds * 1000) return live ? "reuse" : "refuse";
    return "revoke";
  }

  /** Spends `token` and returns its successor, or a refusal if it must not be honoured. */
  async rotate(token: string): Promise<Rotation> {
    const row = await this.find(token);
    if (!row) return { ok: false };
    const now = this.clock();
    // A family from before login times were kept counts as an old login.
    const authenticatedAt = row.authenticatedAt ?? new Date(0).toISOString();
    const next = this.mint({ id: row.userId, tokenVersion: row.userVersion }, row.familyId, authenticatedAt);
    const outcome = await this.store.spendRefreshToken(row.id, next.row, new Date(now), (locked) => this.decide(locked, row.userVersion, now));
    if (outcome === "revoke") {
      await this.store.revokeFamily(row.familyId);
      return { ok: false, revoked: { userId: row.userId, familyId: row.familyId } };
    }
    if (outcome !== "rotate" && outcome !== "reuse") return { ok: false };
    const session = {
      userId: row.userId,
      tokenVersion: row.userVersion,
      familyId: row.familyId,
      token: next.token,
      authenticatedAt: seconds(authenticatedAt),
    };
    return { ok: true, session, reused: outcome === "reuse" };
  }

  /** Logout: ends the session the token belongs to. Unknown tokens are ignored, not reported. */
  async revoke(token: string): Promise<void> {
    const row = await this.find(token);
    if (row) await this.store.revokeFamily(row.familyId);
  }

  /** Logout by access token: ends the session it names (its `sid`, the family id). */
  async endSession(familyId: string): Promise<void> {
    await this.store.revokeFamily(familyId);
  }
}
