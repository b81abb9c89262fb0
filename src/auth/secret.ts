// Where the JWT signing keys come from: JWT_SECRET / JWT_ED25519_KEYS, or (outside production) a random
// secret or Ed25519 key made on first start and kept in the data directory, readable by this user only, so restarts keep sessions.
import { generateKeyPairSync } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../config.ts";
import type { SigningConfig } from "./signing-key-config.ts";

type Source = "env" | "file" | "generated";

function resolveJwtSecret(config: Config): { secret: string; source: Source; path?: string } {
  if (config.jwtSecret !== undefined) return { secret: config.jwtSecret, source: "env" };
  if (config.env === "production") throw new Error("JWT_SECRET is required in production");
  return kept(config, "jwt-secret", (text) => Buffer.byteLength(text) >= 32, () =>
    Buffer.from(crypto.getRandomValues(new Uint8Array(48))).toString("base64url"),
  );
}

function resolveEd25519Keys(config: Config): { secret: string; source: Source; path?: string } {
  if (config.jwtEd25519Keys !== undefined) return { secret: config.jwtEd25519Keys, source: "env" };
  if (config.env === "production") throw new Error("JWT_ALG=EdDSA needs JWT_ED25519_KEYS in production");
  return kept(config, "jwt-ed25519.pem", (text) => text.includes("BEGIN PRIVATE KEY"), () =>
    generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
  );
}

/** The signing configuration the key ring is built from (src/auth/signing-key-config.ts). */
export function resolveSigning(config: Config): { signing: SigningConfig; source: Source; path?: string } {
  const { jwtAlg: alg, jwtIssuer: issuer, jwtAudience: audience } = config;
  if (alg === "HS256") {
    const { secret, source, path } = resolveJwtSecret(config);
    return { signing: { alg, secrets: secret, issuer, audience }, source, path };
  }
  const { secret, source, path } = resolveEd25519Keys(config);
  return { signing: { alg, ed25519Keys: secret, issuer, audience }, source, path };
}

function kept(config: Config, name: string, usable: (text: string) => boolean, make: () => string) {
  mkdirSync(config.dataDir, { recursive: true });
  const path = join(config.dataDir, name);
  try {
    const text = readFileSync(path, "utf8").trim();
    if (usable(text)) {
      chmodSync(path, 0o600);
      return { secret: text, source: "file" as const, path };
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  const secret = make().trim();
  writeFileSync(path, `${secret}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return { secret, source: "generated" as const, path };
}
