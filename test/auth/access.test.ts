// Access tokens on the key ring, and the tokens issued before it (HS256, no kid, iss or aud): accepted
// for one access-token lifetime after start, then never, whatever exp they carry.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AccessTokens } from "../../src/auth/access.ts";
import { resolveSigning } from "../../src/auth/secret.ts";
import { loadConfig } from "../../src/config.ts";
import { importHs256Key, JwtError, signHs256 } from "../../src/auth/jwt.ts";
import { keyRingFromConfig } from "../../src/auth/signing-key-config.ts";
import vector from "../vectors/rfc8037-a4.json";

const SECRET = "access-test-secret-0123456789abcdefghijklmnop";
const OTHER = "access-test-other-0123456789abcdefghijklmnopq";
const TTL = 900;
const user = { id: 7, tokenVersion: 3 };
const session = { sessionId: "s-1", authTime: 1_800_000_000 };

function setup(alg: "HS256" | "EdDSA" = "HS256", secrets = `${SECRET},${OTHER}`) {
  const clock = { now: 1_800_000_000_000 };
  const now = () => clock.now;
  const signing = alg === "HS256" ? { alg, secrets } : { alg, ed25519Keys: JSON.stringify(vector.jwk) };
  const tokens = keyRingFromConfig({ ...signing, issuer: "https://i.example", audience: "api" }, now).then((ring) =>
    AccessTokens.create(ring, TTL, now, alg === "HS256" ? secrets.split(",") : []),
  );
  return { clock, tokens };
}

/** A token as the service issued them before key rings: HS256, no kid, no iss or aud. */
async function legacyToken(secret: string, nowMs: number, lifetime = TTL) {
  const iat = Math.floor(nowMs / 1000);
  const claims = { sub: "7", user_id: 7, ver: 3, sid: "s-1", auth_time: session.authTime, jti: "j", iat, exp: iat + lifetime };
  return signHs256(claims, await importHs256Key(secret));
}

const codeOf = (promise: Promise<unknown>) => promise.then(() => "ok", (e: unknown) => (e instanceof JwtError ? e.code : String(e)));

describe("AccessTokens on the key ring", () => {
  test("issued tokens verify, with the user, version and session", async () => {
    const { tokens } = setup();
    const { token } = await (await tokens).issue(user, session);
    expect(await (await tokens).verify(token)).toMatchObject({ userId: 7, tokenVersion: 3, sessionId: "s-1" });
  });

  test("a token from before key rings verifies during the first lifetime after start, with any listed secret", async () => {
    const { clock, tokens } = setup();
    const access = await tokens;
    expect(await codeOf(access.verify(await legacyToken(SECRET, clock.now - 60_000)))).toBe("ok");
    expect(await codeOf(access.verify(await legacyToken(OTHER, clock.now)))).toBe("ok");
    expect(await codeOf(access.verify(await legacyToken("a-stranger-secret-0123456789abcdefghijklm", clock.now)))).toBe("ERR_JWT_SIGNATURE_INVALID");
  });

  test("after one lifetime since start no kid-less token is accepted, even one whose exp is far ahead", async () => {
    const { clock, tokens } = setup();
    const access = await tokens;
    const longLived = await legacyToken(SECRET, clock.now, 30 * 24 * 3600);
    clock.now += (TTL - 1) * 1000;
    expect(await codeOf(access.verify(await legacyToken(SECRET, clock.now)))).toBe("ok");
    clock.now += 1000;
    expect(await codeOf(access.verify(longLived))).toBe("ERR_JWT_HEADER_INVALID");
    expect(await codeOf(access.verify(await legacyToken(SECRET, clock.now)))).toBe("ERR_JWT_HEADER_INVALID");
  });

  test("with EdDSA no HS256 token is ever accepted, kid or not", async () => {
    const { clock, tokens } = setup("EdDSA");
    expect(await codeOf((await tokens).verify(await legacyToken(SECRET, clock.now)))).toBe("ERR_JWT_ALG_NOT_ALLOWED");
  });
});

test("in development with EdDSA and no keys, an Ed25519 key is made once and kept (mode 600)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "signing-"));
  try {
    const config = loadConfig({ JWT_ALG: "EdDSA", DATA_DIR: dir });
    const first = resolveSigning(config);
    expect(first.source).toBe("generated");
    expect(statSync(first.path!).mode & 0o777).toBe(0o600);
    const again = resolveSigning(config);
    expect(again).toMatchObject({ source: "file", signing: first.signing });
    const ring = await keyRingFromConfig(again.signing, () => Date.now());
    expect(ring.jwks().keys).toHaveLength(1);
    expect(() => resolveSigning(loadConfig({ NODE_ENV: "production", SMTP_URL: "smtp://m:25", JWT_ALG: "EdDSA", JWT_ED25519_KEYS: "k" })).signing).not.toThrow();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
