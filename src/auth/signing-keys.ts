// A key ring for access tokens (RFC 8725): every token names its key (kid), issuer and audience,
// new tokens use the current key and older keys verify until their tokens expire, so keys rotate without logouts.
import { b64url, checkClaims, type Clock, encoder, isNumericDate, type JwtClaims, JwtError, parseJws, signJws, verifyJws } from "./jwt.ts";

export type RingAlg = "HS256" | "EdDSA";

/** A public key as published at /.well-known/jwks.json. */
export type PublicJwk = { kty: "OKP"; crv: "Ed25519"; x: string; kid: string; alg: "EdDSA"; use: "sig" };

/** One key of a ring; only the current (first) key needs signKey. HMAC keys never get a publicJwk. */
export type RingKey = { kid: string; alg: RingAlg; signKey?: CryptoKey; verifyKey: CryptoKey; publicJwk?: PublicJwk };

export type KeyRingOptions = { issuer: string; audience: string; now: Clock; leewaySeconds?: number };

const SUBTLE_ALG = { HS256: "HMAC", EdDSA: "Ed25519" } as const;

export class KeyRing {
  readonly alg: RingAlg;
  readonly currentKid: string;
  readonly #current: RingKey & { signKey: CryptoKey };
  // A Map, not an object: a kid such as "__proto__" or "toString" must find nothing.
  readonly #byKid = new Map<string, RingKey>();
  readonly #options: KeyRingOptions;

  constructor(keys: readonly RingKey[], options: KeyRingOptions) {
    const [current] = keys;
    if (!current) throw new TypeError("a key ring needs at least one key");
    if (!current.signKey) throw new TypeError("the current (first) key of a ring must be able to sign");
    if (!options.issuer || !options.audience) throw new TypeError("a key ring needs an issuer and an audience");
    for (const key of keys) {
      // One algorithm per ring: the allowlist is exactly that one, so no key can be used with another alg.
      if (key.alg !== current.alg) throw new TypeError("all keys of a ring must use the same algorithm");
      if (this.#byKid.has(key.kid)) throw new TypeError(`two keys of the ring share the kid ${key.kid}`);
      this.#byKid.set(key.kid, key);
    }
    this.alg = current.alg;
    this.currentKid = current.kid;
    this.#current = current as RingKey & { signKey: CryptoKey };
    this.#options = options;
  }

  /** Signs with the current key; the ring adds iss and aud, the caller gives exp (and anything else). */
  async sign(claims: JwtClaims): Promise<string> {
    if (!isNumericDate(claims.exp)) throw new TypeError("a token needs a numeric exp");
    if ("iss" in claims || "aud" in claims) throw new TypeError("iss and aud are set by the key ring");
    const header = { alg: this.alg, typ: "JWT", kid: this.currentKid };
    const payload = { ...claims, iss: this.#options.issuer, aud: this.#options.audience };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
    return `${input}.${b64url(await signJws(SUBTLE_ALG[this.alg], this.#current.signKey, encoder.encode(input)))}`;
  }

  /**
   * Fixed order, as panva/jose does it: shape, header, algorithm allowlist, kid lookup, signature,
   * and only then claims (exp, nbf, iss, aud). Every failure is a JwtError whose message quotes nothing.
   */
  async verify(token: string): Promise<JwtClaims> {
    const { header, payloadSegment, signature, signed } = parseJws(token, this.alg);
    const key = typeof header.kid === "string" ? this.#byKid.get(header.kid) : undefined;
    if (!key) throw new JwtError("ERR_JWT_HEADER_INVALID", "the token's key id is missing or not known");
    if (!(await verifyJws(SUBTLE_ALG[key.alg], key.verifyKey, signature, signed))) throw new JwtError("ERR_JWT_SIGNATURE_INVALID", "the token's signature is invalid");

    const claims = checkClaims(payloadSegment, this.#options);
    if (claims.iss !== this.#options.issuer) throw new JwtError("ERR_JWT_CLAIM_INVALID", "the iss claim is not ours");
    const aud = claims.aud;
    const audiences = typeof aud === "string" ? [aud] : Array.isArray(aud) ? aud : [];
    if (!audiences.includes(this.#options.audience)) {
      throw new JwtError("ERR_JWT_CLAIM_INVALID", "the aud claim does not name this service");
    }
    return claims;
  }

  /** The JWKS document for /.well-known/jwks.json: public Ed25519 keys only, never an HMAC secret. */
  jwks(): { keys: PublicJwk[] } {
    const keys: PublicJwk[] = [];
    for (const key of this.#byKid.values()) if (key.publicJwk) keys.push({ ...key.publicJwk });
    return { keys };
  }
}
