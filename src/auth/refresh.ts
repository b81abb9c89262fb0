// Refresh tokens are opaque `id.secret` strings (the Lucia design): only a SHA-256 of the secret is
// stored and compared in constant time. Each use rotates the token; reusing a spent one means it
// was stolen (or replayed), so the whole family — that login's session — is revoked.
import type { Store } from "../db/index.ts";
import type { Clock } from "./jwt.ts";
import { mintOpaque, newId, parseOpaque, secretMatches } from "./opaque.ts";

/**
 * `tokenVersion` is the user's current one: rotation refuses a family from before a password change.
 * `authenticatedAt` is when the login that began the family checked the password (epoch seconds).
 */
export type RefreshResult = { userId: number; tokenVersion: number; familyId: string; token: string; authenticatedAt: number };

const seconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);

export class RefreshTokens {
  constructor(
    private readonly store: Store,
    private readonly ttlSeconds: number,
    private readonly clock: Clock,
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

  /** Spends `token` and returns its successor, or undefined if it must not be honoured. */
  async rotate(token: string): Promise<RefreshResult | undefined> {
    const row = await this.find(token);
    if (!row) return undefined;
    const now = new Date(this.clock());
    if (row.usedAt !== null) {
      await this.store.revokeFamily(row.familyId);
      return undefined;
    }
    if (new Date(row.expiresAt) <= now) return undefined;
    // A family from before login times were kept counts as an old login.
    const authenticatedAt = row.authenticatedAt ?? new Date(0).toISOString();
    const next = this.mint({ id: row.userId, tokenVersion: row.userVersion }, row.familyId, authenticatedAt);
    if (!(await this.store.rotateRefreshToken(row.id, next.row, now))) {
      // Spent between our read and our write (a replay the database caught), or a family from
      // before a password change: either way the family is over.
      await this.store.revokeFamily(row.familyId);
      return undefined;
    }
    return {
      userId: row.userId,
      tokenVersion: row.userVersion,
      familyId: row.familyId,
      token: next.token,
      authenticatedAt: seconds(authenticatedAt),
    };
  }

  /** Logout: ends the session the token belongs to. Unknown tokens are ignored, not reported. */
  async revoke(token: string): Promise<void> {
    const row = await this.find(token);
    if (row) await this.store.revokeFamily(row.familyId);
  }
}
