// Opaque `id.secret` tokens (the Lucia design), shared by refresh tokens and mailed links: the id
// finds the row, only a SHA-256 of the secret is stored, and the check is constant-time.
import { timingSafeEqual } from "node:crypto";

const randomPart = (bytes: number): string => Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("base64url");
export const sha256 = (text: string): Buffer => Buffer.from(new Bun.CryptoHasher("sha256").update(text).digest());
const TOKEN_SHAPE = /^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

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
