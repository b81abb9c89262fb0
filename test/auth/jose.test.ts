// Interop with an independent JWT library (panva's jose): it verifies the access tokens we issue (HS256
// with the shared secret; EdDSA with nothing but our /.well-known/jwks.json), and every token it forges
// that breaks our rules is refused by the running server.
import { describe, expect, test } from "bun:test";
import { generateKeyPairSync } from "node:crypto";
import {
  CompactSign, createLocalJWKSet, decodeProtectedHeader, importPKCS8, jwtVerify, SignJWT, UnsecuredJWT,
  type JWTPayload,
} from "jose";
import { expectProblem, serverForFile, TEST_SECRET, type TestServer } from "../helpers/server.ts";

const ED25519_PEM = generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();
const hs = await serverForFile();
const ed = await serverForFile({ JWT_ALG: "EdDSA", JWT_ED25519_KEYS: ED25519_PEM, JWT_ISSUER: "https://id.example", JWT_AUDIENCE: "profile-api" });
const hsUser = await hs.client.signUp();
const edUser = await ed.client.signUp();
const secret = new TextEncoder().encode(TEST_SECRET);
const edPrivate = await importPKCS8(ED25519_PEM, "EdDSA");

// The defaults, and the configured ones.
const expected = {
  hs: { issuer: "profile-service", audience: "profile-service" },
  ed: { issuer: "https://id.example", audience: "profile-api" },
};

async function served(server: TestServer) {
  const reply = await server.client.send("GET", "/.well-known/jwks.json");
  expect(reply.status).toBe(200);
  expect(reply.headers.get("cache-control")).toBe("public, max-age=300");
  expect(reply.headers.get("content-type")).toBe("application/jwk-set+json");
  return reply.body as { keys: Record<string, string>[] };
}

async function expectRefused(server: TestServer, token: string) {
  expectProblem(await server.client.send("GET", "/me", { token }), 401, "invalid_token");
}

/** Signs a payload the way we do, with whatever header and key a test gives. */
function sign(payload: JWTPayload, header: { alg: string; kid?: string; typ?: string }, key: Parameters<SignJWT["sign"]>[0]) {
  return new SignJWT(payload).setProtectedHeader({ typ: "JWT", ...header }).sign(key);
}

describe("HS256 (the default): jose verifies what we issue with the shared secret", () => {
  const genuine = async () =>
    (await jwtVerify(hsUser.token, secret, { algorithms: ["HS256"], ...expected.hs, currentDate: new Date(hs.clock.now) })).payload;
  const kid = decodeProtectedHeader(hsUser.token).kid!;

  test("an access token is a compact HS256 JWS naming its key, issuer and audience and the user", async () => {
    expect(decodeProtectedHeader(hsUser.token)).toEqual({ alg: "HS256", typ: "JWT", kid: expect.stringMatching(/^[\w-]{11}$/) });
    const claims = await genuine();
    expect(claims.sub).toBe(String(hsUser.id));
    expect(claims.exp! - claims.iat!).toBe(15 * 60);
    expect(typeof claims.jti).toBe("string");
  });

  test("a token jose signs the way we do is accepted (the control for every refusal below)", async () => {
    expect((await hs.client.send("GET", "/me", { token: await sign(await genuine(), { alg: "HS256", kid }, secret) })).status).toBe(200);
  });

  test("the JWKS is empty: an HMAC secret is never published", async () => {
    expect(await served(hs)).toEqual({ keys: [] });
  });

  test("alg none (an unsecured JWT)", async () => {
    await expectRefused(hs, new UnsecuredJWT(await genuine()).encode());
  });

  test("HS512, with another secret and with the right one", async () => {
    await expectRefused(hs, await sign(await genuine(), { alg: "HS512", kid }, new Uint8Array(64).fill(7)));
    await expectRefused(hs, await sign(await genuine(), { alg: "HS512", kid }, secret));
  });

  test("expired, though correctly signed", async () => {
    const now = Math.floor(hs.clock.now / 1000);
    await expectRefused(hs, await sign({ ...(await genuine()), iat: now - 3600, exp: now - 60 }, { alg: "HS256", kid }, secret));
  });

  test("another audience or issuer, though correctly signed", async () => {
    await expectRefused(hs, await sign({ ...(await genuine()), aud: "billing-api" }, { alg: "HS256", kid }, secret));
    await expectRefused(hs, await sign({ ...(await genuine()), iss: "https://evil.example" }, { alg: "HS256", kid }, secret));
  });

  test("an unknown critical header parameter (RFC 7515 §4.1.11)", async () => {
    const payload = new TextEncoder().encode(JSON.stringify(await genuine()));
    const token = await new CompactSign(payload)
      .setProtectedHeader({ alg: "HS256", typ: "JWT", kid, crit: ["urn:example:must-understand"], "urn:example:must-understand": true })
      // jose itself signs it only when told the parameter is understood; we are never told.
      .sign(secret, { crit: { "urn:example:must-understand": true } });
    await expectRefused(hs, token);
  });
});

describe("EdDSA: another service verifies our tokens with the served JWKS alone", () => {
  const genuine = async () => {
    const keys = createLocalJWKSet((await served(ed)) as never);
    return jwtVerify(edUser.token, keys, { algorithms: ["EdDSA"], ...expected.ed, currentDate: new Date(ed.clock.now) });
  };

  test("the JWKS lists the public key (no private part) and jose verifies the token with it", async () => {
    const { keys } = await served(ed);
    expect(keys).toHaveLength(1);
    expect(Object.keys(keys[0]!).sort()).toEqual(["alg", "crv", "kid", "kty", "use", "x"]);
    const { payload, protectedHeader } = await genuine();
    expect(protectedHeader).toEqual({ alg: "EdDSA", typ: "JWT", kid: keys[0]!.kid });
    expect(payload).toMatchObject({ sub: String(edUser.id), iss: expected.ed.issuer, aud: expected.ed.audience });
  });

  test("a token jose signs with our private key is accepted (the control for every refusal below)", async () => {
    const { payload, protectedHeader } = await genuine();
    expect((await ed.client.send("GET", "/me", { token: await sign(payload, { alg: "EdDSA", kid: protectedHeader.kid }, edPrivate) })).status).toBe(200);
  });

  test("alg none, HS512 and HS256 (keyed with the published public key: algorithm confusion) are refused", async () => {
    const { payload, protectedHeader } = await genuine();
    const kid = protectedHeader.kid!;
    const published = new TextEncoder().encode((await served(ed)).keys[0]!.x);
    await expectRefused(ed, new UnsecuredJWT(payload).encode());
    await expectRefused(ed, await sign(payload, { alg: "HS512", kid }, new Uint8Array(64).fill(7)));
    await expectRefused(ed, await sign(payload, { alg: "HS256", kid }, published));
    await expectRefused(ed, await sign(payload, { alg: "HS256", kid }, secret));
  });

  test("expired, though signed with our own key", async () => {
    const { payload, protectedHeader } = await genuine();
    const now = Math.floor(ed.clock.now / 1000);
    await expectRefused(ed, await sign({ ...payload, iat: now - 3600, exp: now - 60 }, { alg: "EdDSA", kid: protectedHeader.kid }, edPrivate));
  });

  test("a crit header, though signed with our own key", async () => {
    const { payload, protectedHeader } = await genuine();
    const token = await new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
      .setProtectedHeader({ alg: "EdDSA", typ: "JWT", kid: protectedHeader.kid, crit: ["urn:example:x"], "urn:example:x": true })
      .sign(edPrivate, { crit: { "urn:example:x": true } });
    await expectRefused(ed, token);
  });

  test("another Ed25519 key, under our kid or its own", async () => {
    const { payload, protectedHeader } = await genuine();
    const stranger = generateKeyPairSync("ed25519").privateKey;
    await expectRefused(ed, await sign(payload, { alg: "EdDSA", kid: protectedHeader.kid }, stranger));
    await expectRefused(ed, await sign(payload, { alg: "EdDSA", kid: "stranger" }, stranger));
  });
});
