// Compact JWS on Web Crypto: the parsing and claim checks every token here goes through (HS256 below and
// the key ring in signing-keys.ts), in one fixed order: shape, header, algorithm allowlist, signature, claims.

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

export async function importHs256Key(secret: string | Uint8Array<ArrayBuffer>): Promise<CryptoKey> {
  const raw = typeof secret === "string" ? encoder.encode(secret) : secret;
  if (raw.byteLength < 32) throw new TypeError("an HS256 secret must be at least 32 bytes");
  return crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
}

export const b64url = (bytes: Uint8Array | string): string => Buffer.from(bytes).toString("base64url");

export async function signHs256(claims: JwtClaims, key: CryptoKey): Promise<string> {
  const input = `${b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }))}.${b64url(JSON.stringify(claims))}`;
  const signature = await crypto.subtle.sign("HMAC", key, encoder.encode(input));
  return `${input}.${b64url(new Uint8Array(signature))}`;
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
  // subtle.verify compares in constant time and fails closed on a wrong-length signature.
  if (!(await crypto.subtle.verify("HMAC", key, signature, signed))) {
    throw new JwtError("ERR_JWT_SIGNATURE_INVALID", "the token's signature is invalid");
  }
  return checkClaims(payloadSegment, options);
}
