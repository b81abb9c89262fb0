// Access tokens: HS256 JWTs carrying the user id, token version and session; a verified token is
// remembered by its text so the hot path skips the HMAC (expiry is still checked on every use).
import { randomUUIDv7 } from "bun";
import { importHs256Key, signHs256, verifyHs256, JwtError, type Clock } from "./jwt.ts";

/** `authTime`: when the session's login checked the password (epoch seconds, OIDC's auth_time). */
export type AccessClaims = { userId: number; tokenVersion: number; sessionId: string; authTime: number; exp: number };

const CACHE_LIMIT = 10_000;

export class AccessTokens {
  private readonly verified = new Map<string, AccessClaims>();

  private constructor(
    private readonly key: CryptoKey,
    private readonly ttlSeconds: number,
    private readonly clock: Clock,
  ) {}

  static async create(secret: string, ttlSeconds: number, clock: Clock): Promise<AccessTokens> {
    return new AccessTokens(await importHs256Key(secret), ttlSeconds, clock);
  }

  async issue(
    user: { id: number; tokenVersion: number },
    session: { sessionId: string; authTime: number },
  ): Promise<{ token: string; expiresIn: number }> {
    const iat = Math.floor(this.clock() / 1000);
    const token = await signHs256(
      {
        sub: String(user.id),
        user_id: user.id,
        ver: user.tokenVersion,
        // Wire names (OIDC's): `sid` is the session id, `auth_time` its login time; verify maps them back.
        sid: session.sessionId,
        auth_time: session.authTime,
        jti: randomUUIDv7(),
        iat,
        exp: iat + this.ttlSeconds,
      },
      this.key,
    );
    return { token, expiresIn: this.ttlSeconds };
  }

  /** Throws JwtError for anything but a well-formed, correctly signed, unexpired token of ours. */
  async verify(token: string): Promise<AccessClaims> {
    const cached = this.verified.get(token);
    if (cached) {
      if (cached.exp > Math.floor(this.clock() / 1000)) return cached;
      this.verified.delete(token);
      throw new JwtError("ERR_JWT_EXPIRED", "the token has expired");
    }
    const claims = await verifyHs256(token, this.key, { now: this.clock });
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
}
