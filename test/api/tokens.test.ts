// The access-token attack set against a running server: every forged, stale or revoked token is
// the same 401 with a Bearer challenge, and the real token keeps working beside them.
import { describe, expect, test } from "bun:test";
import { importHs256Key, signHs256, type JwtClaims } from "../../src/auth/jwt.ts";
import { keyRingFromConfig } from "../../src/auth/signing-key-config.ts";
import { expectProblem, serverForFile, TEST_SECRET } from "../helpers/server.ts";

const server = await serverForFile();
const { client } = server;
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
const decode = (token: string) => JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString());

async function expectRejected(token: string) {
  const reply = await client.send("GET", "/me", { token });
  expectProblem(reply, 401, "invalid_token");
  expect(reply.headers.get("www-authenticate")).toStartWith("Bearer");
}

describe("GET /me refuses", async () => {
  const user = await client.signUp();
  const claims = decode(user.token);
  const [header, , signature] = user.token.split(".") as [string, string, string];
  // Signed as the server signs (kid, iss, aud added by the ring), so each is refused for its stated reason.
  const ring = await keyRingFromConfig({ alg: "HS256", secrets: TEST_SECRET, issuer: claims.iss, audience: claims.aud }, () => server.clock.now);
  const { iss: _iss, aud: _aud, ...ours } = claims;
  const signed = (changes: Record<string, unknown>) => ring.sign({ ...ours, ...changes } as JwtClaims);

  test("the genuine token works (so every refusal below is for its stated reason)", async () => {
    expect((await client.send("GET", "/me", { token: user.token })).status).toBe(200);
    expect((await client.send("GET", "/me", { token: await signed({}) })).status).toBe(200);
  });

  const forgeries: Array<[string, () => Promise<string> | string]> = [
    ["no token at all", () => ""],
    ["alg none, unsigned", () => `${b64({ alg: "none", typ: "JWT" })}.${b64(claims)}.`],
    ["alg none, old signature", () => `${b64({ alg: "none", typ: "JWT" })}.${b64(claims)}.${signature}`],
    ["an HS512 header", () => `${b64({ alg: "HS512", typ: "JWT" })}.${b64(claims)}.${signature}`],
    ["an RS256 header", () => `${b64({ alg: "RS256", typ: "JWT" })}.${b64(claims)}.${signature}`],
    ["a token signed with another key", async () => signHs256(claims, await importHs256Key(`${TEST_SECRET}-other`))],
    ["a tampered payload with the old signature", () => `${header}.${b64({ ...claims, sub: "1", user_id: 1, role: "admin" })}.${signature}`],
    ["a correctly signed token for a user that does not exist", () => signed({ sub: "999999", user_id: 999999 })],
    ["a correctly signed token with a stale version", () => signed({ ver: claims.ver - 1 })],
    ["a correctly signed token whose sub and user_id disagree", () => signed({ user_id: claims.user_id + 1 })],
  ];
  test.each(forgeries)("%s", async (_why, make) => {
    await expectRejected(await make());
  });

  test("a malformed Authorization header", async () => {
    for (const value of ["Basic dXNlcjpwYXNz", `Bearer`, `Token ${user.token}`, `Bearer ${user.token} extra`]) {
      expectProblem(await client.send("GET", "/me", { headers: { Authorization: value } }), 401, "invalid_token");
    }
  });
});

describe("what a refusal tells the client (RFC 6750 §3.1)", () => {
  test("no credentials at all: the challenge alone, without an error code", async () => {
    const attempts: Array<Record<string, string>> = [{}, { Authorization: "Basic dXNlcjpwYXNz" }];
    for (const headers of attempts) {
      const reply = await client.send("GET", "/me", { headers });
      expectProblem(reply, 401, "invalid_token");
      expect(reply.headers.get("www-authenticate")).toBe('Bearer realm="api"');
    }
  });

  test("a bad token: error=\"invalid_token\"", async () => {
    const reply = await client.send("GET", "/me", { token: "not.a.token" });
    expectProblem(reply, 401, "invalid_token");
    expect(reply.headers.get("www-authenticate")).toBe('Bearer realm="api", error="invalid_token"');
  });

  test("an expired token says it expired (same status and code), a garbled one does not", async () => {
    const user = await client.signUp();
    const garbled = expectProblem(await client.send("GET", "/me", { token: `${user.token}x` }), 401, "invalid_token");
    server.clock.advance(15 * 60);
    try {
      const reply = await client.send("GET", "/me", { token: user.token });
      const expired = expectProblem(reply, 401, "invalid_token");
      expect(expired.detail).toMatch(/expired/);
      expect(garbled.detail).not.toMatch(/expired/);
      expect(reply.headers.get("www-authenticate")).toBe('Bearer realm="api", error="invalid_token", error_description="The access token expired"');
      // A token never seen before (so not in the verified cache) says the same.
      const fresh = await client.signUp();
      server.clock.advance(15 * 60);
      expect(expectProblem(await client.send("GET", "/me", { token: fresh.token }), 401, "invalid_token").detail).toBe(expired.detail);
    } finally {
      server.clock.advance(-30 * 60);
    }
  });
});

describe("time and revocation", () => {
  test("a token expires after 15 minutes (frozen clock), even after it was accepted once", async () => {
    const user = await client.signUp();
    expect((await client.send("GET", "/me", { token: user.token })).status).toBe(200);
    server.clock.advance(15 * 60 - 1);
    expect((await client.send("GET", "/me", { token: user.token })).status).toBe(200);
    server.clock.advance(1);
    await expectRejected(user.token);
    server.clock.advance(-15 * 60);
  });

  test("a password change revokes every token of the user but hands this session a new one", async () => {
    const user = await client.signUp();
    const otherLogin = await client.login(user.email);
    const reply = await client.send("PUT", "/me", {
      token: user.token,
      json: { password: "a-new-password", current_password: user.password },
    });
    expect(reply.status).toBe(200);
    await expectRejected(user.token);
    await expectRejected(otherLogin.body.access_token);
    expectProblem(await client.send("POST", "/token/refresh", { json: { refresh_token: otherLogin.body.refresh_token } }), 401, "invalid_token");
    expect((await client.send("GET", "/me", { token: reply.body.access_token })).status).toBe(200);
    expect((await client.send("POST", "/token/refresh", { json: { refresh_token: user.refresh } })).status).toBe(200);
    expect((await client.login(user.email, "a-new-password")).status).toBe(200);
    expectProblem(await client.login(user.email, user.password), 401, "invalid_credentials");
  });

  test("a deleted account's tokens stop working, and its id is never handed out again", async () => {
    const user = await client.signUp();
    expect((await client.send("DELETE", "/me", { token: user.token })).status).toBe(200);
    await expectRejected(user.token);
    expectProblem(await client.send("POST", "/token/refresh", { json: { refresh_token: user.refresh } }), 401, "invalid_token");
    const next = await client.signUp();
    expect(next.id).toBeGreaterThan(user.id);
    await expectRejected(user.token);
  });
});
