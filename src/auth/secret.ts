// Where the JWT signing secret comes from: JWT_SECRET, or (outside production) a random one made on
// first start and kept in the data directory, readable by this user only, so restarts keep sessions.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../config.ts";

export function resolveJwtSecret(config: Config): { secret: string; source: "env" | "file" | "generated" } {
  if (config.jwtSecret !== undefined) return { secret: config.jwtSecret, source: "env" };
  if (config.env === "production") throw new Error("JWT_SECRET is required in production");
  mkdirSync(config.dataDir, { recursive: true });
  const path = join(config.dataDir, "jwt-secret");
  try {
    const kept = readFileSync(path, "utf8").trim();
    if (Buffer.byteLength(kept) >= 32) {
      chmodSync(path, 0o600);
      return { secret: kept, source: "file" };
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  const secret = Buffer.from(crypto.getRandomValues(new Uint8Array(48))).toString("base64url");
  writeFileSync(path, `${secret}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return { secret, source: "generated" };
}
