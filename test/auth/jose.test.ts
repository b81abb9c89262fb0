// Interop with an independent JWT library (panva's jose): it verifies the access tokens we issue with
// the shared secret, and every token it forges that breaks our rules is refused by the running server.
import { describe, expect, test } from "bun:test";
import { CompactSign, decodeProtectedHeader, jwtVerify, SignJWT, UnsecuredJWT } from "jose";
import { expectProblem, serverForFile, TEST_SECRET } from "../helpers/server.ts";

const server = await serverForFile();
const { client } = server;
const key = new TextEncoder().encode(TEST_SECRET);
const user = await client.signUp();

/** The claims of a genuine token, as jose reads them after checking the signature itself. */
async function genuineClaims() {
  const { payload } = await jwtVerify(user.token, key, { algorithms: ["HS256"], currentDate: new Date(server.clock.now) });
  return payload;
}

async function expectRefused(token: string) {
  const reply = await client.send("GET", "/me", { token });
  expectProblem(reply, 401, "invalid_token");
}

describe("jose verifies what we issue", () => {
  test("an access token is a compact HS256 JWS whose claims name the user", async () => {
    expect(decodeProtectedHeader(user.token)).toMatchObject({ alg: "HS256", typ: "JWT" });
    const claims = await genuineClaims();
    expect(claims.sub).toBe(String(user.id));
    expect(claims.exp! - claims.iat!).toBe(15 * 60);
    expect(typeof claims.jti).toBe("string");
  });

  test("a token jose signs the way we do is accepted (the control for every refusal below)", async () => {
    const claims = await genuineClaims();
    const token = await new SignJWT(claims).setProtectedHeader({ alg: "HS256", typ: "JWT" }).sign(key);
    expect((await client.send("GET", "/me", { token })).status).toBe(200);
  });
});

describe("tokens jose forges are refused with 401 invalid_token", () => {
  test("alg none (an unsecured JWT)", async () => {
    await expectRefused(new UnsecuredJWT(await genuineClaims()).encode());
  });

  test("HS512 with the right secret", async () => {
    const token = await new SignJWT(await genuineClaims()).setProtectedHeader({ alg: "HS512", typ: "JWT" }).sign(new Uint8Array(64).fill(7));
    await expectRefused(token);
    const sameSecret = await new SignJWT(await genuineClaims()).setProtectedHeader({ alg: "HS512" }).sign(key);
    await expectRefused(sameSecret);
  });

  test("expired, though correctly signed", async () => {
    const now = Math.floor(server.clock.now / 1000);
    const token = await new SignJWT({ ...(await genuineClaims()), iat: now - 3600, exp: now - 60 })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .sign(key);
    await expectRefused(token);
  });

  test("an unknown critical header parameter (RFC 7515 §4.1.11)", async () => {
    const payload = new TextEncoder().encode(JSON.stringify(await genuineClaims()));
    const token = await new CompactSign(payload)
      .setProtectedHeader({ alg: "HS256", typ: "JWT", crit: ["urn:example:must-understand"], "urn:example:must-understand": true })
      // jose itself signs it only when told the parameter is understood; we are never told.
      .sign(key, { crit: { "urn:example:must-understand": true } });
    await expectRefused(token);
  });
});
