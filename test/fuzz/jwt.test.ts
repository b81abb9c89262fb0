// Properties of the HS256 verifier: whatever it signs it gets back, and any token it did not sign
// exactly as given (one byte changed, cut short, re-encoded, or arbitrary text) is a JwtError.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { importHs256Key, JwtError, signHs256, verifyHs256, type JwtClaims } from "../../src/auth/jwt.ts";
import { runs } from "./seed.ts";

const key = await importHs256Key("fuzz-secret-that-is-at-least-32-bytes-long");
const NOW = 1_800_000_000;
const clock = { now: () => NOW * 1000 };
const b64 = (text: string) => Buffer.from(text).toString("base64url");

/** Resolves to the claims, or to the JwtError; anything else thrown fails the property. */
async function outcome(token: unknown): Promise<JwtClaims | JwtError> {
  try {
    return await verifyHs256(token as string, key, clock);
  } catch (err) {
    if (err instanceof JwtError) return err;
    throw new Error(`verify threw ${String(err)} instead of a JwtError`, { cause: err });
  }
}

const claims = fc
  .record({
    extra: fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 }),
    exp: fc.integer({ min: NOW + 1, max: NOW + 10 ** 9 }),
    iat: fc.option(fc.integer({ min: 0, max: NOW }), { nil: undefined }),
    nbf: fc.option(fc.integer({ min: 0, max: NOW }), { nil: undefined }),
  })
  .map(({ extra, ...times }) => {
    const out: Record<string, unknown> = { ...extra, exp: times.exp };
    if (times.iat !== undefined) out.iat = times.iat;
    if (times.nbf !== undefined) out.nbf = times.nbf;
    return out as JwtClaims;
  });

/** A valid token and the claims it carries, as JSON gives them back. */
const signed = claims.map((c) => ({ claims: c, token: signHs256(c, key) }));

describe("round trip", () => {
  test("whatever is signed verifies to the same claims", async () => {
    await fc.assert(
      fc.asyncProperty(signed, async ({ claims: c, token }) => {
        expect(await outcome(await token)).toEqual(JSON.parse(JSON.stringify(c)));
      }),
      runs(500),
    );
  });
});

describe("a valid token, altered, is a JwtError", () => {
  // Every base64url character and the separators, plus characters that are never base64url.
  const CHARS = [..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", ".", "=", "+", "/", " ", "\u00e9", "\u0000"];

  // The last character is weighted: it carries 2 unused bits, so 3 others decode to the same
  // signature, and accepting those would make every token malleable.
  const position = fc.oneof({ arbitrary: fc.nat(), weight: 4 }, { arbitrary: fc.constant(-1), weight: 1 });

  test("any one character replaced by another", async () => {
    await fc.assert(
      fc.asyncProperty(signed, position, fc.constantFrom(...CHARS), async ({ token }, at, replacement) => {
        const good = await token;
        const i = at < 0 ? good.length - 1 : at % good.length;
        fc.pre(good[i] !== replacement);
        const bad = good.slice(0, i) + replacement + good.slice(i + 1);
        expect(await outcome(bad)).toBeInstanceOf(JwtError);
      }),
      runs(2000),
    );
  });

  test("any one character inserted or deleted, or the token cut short", async () => {
    await fc.assert(
      fc.asyncProperty(signed, fc.nat(), fc.constantFrom("insert", "delete", "truncate"), fc.constantFrom(...CHARS), async ({ token }, at, how, char) => {
        const good = await token;
        const i = at % good.length;
        const bad = how === "insert" ? good.slice(0, i) + char + good.slice(i) : how === "delete" ? good.slice(0, i) + good.slice(i + 1) : good.slice(0, i);
        expect(await outcome(bad)).toBeInstanceOf(JwtError);
      }),
      runs(1500),
    );
  });

  test("header or payload re-encoded: same JSON meaning, different text", async () => {
    const reencodings: Array<(json: string) => string> = [
      (json) => b64(JSON.stringify(JSON.parse(json), null, 1)), // whitespace
      (json) => b64(` ${json}`),
      (json) => b64(JSON.stringify(Object.fromEntries(Object.entries(JSON.parse(json)).reverse()))), // key order
      (json) => b64(json.replace(/"([a-z])/, (_, c: string) => `"\\u00${c.charCodeAt(0).toString(16)}`)), // \u escape
      (json) => Buffer.from(json).toString("base64"), // padded standard base64
      (json) => `${b64(json)}==`,
    ];
    await fc.assert(
      fc.asyncProperty(signed, fc.nat(1), fc.nat(reencodings.length - 1), async ({ token }, segment, how) => {
        const parts = (await token).split(".");
        const original = parts[segment]!;
        parts[segment] = reencodings[how]!(Buffer.from(original, "base64url").toString());
        fc.pre(parts[segment] !== original);
        expect(await outcome(parts.join("."))).toBeInstanceOf(JwtError);
      }),
      runs(500),
    );
  });
});

describe("untrusted text never crashes the verifier", () => {
  const segment = fc.oneof(
    fc.string({ unit: fc.constantFrom(..."ABCDEFabcdef0123456789-_"), maxLength: 60 }),
    fc.jsonValue({ maxDepth: 4 }).map((v) => b64(JSON.stringify(v))),
    fc.record({ alg: fc.constantFrom("HS256", "none", "hs256", 0, null), typ: fc.constantFrom(undefined, "JWT", "jwt", 1), crit: fc.constantFrom(undefined, [], ["exp"]) }).map((h) => b64(JSON.stringify(h))),
    fc.nat(5000).map((depth) => b64("[".repeat(depth) + "]".repeat(depth))),
    fc.uint8Array({ maxLength: 60 }).map((bytes) => Buffer.from(bytes).toString("base64url")),
  );
  const untrusted = fc.oneof(
    fc.string({ unit: "binary", maxLength: 200 }),
    fc.array(segment, { minLength: 0, maxLength: 5 }).map((parts) => parts.join(".")),
    fc.string({ unit: fc.constantFrom("A", "."), maxLength: 9000 }),
    fc.anything(),
  );

  test("arbitrary strings, segment soups and non-strings are a JwtError", async () => {
    await fc.assert(
      fc.asyncProperty(untrusted, async (token) => {
        expect(await outcome(token)).toBeInstanceOf(JwtError);
      }),
      runs(2000),
    );
  });

  test("correctly signed but arbitrary payloads: claims only when exp, iat and nbf make sense", async () => {
    const payload = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      fc.record({ exp: fc.jsonValue({ maxDepth: 1 }), iat: fc.jsonValue({ maxDepth: 1 }), nbf: fc.jsonValue({ maxDepth: 1 }) }, { requiredKeys: [] }),
      fc.record({ exp: fc.integer({ min: NOW - 5, max: NOW + 5 }), nbf: fc.integer({ min: NOW - 5, max: NOW + 5 }) }, { requiredKeys: ["exp"] }),
      fc.constantFrom("1e999", '{"exp":1e999}', '{"exp":-1e999}', '{"exp":1800000060,"iat":"0"}'),
    );
    await fc.assert(
      fc.asyncProperty(payload, async (value) => {
        const json = typeof value === "string" && /^[-{1]/.test(value) ? value : JSON.stringify(value);
        const input = `${b64('{"alg":"HS256","typ":"JWT"}')}.${b64(json)}`;
        const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(input));
        const result = await outcome(`${input}.${Buffer.from(mac).toString("base64url")}`);
        if (result instanceof JwtError) return;
        expect(Number.isFinite(result.exp) && result.exp > NOW).toBe(true);
        if (result.iat !== undefined) expect(Number.isFinite(result.iat)).toBe(true);
        if (result.nbf !== undefined) expect(Number.isFinite(result.nbf) && result.nbf <= NOW).toBe(true);
      }),
      runs(1000),
    );
  });
});
