// Access tokens: JWTs from the signing key ring (kid, iss, aud; HS256 or EdDSA) carrying the user id, token
// version and session; a verified token is remembered by its text so the hot path skips the signature check.
import { randomUUIDv7 } from "bun";
import { importHs256Key, JwtError, verifyHs256, type Clock, type JwtClaims } from "./jwt.ts";
import type { KeyRing, PublicJwk } from "./signing-keys.ts";

/** `authTime`: when the session's login checked the password (epoch seconds, OIDC's auth_time). */
export type AccessClaims = { userId: number; tokenVersion: number; sessionId: string; authTime: number; exp: number };

const CACHE_LIMIT = 10_000;

/**
 * Tokens issued before the key ring (HS256, no kid, iss or aud) are still accepted, with the configured
 * secrets, for one access-token lifetime after start and never after: every such token was issued before
 * this process started, so all of them have expired by then, and a deploy signs nobody out.
 */
type Legacy = { keys: CryptoKey[]; untilMs: number };

export class AccessTokens {
  private readonly verified = new Map<string, AccessClaims>();

  private constructor(
    private readonly ring: KeyRing,
    private readonly ttlSeconds: number,
    private readonly clock: Clock,
    private readonly legacy: Legacy | undefined,
  ) {}

  /** `legacySecrets`: the HS256 secrets kid-less tokens may have been signed with (JWT_SECRET's list). */
  static async create(ring: KeyRing, ttlSeconds: number, clock: Clock, legacySecrets: readonly string[] = []): Promise<AccessTokens> {
    const keys = await Promise.all(legacySecrets.map((secret) => importHs256Key(secret)));
    const legacy = ring.alg === "HS256" && keys.length > 0 ? { keys, untilMs: clock() + ttlSeconds * 1000 } : undefined;
    return new AccessTokens(ring, ttlSeconds, clock, legacy);
  }

  /** The kid new tokens carry. */
  get currentKid(): string {
    return this.ring.currentKid;
  }

  /** The public keys for /.well-known/jwks.json: Ed25519 ones only, so `{ keys: [] }` with HS256. */
  jwks(): { keys: PublicJwk[] } {
    return this.ring.jwks();
  }

  async issue(
    user: { id: number; tokenVersion: number },
    session: { sessionId: string; authTime: number },
  ): Promise<{ token: string; expiresIn: number }> {
    const iat = Math.floor(this.clock() / 1000);
    const token = await this.ring.sign({
      sub: String(user.id),
      user_id: user.id,
      ver: user.tokenVersion,
      // Wire names (OIDC's): `sid` is the session id, `auth_time` its login time; verify maps them back.
      sid: session.sessionId,
      auth_time: session.authTime,
      jti: randomUUIDv7(),
      iat,
      exp: iat + this.ttlSeconds,
    });
    return { token, expiresIn: this.ttlSeconds };
  }

  /** Throws JwtError for anything but a well-formed, correctly signed, unexpired token of ours. */
  async verify(token: string): Promise<AccessClaims> {
    const remembered = this.remembered(token);
    if (remembered) return remembered;
    let claims: JwtClaims;
    try {
      claims = await this.ring.verify(token);
    } catch (err) {
      if (!(err instanceof JwtError) || err.code !== "ERR_JWT_HEADER_INVALID" || !this.legacy || this.clock() >= this.legacy.untilMs) throw err;
      claims = await this.verifyLegacy(token, err);
    }
    const userId = Number(claims.sub);
    if (!Number.isSafeInteger(userId) || userId <= 0 || claims.user_id !== userId) {
      throw new JwtError("ERR_JWT_CLAIM_INVALID", "the subject claim is invalid");
    }
    if (!Number.isSafeInteger(claims.ver) || typeof claims.sid !== "string" || !Number.isSafeInteger(claims.auth_time)) {
      throw new JwtError("ERR_JWT_CLAIM_INVALID", "the session claims are invalid");
    }
    const result: AccessClaims = {
      userId,
      tokenVersion: claims.ver as number,
      sessionId: claims.sid,
      authTime: claims.auth_time as number,
      exp: claims.exp,
    };
    // Map keeps insertion order, so dropping the first key evicts the oldest entry.
    if (this.verified.size >= CACHE_LIMIT) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(token, result);
    return result;
  }

  /**
   * The claims of a token verified before, without waiting: undefined for one not seen (verify it).
   * Throws ERR_JWT_EXPIRED for a remembered token past its expiry.
   */
  remembered(token: string): AccessClaims | undefined {
    const cached = this.verified.get(token);
    if (cached === undefined || cached.exp > Math.floor(this.clock() / 1000)) return cached;
    this.verified.delete(token);
    throw new JwtError("ERR_JWT_EXPIRED", "the token has expired");
  }

  /** A token in the format before key rings: no kid in its header, and none of the new claims either. */
  private async verifyLegacy(token: string, refusal: JwtError): Promise<JwtClaims> {
    let header: unknown;
    try {
      header = JSON.parse(Buffer.from(token.split(".")[0]!, "base64url").toString("utf8"));
    } catch {
      throw refusal;
    }
    if (header === null || typeof header !== "object" || "kid" in header) throw refusal;
    let last: unknown = refusal;
    for (const key of this.legacy!.keys) {
      try {
        const claims = await verifyHs256(token, key, { now: this.clock });
        if ("iss" in claims || "aud" in claims) throw refusal;
        return claims;
      } catch (err) {
        last = err;
        // Another secret of the list may have signed it; any other refusal is final.
        if (!(err instanceof JwtError) || err.code !== "ERR_JWT_SIGNATURE_INVALID") throw err;
      }
    }
    throw last;
  }
}
