// The HS256 module on its own: the RFC 7515 known answer, then every way a token can be wrong,
// each asserting the stable error code (never the message).
import { describe, expect, test } from "bun:test";
import { importHs256Key, JwtError, signHs256, signJws, verifyHs256, verifyJws, type JwtErrorCode } from "../../src/auth/jwt.ts";
import vector from "../vectors/rfc7515-a1.json";

const b64 = (value: unknown) => Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");
const SECRET = "unit-test-secret-that-is-at-least-32-bytes";
const at = (seconds: number) => ({ now: () => seconds * 1000 });
const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/** A 32-byte signature's 43rd character has 2 unused bits: flipping one decodes to the same bytes. */
const otherSpelling = (signature: string) => signature.slice(0, -1) + BASE64URL[BASE64URL.indexOf(signature.at(-1)!) ^ 1];

async function codeOf(promise: Promise<unknown>): Promise<JwtErrorCode | "ok"> {
  try {
    await promise;
    return "ok";
  } catch (err) {
    if (!(err instanceof JwtError)) throw err;
    return err.code;
  }
}

describe("RFC 7515 A.1 known answer", () => {
  const key = importHs256Key(new Uint8Array(Buffer.from(vector.jwk.k, "base64url")));

  test("the example token verifies before its exp and yields its claims", async () => {
    expect(await verifyHs256(vector.token, await key, at(1300819300))).toEqual(vector.claims);
  });

  test("the HMAC over the example's signing input is the published signature", async () => {
    const input = vector.token.split(".").slice(0, 2).join(".");
    const mac = await crypto.subtle.sign("HMAC", await key, new TextEncoder().encode(input));
    expect(Buffer.from(mac).toString("base64url")).toBe(vector.signature);
  });

  test("after its exp it is expired", async () => {
    expect(await codeOf(verifyHs256(vector.token, await key, at(1300819381)))).toBe("ERR_JWT_EXPIRED");
  });
});

describe("verifyHs256 refuses", async () => {
  const key = await importHs256Key(SECRET);
  const now = 1_800_000_000;
  const good = await signHs256({ sub: "1", exp: now + 60, iat: now }, key);
  const [header, payload, signature] = good.split(".") as [string, string, string];

  const cases: Array<[string, string | Promise<string>, JwtErrorCode]> = [
    ["an empty string", "", "ERR_JWT_MALFORMED"],
    ["two segments", `${header}.${payload}`, "ERR_JWT_MALFORMED"],
    ["four segments", `${good}.x`, "ERR_JWT_MALFORMED"],
    ["non-base64url characters", `${header}.${payload}.${signature}=`, "ERR_JWT_MALFORMED"],
    ["a header that is not JSON", `${b64("not json")}.${payload}.${signature}`, "ERR_JWT_HEADER_INVALID"],
    ["alg none with no signature", `${b64({ alg: "none", typ: "JWT" })}.${payload}.`, "ERR_JWT_MALFORMED"],
    ["alg none with a signature", `${b64({ alg: "none", typ: "JWT" })}.${payload}.${signature}`, "ERR_JWT_ALG_NOT_ALLOWED"],
    ["alg HS512", `${b64({ alg: "HS512", typ: "JWT" })}.${payload}.${signature}`, "ERR_JWT_ALG_NOT_ALLOWED"],
    ["alg RS256", `${b64({ alg: "RS256", typ: "JWT" })}.${payload}.${signature}`, "ERR_JWT_ALG_NOT_ALLOWED"],
    ["alg in the wrong case", `${b64({ alg: "hs256" })}.${payload}.${signature}`, "ERR_JWT_ALG_NOT_ALLOWED"],
    ["a crit header", `${b64({ alg: "HS256", crit: ["exp"] })}.${payload}.${signature}`, "ERR_JWT_HEADER_INVALID"],
    ["a tampered payload with the old signature", `${header}.${b64({ sub: "2", exp: now + 60 })}.${signature}`, "ERR_JWT_SIGNATURE_INVALID"],
    ["a truncated signature", `${header}.${payload}.${signature.slice(0, 20)}`, "ERR_JWT_SIGNATURE_INVALID"],
    ["the signature's last character spelled otherwise (same bytes)", `${header}.${payload}.${otherSpelling(signature)}`, "ERR_JWT_SIGNATURE_INVALID"],
    ["a token signed with another key", importHs256Key(`${SECRET}-other`).then((k) => signHs256({ sub: "1", exp: now + 60 }, k)), "ERR_JWT_SIGNATURE_INVALID"],
    ["a token without exp", signHs256({ sub: "1" } as never, key), "ERR_JWT_CLAIM_INVALID"],
    ["a string exp", signHs256({ sub: "1", exp: String(now + 60) } as never, key), "ERR_JWT_CLAIM_INVALID"],
    ["an expired token", signHs256({ sub: "1", exp: now }, key), "ERR_JWT_EXPIRED"],
    ["a token not valid yet", signHs256({ sub: "1", exp: now + 60, nbf: now + 30 }, key), "ERR_JWT_NOT_YET_VALID"],
    ["a payload that is an array", (async () => {
      const input = `${header}.${b64([1, 2])}`;
      const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(input));
      return `${input}.${Buffer.from(mac).toString("base64url")}`;
    })(), "ERR_JWT_CLAIM_INVALID"],
    ["an enormous token", `${header}.${"A".repeat(10_000)}.${signature}`, "ERR_JWT_MALFORMED"],
  ];

  test.each(cases)("%s", async (_name, token, code) => {
    expect(await codeOf(verifyHs256(await token, key, at(now)))).toBe(code);
  });

  test("the good token itself passes, so the cases above fail for their stated reason", async () => {
    expect(await codeOf(verifyHs256(good, key, at(now)))).toBe("ok");
  });

  test("error messages never contain the token or its parts", async () => {
    const tampered = `${header}.${b64({ sub: "2", exp: now + 60 })}.${signature}`;
    try {
      await verifyHs256(tampered, key, at(now));
      throw new Error("should have failed");
    } catch (err) {
      expect(String((err as Error).message)).not.toContain(signature);
      expect(String((err as Error).message)).not.toContain(header);
    }
  });

  test("the signature is checked before the claims: a forged expired token reports the signature", async () => {
    const forged = `${header}.${b64({ sub: "1", exp: 1 })}.${signature}`;
    expect(await codeOf(verifyHs256(forged, key, at(now)))).toBe("ERR_JWT_SIGNATURE_INVALID");
  });
});

test("a secret shorter than 32 bytes is refused as misuse", async () => {
  expect(importHs256Key("short")).rejects.toBeInstanceOf(TypeError);
});

test("HMAC runs inline for our keys and agrees with Web Crypto both ways; a short or altered signature fails closed", async () => {
  const ours = await importHs256Key(SECRET);
  const webCrypto = await crypto.subtle.importKey("raw", Buffer.from(SECRET), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
  const input = new TextEncoder().encode("header.payload");
  const inline = await signJws("HMAC", ours, input);
  expect(Buffer.from(inline)).toEqual(Buffer.from(await crypto.subtle.sign("HMAC", webCrypto, input)));
  expect(await crypto.subtle.verify("HMAC", webCrypto, inline, input)).toBe(true);
  expect(await verifyJws("HMAC", ours, inline, input)).toBe(true);
  expect(await verifyJws("HMAC", webCrypto, inline, input)).toBe(true); // a key imported elsewhere goes through Web Crypto
  expect(await verifyJws("HMAC", ours, inline.slice(0, 31), input)).toBe(false);
  const altered = inline.slice();
  altered[0]! ^= 1;
  expect(await verifyJws("HMAC", ours, altered, input)).toBe(false);
});
