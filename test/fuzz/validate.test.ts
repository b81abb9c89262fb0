// Properties of the field rules behind every JSON body: a rule either returns a clean value or
// reports the field, never throws anything else; what it returns is already in its final form.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { HttpError } from "../../src/http/problem.ts";
import { parseFields, rules } from "../../src/http/validate.ts";
import { runs } from "./seed.ts";
import { anyValue, check, codePoints, NORMALISING, RULES, text } from "./text.ts";

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
        expect(/\p{Cf}/u.test(name.replace(/(?<=\p{Extended_Pictographic}[\ufe0f\u{1f3fb}-\u{1f3ff}]*)\u200d(?=\p{Extended_Pictographic})/gu, ""))).toBe(false);
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
        fc.pre(value.length <= 400); // this test's own NFC of a long mark run would take seconds
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
