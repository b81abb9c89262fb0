// Turns configured key material (HS256 secrets, Ed25519 private keys) into the keys of a signing ring.
// Kids are derived from the keys themselves, so rotating is editing one variable and no secret is revealed.
import { b64url as encode, encoder, importHs256Key } from "./jwt.ts";
import type { webcrypto } from "node:crypto";
import { KeyRing, type KeyRingOptions, type PublicJwk, type RingKey } from "./signing-keys.ts";

type JsonWebKey = webcrypto.JsonWebKey;

const b64url = (bytes: ArrayBuffer | Uint8Array) => encode(new Uint8Array(bytes));

/** `JWT_SECRET`: one or more secrets separated by commas and/or whitespace, the current one first. */
export function parseSecretList(value: string): string[] {
  const secrets = value.split(/[\s,]+/).filter((s) => s !== "");
  if (secrets.length === 0) throw new TypeError("JWT_SECRET holds no secret");
  return secrets;
}

/** The kid of an HMAC key: the first 8 bytes of SHA-256(secret), which tells nothing usable about it. */
export async function hmacKid(secret: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(secret)));
  return b64url(digest.subarray(0, 8));
}

/** HS256 ring keys from secrets, current first; each must be at least 32 bytes (importHs256Key says so). */
export async function hmacRingKeys(secrets: readonly string[]): Promise<RingKey[]> {
  const keys: RingKey[] = [];
  for (const secret of secrets) {
    const key = await importHs256Key(secret);
    keys.push({ kid: await hmacKid(secret), alg: "HS256", signKey: key, verifyKey: key });
  }
  return keys;
}

/** RFC 7638 thumbprint of an Ed25519 public key: the default kid when the configuration names none. */
export async function ed25519Thumbprint(x: string): Promise<string> {
  const canonical = JSON.stringify({ crv: "Ed25519", kty: "OKP", x });
  return b64url(await crypto.subtle.digest("SHA-256", encoder.encode(canonical)));
}

type Material = { jwk?: JsonWebKey & { kid?: unknown }; pkcs8?: Uint8Array<ArrayBuffer>; spki?: Uint8Array<ArrayBuffer> };

const PEM_BLOCK = /-----BEGIN (PRIVATE KEY|PUBLIC KEY)-----([A-Za-z0-9+/=\s]+?)-----END \1-----/g;

function readMaterial(text: string): Material[] {
  const trimmed = text.trim();
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch {
      throw new TypeError("the Ed25519 key configuration is not valid JSON");
    }
    const list = Array.isArray(parsed)
      ? parsed
      : parsed !== null && typeof parsed === "object" && Array.isArray((parsed as { keys?: unknown }).keys)
        ? (parsed as { keys: unknown[] }).keys
        : [parsed];
    return list.map((jwk) => {
      if (jwk === null || typeof jwk !== "object") throw new TypeError("an Ed25519 key is not a JWK object");
      return { jwk: jwk as JsonWebKey };
    });
  }
  const blocks: Material[] = [];
  for (const [, kind, body] of trimmed.matchAll(PEM_BLOCK)) {
    const der = new Uint8Array(Buffer.from(body!.replace(/\s+/g, ""), "base64"));
    blocks.push(kind === "PRIVATE KEY" ? { pkcs8: der } : { spki: der });
  }
  if (blocks.length === 0) throw new TypeError("the Ed25519 key configuration holds no JWK and no PEM key");
  return blocks;
}

const ED25519 = { name: "Ed25519" } as const;

async function toRingKey(material: Material, index: number): Promise<RingKey> {
  const where = `Ed25519 key #${index + 1}`;
  let secretJwk: JsonWebKey | undefined;
  let x: string | undefined;
  let kid: string | undefined;
  try {
    if (material.jwk) {
      const { kty, crv, d, x: givenX, kid: givenKid } = material.jwk;
      if (kty !== "OKP" || crv !== "Ed25519") throw new TypeError(`${where} is not an OKP Ed25519 JWK`);
      if (givenKid !== undefined && (typeof givenKid !== "string" || givenKid === "")) {
        throw new TypeError(`${where} has a kid that is not a non-empty string`);
      }
      kid = givenKid as string | undefined;
      if (typeof d === "string") {
        secretJwk = { kty, crv, d };
        x = (await crypto.subtle.exportKey("jwk", await crypto.subtle.importKey("jwk", secretJwk, ED25519, true, ["sign"]))).x;
        // Bun's importKey does not check a given x against d; a mismatch would publish a useless key.
        if (givenX !== undefined && givenX !== x) throw new TypeError(`${where}: x does not belong to d`);
      } else if (typeof givenX === "string") {
        x = givenX;
      } else {
        throw new TypeError(`${where} has neither d nor x`);
      }
    } else if (material.pkcs8) {
      const key = await crypto.subtle.importKey("pkcs8", material.pkcs8, ED25519, true, ["sign"]);
      const jwk = await crypto.subtle.exportKey("jwk", key);
      secretJwk = { kty: "OKP", crv: "Ed25519", d: jwk.d };
      x = jwk.x;
    } else {
      const key = await crypto.subtle.importKey("spki", material.spki!, ED25519, true, ["verify"]);
      x = (await crypto.subtle.exportKey("jwk", key)).x;
    }
  } catch (error) {
    if (error instanceof TypeError && error.message.startsWith(where)) throw error;
    // The cause may quote key bytes; only the position of the key is reported.
    throw new TypeError(`${where} could not be imported as an Ed25519 key`);
  }
  if (typeof x !== "string") throw new TypeError(`${where} has no public part`);
  kid ??= await ed25519Thumbprint(x);
  const publicJwk: PublicJwk = { kty: "OKP", crv: "Ed25519", x, kid, alg: "EdDSA", use: "sig" };
  const verifyKey = await crypto.subtle.importKey("jwk", { kty: "OKP", crv: "Ed25519", x }, ED25519, true, ["verify"]);
  // The signing key is imported again, not extractable, so nothing later can read it back out.
  const signKey = secretJwk
    ? await crypto.subtle.importKey("jwk", { ...secretJwk, x }, ED25519, false, ["sign"])
    : undefined;
  return { kid, alg: "EdDSA", signKey, verifyKey, publicJwk };
}

/**
 * EdDSA ring keys from `JWT_ED25519_KEYS` (or the file `JWT_ED25519_KEYS_FILE` names): PKCS#8 PEM blocks
 * ("BEGIN PRIVATE KEY"), or JSON: one JWK, an array of JWKs, or a JWKS `{"keys":[...]}`. Current key first;
 * later entries may be public only (SPKI "BEGIN PUBLIC KEY" or a JWK without d): retired, verify-only.
 */
export async function ed25519RingKeys(text: string): Promise<RingKey[]> {
  const materials = readMaterial(text);
  const keys: RingKey[] = [];
  for (const [index, material] of materials.entries()) keys.push(await toRingKey(material, index));
  return keys;
}

/** What src/config.ts will hand over: JWT_ALG, JWT_SECRET, JWT_ED25519_KEYS(_FILE) content, JWT_ISSUER, JWT_AUDIENCE. */
export type SigningConfig = { alg: "HS256" | "EdDSA"; secrets?: string; ed25519Keys?: string } & Omit<KeyRingOptions, "now">;

export async function keyRingFromConfig(config: SigningConfig, now: KeyRingOptions["now"]): Promise<KeyRing> {
  const { alg, secrets, ed25519Keys, ...options } = config;
  if (alg === "HS256") {
    if (secrets === undefined) throw new TypeError("JWT_ALG=HS256 needs JWT_SECRET");
    return new KeyRing(await hmacRingKeys(parseSecretList(secrets)), { ...options, now });
  }
  if (ed25519Keys === undefined) throw new TypeError("JWT_ALG=EdDSA needs JWT_ED25519_KEYS or JWT_ED25519_KEYS_FILE");
  return new KeyRing(await ed25519RingKeys(ed25519Keys), { ...options, now });
}
