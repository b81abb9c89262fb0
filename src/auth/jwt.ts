// Compact JWS on Web Crypto: the parsing and claim checks every token here goes through (HS256 below and
// the key ring in signing-keys.ts), in one fixed order: shape, header, algorithm allowlist, signature, claims.
import { timingSafeEqual } from "node:crypto";

export type JwtErrorCode =
  | "ERR_JWT_MALFORMED"
  | "ERR_JWT_HEADER_INVALID"
  | "ERR_JWT_ALG_NOT_ALLOWED"
  | "ERR_JWT_SIGNATURE_INVALID"
  | "ERR_JWT_CLAIM_INVALID"
  | "ERR_JWT_EXPIRED"
  | "ERR_JWT_NOT_YET_VALID";

/** Untrusted input failed: the message never contains the token or any part of it. */
export class JwtError extends Error {
  constructor(
    readonly code: JwtErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "JwtError";
  }
}

export type JwtClaims = Record<string, unknown> & { exp: number; iat?: number; nbf?: number };

import type { Clock } from "../core.ts";
export type { Clock };

const MAX_TOKEN_LENGTH = 8192;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
export const encoder = new TextEncoder();

// The secret behind each HMAC key imported here. Web Crypto runs every HMAC on Bun's thread pool, and
// waking that pool preempts the event loop, which on a shared core can let a hashing thread hold the
// core until the next scheduler tick (4 ms; bench/RESULTS.md). The same HMAC inline takes ~2 µs.
const hmacSecrets = new WeakMap<CryptoKey, Uint8Array>();

export async function importHs256Key(secret: string | Uint8Array<ArrayBuffer>): Promise<CryptoKey> {
  const raw = typeof secret === "string" ? encoder.encode(secret) : secret;
  if (raw.byteLength < 32) throw new TypeError("an HS256 secret must be at least 32 bytes");
  const key = await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
  hmacSecrets.set(key, raw.slice());
  return key;
}

export const b64url = (bytes: Uint8Array | string): string => Buffer.from(bytes).toString("base64url");

/** HMAC-SHA256 of `data` computed inline, for an HMAC key imported here; undefined for any other key. */
function inlineHmac(algorithm: "HMAC" | "Ed25519", key: CryptoKey, data: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> | undefined {
  const secret = algorithm === "HMAC" ? hmacSecrets.get(key) : undefined;
  return secret && new Uint8Array(new Bun.CryptoHasher("sha256", secret).update(data).digest());
}

/** A JWS signature over `input`: HMAC-SHA256 inline for our HMAC keys, Web Crypto for anything else. */
export async function signJws(algorithm: "HMAC" | "Ed25519", key: CryptoKey, input: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  return inlineHmac(algorithm, key, input) ?? new Uint8Array(await crypto.subtle.sign(algorithm, key, input));
}

/** Whether `signature` signs `signed`, compared in constant time; false (never a throw) on any failure. */
export async function verifyJws(algorithm: "HMAC" | "Ed25519", key: CryptoKey, signature: Uint8Array<ArrayBuffer>, signed: Uint8Array<ArrayBuffer>): Promise<boolean> {
  try {
    const expected = inlineHmac(algorithm, key, signed);
    if (!expected) return await crypto.subtle.verify(algorithm, key, signature, signed);
    return signature.byteLength === expected.byteLength && timingSafeEqual(signature, expected);
  } catch {
    return false; // fail closed: a throwing check is a refusal, never a pass
  }
}

export async function signHs256(claims: JwtClaims, key: CryptoKey): Promise<string> {
  const input = `${b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }))}.${b64url(JSON.stringify(claims))}`;
  return `${input}.${b64url(await signJws("HMAC", key, encoder.encode(input)))}`;
}

function decodeJsonObject(segment: string, code: JwtErrorCode, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(segment, "base64url").toString("utf8"));
  } catch {
    throw new JwtError(code, `the ${what} is not valid JSON`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new JwtError(code, `the ${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

export const isNumericDate = (value: unknown): value is number => typeof value === "number" && Number.isFinite(value);

/** A compact JWS taken apart, its header read and checked against the one allowed algorithm. */
export type ParsedJws = { header: Record<string, unknown>; payloadSegment: string; signature: Uint8Array<ArrayBuffer>; signed: Uint8Array<ArrayBuffer> };

/**
 * The first half of every verification here (HS256 below, the key ring in signing-keys.ts): shape,
 * header, algorithm allowlist, no crit, typ JWT, canonical signature bytes. The caller then checks
 * the signature and only after that reads the payload with `checkClaims`.
 */
export function parseJws(token: string, alg: string): ParsedJws {
  if (typeof token !== "string" || token.length > MAX_TOKEN_LENGTH) {
    throw new JwtError("ERR_JWT_MALFORMED", "the token is not a compact JWS");
  }
  const segments = token.split(".");
  if (segments.length !== 3 || !segments.every((s) => BASE64URL.test(s))) {
    throw new JwtError("ERR_JWT_MALFORMED", "the token is not a compact JWS");
  }
  const [headerSegment, payloadSegment, signatureSegment] = segments as [string, string, string];

  const header = decodeJsonObject(headerSegment, "ERR_JWT_HEADER_INVALID", "header");
  if (header.alg !== alg) throw new JwtError("ERR_JWT_ALG_NOT_ALLOWED", "the token's algorithm is not allowed");
  if ("crit" in header) throw new JwtError("ERR_JWT_HEADER_INVALID", "critical header parameters are not supported");
  if (header.typ !== undefined && header.typ !== "JWT") {
    throw new JwtError("ERR_JWT_HEADER_INVALID", "the token type is not JWT");
  }

  const signature = new Uint8Array(Buffer.from(signatureSegment, "base64url"));
  // The decoder ignores a final character's unused bits; only the canonical spelling is the token.
  if (b64url(signature) !== signatureSegment) {
    throw new JwtError("ERR_JWT_SIGNATURE_INVALID", "the token's signature is invalid");
  }
  return { header, payloadSegment, signature, signed: encoder.encode(`${headerSegment}.${payloadSegment}`) };
}

/** The second half, only after the signature checked out: the payload and its time claims. */
export function checkClaims(payloadSegment: string, options: { now: Clock; leewaySeconds?: number }): JwtClaims {
  const claims = decodeJsonObject(payloadSegment, "ERR_JWT_CLAIM_INVALID", "payload");
  const now = Math.floor(options.now() / 1000);
  const leeway = options.leewaySeconds ?? 0;
  if (!isNumericDate(claims.exp)) throw new JwtError("ERR_JWT_CLAIM_INVALID", "the exp claim is missing");
  if (claims.iat !== undefined && !isNumericDate(claims.iat)) {
    throw new JwtError("ERR_JWT_CLAIM_INVALID", "the iat claim is not a number");
  }
  if (claims.nbf !== undefined) {
    if (!isNumericDate(claims.nbf)) throw new JwtError("ERR_JWT_CLAIM_INVALID", "the nbf claim is not a number");
    if (claims.nbf > now + leeway) throw new JwtError("ERR_JWT_NOT_YET_VALID", "the token is not valid yet");
  }
  if (claims.exp <= now - leeway) throw new JwtError("ERR_JWT_EXPIRED", "the token has expired");
  return claims as JwtClaims;
}

export async function verifyHs256(
  token: string,
  key: CryptoKey,
  options: { now: Clock; leewaySeconds?: number },
): Promise<JwtClaims> {
  const { payloadSegment, signature, signed } = parseJws(token, "HS256");
  if (!(await verifyJws("HMAC", key, signature, signed))) {
    throw new JwtError("ERR_JWT_SIGNATURE_INVALID", "the token's signature is invalid");
  }
  return checkClaims(payloadSegment, options);
}
