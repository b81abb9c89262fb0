// Properties of the field rules behind every JSON body: a rule either returns a clean value or
// reports the field, never throws anything else; what it returns is already in its final form.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { HttpError } from "../../src/http/problem.ts";
import { parseFields, rules, type Rule } from "../../src/http/validate.ts";
import { runs } from "./seed.ts";

const RULES: Record<string, Rule<unknown>> = {
  name: rules.name,
  email: rules.email,
  bio: rules.bio,
  password: rules.password(8),
  credential: rules.credential,
  token: rules.token,
  ignored: rules.ignored,
};
const NORMALISING = { name: rules.name, email: rules.email, bio: rules.bio };

/** Characters that trip naive text handling: spacing, invisibles, bidi, marks, case oddities, halves of pairs. */
const NASTY = [
  " ", "\t", "\n", "\r\n", "\u00a0", "\u2028", "\u200b", "\u200d", "\ufeff", "\u202e", "\u0000", "\u007f",
  "\u0301", "\u0331", "\u0342", "\u0345", "H", "J", "I", "\u0130", "\u0131", "\u00df", "\u1e9e", "\u212a",
  "\u2126", "\u03a9", "\u0399", "e\u0301", "\u00e9", "\ud800", "\udc00", "\ud83d\ude00", "@", ".", "-", "xn--",
  "a", "Z", "0", '"', "\\", "<", "\ue000", "\u{10ffff}",
];
const nastyString = fc.array(fc.constantFrom(...NASTY), { maxLength: 12 }).map((parts) => parts.join(""));

/** Address-shaped text, then bent: case, surrounding space, decomposition, a nasty character spliced in. */
const emailish = fc
  .tuple(fc.emailAddress(), fc.constantFrom("none", "upper", "pad", "nfd", "splice"), nastyString, fc.nat())
  .map(([email, how, extra, at]) => {
    if (how === "upper") return email.toUpperCase();
    if (how === "pad") return ` ${email}\t`;
    if (how === "nfd") return (extra + email).normalize("NFD");
    if (how === "splice") {
      const i = at % (email.length + 1);
      return email.slice(0, i) + extra + email.slice(i);
    }
    return email;
  });

/** Local parts made of letters whose case mapping and composition interact (H + U+0331, Ϊ, İ, K…). */
const LETTERS = ["a", "H", "J", "T", "W", "Y", "I", "\u0130", "\u03aa", "\u0391", "\u0397", "\u212a", "\u00c5", "\u00df"];
const MARKS = ["", "\u0300", "\u0301", "\u0307", "\u0308", "\u030a", "\u030c", "\u0327", "\u0331", "\u0342", "\u0345"];
const trickyAddress = fc
  .array(fc.tuple(fc.constantFrom(...LETTERS), fc.constantFrom(...MARKS)), { minLength: 1, maxLength: 6 })
  .map((pairs) => `${pairs.flat().join("")}@Example.COM`);

const text = fc.oneof(
  trickyAddress,
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 20 }),
  fc.string({ unit: "binary", minLength: 95, maxLength: 520 }), // around the length limits
  nastyString,
  emailish,
);
const anyValue = fc.oneof(text, fc.anything());

/** Runs one rule through parseFields: its value, or the message it reported for `field`. */
function check(rule: Rule<unknown>, value: unknown): { ok: true; value: unknown } | { ok: false; message: string } {
  try {
    return { ok: true, value: parseFields({ field: value }, { field: rule }).field };
  } catch (err) {
    if (!(err instanceof HttpError) || err.code !== "validation_failed") throw err;
    expect(err.options.errors).toEqual([{ field: "field", message: expect.any(String) }]);
    return { ok: false, message: err.options.errors![0]!.message };
  }
}

const codePoints = (s: string) => [...s].length;

describe("every rule", () => {
  test.each(Object.entries(RULES))("%s: any value is accepted or reported, never another exception", (_, rule) => {
    fc.assert(fc.property(anyValue, (value) => void check(rule, value)), runs(1500));
  });
});

describe("the text rules return values in their final form", () => {
  test.each(Object.entries(NORMALISING))("%s: applying it again changes nothing", (_, rule) => {
    fc.assert(
      fc.property(text, (value) => {
        const first = check(rule, value);
        if (first.ok) expect(check(rule, first.value)).toEqual(first);
      }),
      runs(3000),
    );
  });

  test("name: NFC, trimmed, 1 to 100 code points, no control characters", () => {
    fc.assert(
      fc.property(text, (value) => {
        const out = check(rules.name, value);
        if (!out.ok) return;
        const name = out.value as string;
        expect(name.normalize("NFC")).toBe(name);
        expect(name.trim()).toBe(name);
        expect(codePoints(name)).toBeGreaterThanOrEqual(1);
        expect(codePoints(name)).toBeLessThanOrEqual(100);
        expect(/\p{Cc}/u.test(name)).toBe(false);
      }),
      runs(3000),
    );
  });

  test("email: NFC, lower-case, trimmed, at most 254 characters, no invisibles", () => {
    fc.assert(
      fc.property(text, (value) => {
        const out = check(rules.email, value);
        if (!out.ok) return;
        const email = out.value as string;
        expect(email.normalize("NFC")).toBe(email);
        expect(email.toLowerCase()).toBe(email);
        expect(email.trim()).toBe(email);
        expect(email.length).toBeLessThanOrEqual(254);
        expect(/\p{C}/u.test(email)).toBe(false);
      }),
      runs(3000),
    );
  });

  test("email: composed and decomposed spellings of one address are one address", () => {
    fc.assert(
      fc.property(text, (value) => {
        const composed = check(rules.email, value.normalize("NFC"));
        const decomposed = check(rules.email, value.normalize("NFD"));
        expect(decomposed).toEqual(composed);
      }),
      runs(3000),
    );
  });

  test("bio: NFC, at most 500 code points, only tabs and newlines among control characters; null is empty", () => {
    expect(check(rules.bio, null)).toEqual({ ok: true, value: "" });
    fc.assert(
      fc.property(text, (value) => {
        const out = check(rules.bio, value);
        if (!out.ok) return;
        const bio = out.value as string;
        expect(bio.normalize("NFC")).toBe(bio);
        expect(codePoints(bio)).toBeLessThanOrEqual(500);
        expect(/[^\P{Cc}\t\n\r]/u.test(bio)).toBe(false);
      }),
      runs(3000),
    );
  });
});

describe("parseFields", () => {
  const SCHEMA = { name: rules.name, email: rules.email, bio: rules.bio, password: rules.password(8) };
  const REQUIRED = ["name", "email"] as const;
  const key = fc.oneof(fc.constantFrom(...Object.keys(SCHEMA), "__proto__", "constructor", "toString", ""), fc.string({ maxLength: 8 }));
  const body = fc.dictionary(key, anyValue, { maxKeys: 8 }).map((entries) => JSON.parse(JSON.stringify(entries)));

  /** What parseFields should say about `input`, worked out one field at a time. */
  function expected(input: Record<string, unknown>) {
    const bad = new Set<string>();
    const out: Record<string, unknown> = {};
    for (const field of Object.keys(input)) if (!Object.hasOwn(SCHEMA, field)) bad.add(field);
    for (const [field, rule] of Object.entries(SCHEMA)) {
      if (!Object.hasOwn(input, field)) {
        if ((REQUIRED as readonly string[]).includes(field)) bad.add(field);
        continue;
      }
      const one = check(rule, input[field]);
      if (one.ok) out[field] = one.value;
      else bad.add(field);
    }
    return { bad, out };
  }

  test("reports every unknown, missing and bad field at once, or returns each field as its rule does", () => {
    fc.assert(
      fc.property(body, (input) => {
        const want = expected(input);
        let got: Record<string, unknown>;
        try {
          got = parseFields(input, SCHEMA, [...REQUIRED]);
        } catch (err) {
          if (!(err instanceof HttpError) || err.code !== "validation_failed") throw err;
          expect(err.status).toBe(422);
          const fields = err.options.errors!.map((e) => e.field);
          expect(new Set(fields)).toEqual(want.bad);
          expect(fields).toHaveLength(want.bad.size); // each field once
          return;
        }
        expect(want.bad.size).toBe(0);
        expect(got).toEqual(want.out);
        expect(Object.getPrototypeOf(got)).toBe(Object.prototype);
      }),
      runs(2000),
    );
  });
});
