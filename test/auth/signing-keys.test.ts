// The access-token key ring: RFC 8037 vector, rotation by kid, every refusal in verification order,
// and interop with panva's jose, which verifies our tokens and whose unknown-kid tokens we refuse.
import { describe, expect, test } from "bun:test";
import { createLocalJWKSet, decodeProtectedHeader, generateKeyPair, jwtVerify, SignJWT } from "jose";
import { JwtError, type JwtErrorCode } from "../../src/auth/jwt.ts";
import { ed25519RingKeys, hmacKid, hmacRingKeys, keyRingFromConfig, parseSecretList } from "../../src/auth/signing-key-config.ts";
import { KeyRing } from "../../src/auth/signing-keys.ts";
import vector from "../vectors/rfc8037-a4.json";

const NOW = 1_800_000_000_000;
const nowSeconds = NOW / 1000;
const options = { issuer: "https://profile.example", audience: "profile-api", now: () => NOW };
const OLD = "old-secret-0123456789abcdefghijklmnopqrstuvwxyz";
const NEW = "new-secret-0123456789abcdefghijklmnopqrstuvwxyz";
const claims = () => ({ sub: "42", iat: nowSeconds, exp: nowSeconds + 900 });
const encoder = new TextEncoder();
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

const hsRing = async (...secrets: string[]) => new KeyRing(await hmacRingKeys(secrets), options);

async function newEd25519Pem(): Promise<string> {
  const pair = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"])) as unknown as CryptoKeyPair;
  const der = Buffer.from(await crypto.subtle.exportKey("pkcs8", pair.privateKey)).toString("base64");
  return `-----BEGIN PRIVATE KEY-----\n${der.match(/.{1,64}/g)!.join("\n")}\n-----END PRIVATE KEY-----\n`;
}

async function expectRefused(ring: KeyRing, token: string, code: JwtErrorCode) {
  const error = await ring.verify(token).then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(JwtError);
  expect((error as JwtError).code).toBe(code);
  if (token.length >= 20) expect((error as JwtError).message).not.toContain(token.slice(0, 20));
}

/** Re-signs header and payload with an HMAC secret: a token a holder of that secret could make. */
async function hsToken(secret: string, header: Record<string, unknown>, payload: Record<string, unknown>) {
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${Buffer.from(await crypto.subtle.sign("HMAC", key, encoder.encode(input))).toString("base64url")}`;
}

describe("RFC 8037 Ed25519 vector", () => {
  test("the kid is the RFC 7638 thumbprint and the signature is the RFC's, byte for byte", async () => {
    const [key] = await ed25519RingKeys(JSON.stringify(vector.jwk));
    expect(key!.kid).toBe(vector.thumbprint);
    expect(key!.publicJwk).toEqual({ kty: "OKP", crv: "Ed25519", x: vector.jwk.x, kid: vector.thumbprint, alg: "EdDSA", use: "sig" });
    const signature = await crypto.subtle.sign("Ed25519", key!.signKey!, encoder.encode(vector.signingInput));
    expect(Buffer.from(signature).toString("base64url")).toBe(vector.signature);
    const given = Buffer.from(vector.signature, "base64url");
    expect(await crypto.subtle.verify("Ed25519", key!.verifyKey, given, encoder.encode(vector.signingInput))).toBe(true);
  });

  test("the signing key cannot be exported again", async () => {
    const [key] = await ed25519RingKeys(JSON.stringify(vector.jwk));
    expect(key!.signKey!.extractable).toBe(false);
  });
});

describe("HS256 rotation", () => {
  test("a token carries kid, iss and aud; the kid is derived from the secret and reveals none of it", async () => {
    const ring = await hsRing(NEW);
    const token = await ring.sign(claims());
    expect(decodeProtectedHeader(token)).toEqual({ alg: "HS256", typ: "JWT", kid: await hmacKid(NEW) });
    expect(ring.currentKid).toMatch(/^[A-Za-z0-9_-]{11}$/);
    expect(NEW).not.toContain(ring.currentKid);
    expect(await ring.verify(token)).toMatchObject({ sub: "42", iss: options.issuer, aud: options.audience });
  });

  test("after rotation new tokens use the new kid and tokens of the old key verify until they expire", async () => {
    const before = await hsRing(OLD);
    const oldToken = await before.sign(claims());
    const after = await hsRing(NEW, OLD);
    const newToken = await after.sign(claims());
    expect(decodeProtectedHeader(newToken).kid).toBe(await hmacKid(NEW));
    expect(decodeProtectedHeader(newToken).kid).not.toBe(decodeProtectedHeader(oldToken).kid);
    expect((await after.verify(oldToken)).sub).toBe("42");
    expect((await after.verify(newToken)).sub).toBe("42");
    // Once the old secret is dropped from the configuration its tokens are refused by kid.
    await expectRefused(await hsRing(NEW), oldToken, "ERR_JWT_HEADER_INVALID");
    const later = new KeyRing(await hmacRingKeys([NEW, OLD]), { ...options, now: () => NOW + 901_000 });
    await expectRefused(later, oldToken, "ERR_JWT_EXPIRED");
  });

  test("the JWKS of an HMAC ring publishes nothing", async () => {
    expect((await hsRing(NEW, OLD)).jwks()).toEqual({ keys: [] });
  });
});

describe("refusals, in verification order", () => {
  const good = () => ({ ...claims(), iss: options.issuer, aud: options.audience });

  test.each([
    ["an unknown kid", { kid: "AAAAAAAAAAA" }],
    ["no kid", {}],
    ["a kid that is not a string", { kid: 7 }],
    ["a kid naming an object prototype member", { kid: "__proto__" }],
  ])("%s is refused", async (_name, kidPart) => {
    const ring = await hsRing(NEW);
    await expectRefused(ring, await hsToken(NEW, { alg: "HS256", ...kidPart }, good()), "ERR_JWT_HEADER_INVALID");
  });

  test("a forged kid (the old key's kid on a token signed with another secret) fails the signature", async () => {
    const ring = await hsRing(NEW, OLD);
    const forged = await hsToken("attacker-secret-0123456789abcdefghijklmn", { alg: "HS256", kid: await hmacKid(OLD) }, good());
    await expectRefused(ring, forged, "ERR_JWT_SIGNATURE_INVALID");
  });

  test("wrong algorithms are refused before any key is touched", async () => {
    const hs = await hsRing(NEW);
    const kid = hs.currentKid;
    await expectRefused(hs, `${b64({ alg: "none", kid })}.${b64(good())}.AA`, "ERR_JWT_ALG_NOT_ALLOWED");
    await expectRefused(hs, await hsToken(NEW, { alg: "HS512", kid }, good()), "ERR_JWT_ALG_NOT_ALLOWED");
    // Algorithm confusion: an HS256 token whose HMAC key is the published Ed25519 public key.
    const ed = new KeyRing(await ed25519RingKeys(JSON.stringify(vector.jwk)), options);
    const confused = await hsToken(vector.jwk.x, { alg: "HS256", kid: vector.thumbprint }, good());
    await expectRefused(ed, confused, "ERR_JWT_ALG_NOT_ALLOWED");
  });

  test("crit headers and foreign typ values are refused", async () => {
    const ring = await hsRing(NEW);
    const kid = ring.currentKid;
    await expectRefused(ring, await hsToken(NEW, { alg: "HS256", kid, crit: ["exp"] }, good()), "ERR_JWT_HEADER_INVALID");
    await expectRefused(ring, await hsToken(NEW, { alg: "HS256", kid, typ: "at+jwt" }, good()), "ERR_JWT_HEADER_INVALID");
  });

  test("the signature is checked before any claim: an expired token with a bad signature is a bad signature", async () => {
    const ring = await hsRing(NEW);
    const token = await hsToken(OLD, { alg: "HS256", kid: ring.currentKid }, { ...good(), exp: 1 });
    await expectRefused(ring, token, "ERR_JWT_SIGNATURE_INVALID");
  });

  test.each([
    ["missing aud", { aud: undefined }, "ERR_JWT_CLAIM_INVALID"],
    ["another audience", { aud: "billing-api" }, "ERR_JWT_CLAIM_INVALID"],
    ["missing iss", { iss: undefined }, "ERR_JWT_CLAIM_INVALID"],
    ["wrong iss", { iss: "https://evil.example" }, "ERR_JWT_CLAIM_INVALID"],
    ["missing exp", { exp: undefined }, "ERR_JWT_CLAIM_INVALID"],
    ["expired", { exp: nowSeconds }, "ERR_JWT_EXPIRED"],
    ["not yet valid", { nbf: nowSeconds + 60 }, "ERR_JWT_NOT_YET_VALID"],
  ] as const)("a genuinely signed token with %s is refused", async (_name, change, code) => {
    const ring = await hsRing(NEW);
    const token = await hsToken(NEW, { alg: "HS256", kid: ring.currentKid }, { ...good(), ...change });
    await expectRefused(ring, token, code);
  });

  test("an aud array that names this service is accepted (the control for the aud refusals)", async () => {
    const ring = await hsRing(NEW);
    const token = await hsToken(NEW, { alg: "HS256", kid: ring.currentKid }, { ...good(), aud: ["billing-api", options.audience] });
    expect((await ring.verify(token)).sub).toBe("42");
  });

  test("a verify that throws is a refusal (fail closed), never a pass or a raw DOMException", async () => {
    // A key without the "verify" usage makes crypto.subtle.verify throw InvalidAccessError.
    const signOnly = await crypto.subtle.importKey("raw", encoder.encode(NEW), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    const ring = new KeyRing([{ kid: "k1", alg: "HS256", signKey: signOnly, verifyKey: signOnly }], options);
    await expectRefused(ring, await ring.sign(claims()), "ERR_JWT_SIGNATURE_INVALID");
  });

  test("malformed input is refused as malformed", async () => {
    const ring = await hsRing(NEW);
    for (const token of ["", "a.b", "a.b.c.d", "a.b!.c", "x".repeat(9000)]) await expectRefused(ring, token, "ERR_JWT_MALFORMED");
  });
});

describe("EdDSA from configuration", () => {
  test("PKCS#8 PEM keys: current signs, a retired public-only key still verifies, JWKS lists both", async () => {
    const retired = (await ed25519RingKeys(await newEd25519Pem()))[0]!;
    const retiredRing = new KeyRing([retired], options);
    const oldToken = await retiredRing.sign(claims());
    const pem = await newEd25519Pem();
    const keys = await ed25519RingKeys(pem);
    const ring = new KeyRing([...keys, { ...retired, signKey: undefined }], options);
    expect(decodeProtectedHeader(await ring.sign(claims()))).toEqual({ alg: "EdDSA", typ: "JWT", kid: keys[0]!.kid });
    expect((await ring.verify(oldToken)).sub).toBe("42");
    expect(ring.jwks().keys.map((k) => k.kid)).toEqual([keys[0]!.kid, retired.kid]);
    for (const jwk of ring.jwks().keys) expect(Object.keys(jwk).sort()).toEqual(["alg", "crv", "kid", "kty", "use", "x"]);
  });

  test("a JWKS with a named kid and a public-only retired key is read in order", async () => {
    const { x } = vector.jwk;
    const retiredX = (await ed25519RingKeys(await newEd25519Pem()))[0]!.publicJwk!.x;
    const text = JSON.stringify({ keys: [{ ...vector.jwk, kid: "2026-12" }, { kty: "OKP", crv: "Ed25519", x: retiredX }] });
    const keys = await ed25519RingKeys(text);
    expect(keys.map((k) => [k.kid, Boolean(k.signKey)])).toEqual([["2026-12", true], [expect.any(String), false]]);
    expect(keys[0]!.publicJwk!.x).toBe(x);
  });

  test.each([
    ["a JWK of another curve", JSON.stringify({ kty: "OKP", crv: "X25519", x: vector.jwk.x })],
    ["a JWK with neither d nor x", JSON.stringify({ kty: "OKP", crv: "Ed25519" })],
    ["broken JSON", `{"kty":"OKP","d":"${vector.jwk.d}"`],
    ["a PEM block that is not a key", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"],
    ["text that is no key at all", "hello"],
  ])("%s is refused with a message that quotes no key material", async (_name, text) => {
    const error = await ed25519RingKeys(text).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).not.toContain(vector.jwk.d.slice(0, 8));
  });
});

test("a private JWK whose x belongs to another key is refused (Bun's importKey does not check)", async () => {
  const otherX = (await ed25519RingKeys(await newEd25519Pem()))[0]!.publicJwk!.x;
  await expect(ed25519RingKeys(JSON.stringify({ ...vector.jwk, x: otherX }))).rejects.toThrow("x does not belong to d");
});

describe("configuration misuse", () => {
  test("JWT_SECRET lists secrets separated by commas or whitespace, current first", async () => {
    expect(parseSecretList(` ${NEW},${OLD}\n third-secret-0123456789abcdefghijklmnop `)).toEqual([NEW, OLD, "third-secret-0123456789abcdefghijklmnop"]);
    expect(() => parseSecretList(" , ")).toThrow(TypeError);
    const ring = await keyRingFromConfig({ alg: "HS256", secrets: `${NEW} ${OLD}`, issuer: "i", audience: "a" }, () => NOW);
    expect(ring.currentKid).toBe(await hmacKid(NEW));
    const ed = await keyRingFromConfig({ alg: "EdDSA", ed25519Keys: JSON.stringify(vector.jwk), issuer: "i", audience: "a" }, () => NOW);
    expect(ed.jwks().keys.map((k) => k.kid)).toEqual([vector.thumbprint]);
    await expect(keyRingFromConfig({ alg: "EdDSA", secrets: NEW, issuer: "i", audience: "a" }, () => NOW)).rejects.toThrow(TypeError);
  });

  test("a ring refuses duplicate kids, mixed algorithms, a verify-only current key and a missing audience", async () => {
    const hs = await hmacRingKeys([NEW]);
    const ed = await ed25519RingKeys(JSON.stringify(vector.jwk));
    expect(() => new KeyRing([...hs, ...hs], options)).toThrow(TypeError);
    expect(() => new KeyRing([...hs, ...ed], options)).toThrow(TypeError);
    expect(() => new KeyRing([{ ...ed[0]!, signKey: undefined }], options)).toThrow(TypeError);
    expect(() => new KeyRing(hs, { ...options, audience: "" })).toThrow(TypeError);
    await expect(hmacRingKeys(["too-short"])).rejects.toThrow(TypeError);
  });

  test("sign refuses claims that would override iss or aud", async () => {
    const ring = await hsRing(NEW);
    await expect(ring.sign({ ...claims(), aud: "other" })).rejects.toThrow(TypeError);
  });
});

describe("interop with jose", () => {
  test("jose verifies our HS256 tokens with the secret, issuer and audience", async () => {
    const token = await (await hsRing(NEW, OLD)).sign(claims());
    const { payload, protectedHeader } = await jwtVerify(token, encoder.encode(NEW), {
      algorithms: ["HS256"], issuer: options.issuer, audience: options.audience, currentDate: new Date(NOW),
    });
    expect(payload.sub).toBe("42");
    expect(protectedHeader.kid).toBe(await hmacKid(NEW));
  });

  test("jose verifies our EdDSA tokens through createLocalJWKSet on our JWKS document", async () => {
    const ring = new KeyRing(await ed25519RingKeys(await newEd25519Pem()), options);
    const jwks = createLocalJWKSet(JSON.parse(JSON.stringify(ring.jwks())));
    const { payload, protectedHeader } = await jwtVerify(await ring.sign(claims()), jwks, {
      algorithms: ["EdDSA"], issuer: options.issuer, audience: options.audience, currentDate: new Date(NOW),
    });
    expect(payload.sub).toBe("42");
    expect(protectedHeader.kid).toBe(ring.currentKid);
  });

  test("a token jose signs with a known kid is accepted; with an unknown kid it is refused", async () => {
    const ring = await hsRing(NEW);
    const joseToken = (kid: string) => new SignJWT(claims()).setProtectedHeader({ alg: "HS256", typ: "JWT", kid })
      .setIssuer(options.issuer).setAudience(options.audience).sign(encoder.encode(NEW));
    expect((await ring.verify(await joseToken(ring.currentKid))).sub).toBe("42");
    await expectRefused(ring, await joseToken("rotated-away"), "ERR_JWT_HEADER_INVALID");

    const edRing = new KeyRing(await ed25519RingKeys(await newEd25519Pem()), options);
    const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" });
    const stranger = await new SignJWT(claims()).setProtectedHeader({ alg: "EdDSA", kid: "stranger" })
      .setIssuer(options.issuer).setAudience(options.audience).sign(privateKey);
    await expectRefused(edRing, stranger, "ERR_JWT_HEADER_INVALID");
    // The same stranger key claiming our kid fails on the signature instead.
    const impostor = await new SignJWT(claims()).setProtectedHeader({ alg: "EdDSA", kid: edRing.currentKid })
      .setIssuer(options.issuer).setAudience(options.audience).sign(privateKey);
    await expectRefused(edRing, impostor, "ERR_JWT_SIGNATURE_INVALID");
  });
});
