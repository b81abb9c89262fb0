// Refresh tokens are opaque `id.secret` strings (the Lucia design): only a SHA-256 of the secret is
// stored and compared in constant time. Each use rotates the token; reusing a spent one means it
// was stolen (or replayed), so the whole family — that login's session — is revoked.
import { timingSafeEqual } from "node:crypto";
import type { Store } from "../db/index.ts";
import type { Clock } from "./jwt.ts";

/** `tokenVersion` is the user's current one: rotation refuses a family from before a password change. */
export type RefreshResult = { userId: number; tokenVersion: number; familyId: string; token: string };

const randomPart = (bytes: number): string => Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("base64url");
const sha256 = (text: string): Buffer => Buffer.from(new Bun.CryptoHasher("sha256").update(text).digest());
const TOKEN_SHAPE = /^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

export class RefreshTokens {
  constructor(
    private readonly store: Store,
    private readonly ttlSeconds: number,
    private readonly clock: Clock,
  ) {}

  private mint(user: { id: number; tokenVersion: number }, familyId: string) {
    const id = randomPart(16);
    const secret = randomPart(32);
    const expiresAt = new Date(this.clock() + this.ttlSeconds * 1000).toISOString();
    const row = { id, familyId, userId: user.id, userVersion: user.tokenVersion, secretHash: sha256(secret).toString("hex"), expiresAt };
    return { token: `${id}.${secret}`, row };
  }

  /**
   * Starts a new family: one per successful login. Undefined if the user's password changed (or the
   * account went) since `user` was read, so a login racing a password change cannot outlive it.
   */
  async issue(user: { id: number; tokenVersion: number }): Promise<RefreshResult | undefined> {
    const familyId = randomPart(16);
    const { token, row } = this.mint(user, familyId);
    if (!(await this.store.insertRefreshToken(row, new Date(this.clock())))) return undefined;
    return { userId: user.id, tokenVersion: user.tokenVersion, familyId, token };
  }

  /** Looks a presented token up; undefined for anything not ours, with no hint why. */
  private async find(token: string) {
    const shape = TOKEN_SHAPE.exec(token);
    if (!shape) return undefined;
    const row = await this.store.refreshToken(shape[1]!);
    if (!row || !timingSafeEqual(sha256(shape[2]!), Buffer.from(row.secretHash, "hex"))) return undefined;
    return row;
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
    const next = this.mint({ id: row.userId, tokenVersion: row.userVersion }, row.familyId);
    if (!(await this.store.rotateRefreshToken(row.id, next.row, now))) {
      // Spent between our read and our write (a replay the database caught), or a family from
      // before a password change: either way the family is over.
      await this.store.revokeFamily(row.familyId);
      return undefined;
    }
    return { userId: row.userId, tokenVersion: row.userVersion, familyId: row.familyId, token: next.token };
  }

  /** Logout: ends the session the token belongs to. Unknown tokens are ignored, not reported. */
  async revoke(token: string): Promise<void> {
    const row = await this.find(token);
    if (row) await this.store.revokeFamily(row.familyId);
  }
}
