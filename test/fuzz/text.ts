// The field rules under property test, arbitraries of text that trips naive handling (invisibles, bidi,
// marks that cost NFC seconds, case mappings that compose), and a checker that runs one rule through parseFields.
import { expect } from "bun:test";
import fc from "fast-check";
import { HttpError } from "../../src/http/problem.ts";
import { parseFields, rules, type Rule } from "../../src/http/validate.ts";

export const RULES: Record<string, Rule<unknown>> = {
  name: rules.name,
  email: rules.email,
  bio: rules.bio,
  password: rules.password(8),
  credential: rules.credential,
  token: rules.token,
  ignored: rules.ignored,
};
export const NORMALISING = { name: rules.name, email: rules.email, bio: rules.bio };
/** Every rule that normalises what it is given, including those not in RULES' final-form tests. */
export const NORMALISES = { ...NORMALISING, loginEmail: rules.loginEmail, search: rules.search };

/** Characters that trip naive text handling: spacing, invisibles, bidi, marks, case oddities, halves of pairs. */
export const NASTY = [
  " ", "\t", "\n", "\r\n", "\u00a0", "\u2028", "\u200b", "\u200d", "\ufeff", "\u202e", "\u0000", "\u007f",
  "\u0301", "\u0331", "\u0342", "\u0345", "H", "J", "I", "\u0130", "\u0131", "\u00df", "\u1e9e", "\u212a",
  "\u2126", "\u03a9", "\u0399", "e\u0301", "\u00e9", "\ud800", "\udc00", "\ud83d\ude00", "@", ".", "-", "xn--",
  "a", "Z", "0", '"', "\\", "<", "\ue000", "\u{10ffff}",
];
export const nastyString = fc.array(fc.constantFrom(...NASTY), { maxLength: 12 }).map((parts) => parts.join(""));

/** Address-shaped text, then bent: case, surrounding space, decomposition, a nasty character spliced in. */
export const emailish = fc
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
export const LETTERS = ["a", "H", "J", "T", "W", "Y", "I", "\u0130", "\u03aa", "\u0391", "\u0397", "\u212a", "\u00c5", "\u00df"];
export const MARKS = ["", "\u0300", "\u0301", "\u0307", "\u0308", "\u030a", "\u030c", "\u0327", "\u0331", "\u0342", "\u0345"];
export const trickyAddress = fc
  .array(fc.tuple(fc.constantFrom(...LETTERS), fc.constantFrom(...MARKS)), { minLength: 1, maxLength: 6 })
  .map((pairs) => `${pairs.flat().join("")}@Example.COM`);

/**
 * Issue 14.1's payload class: long runs of non-starters, in an order canonical reordering has to
 * sort (descending combining class), which cost NFC seconds. Spliced into ordinary text, up to
 * 64 KiB, the JSON body limit.
 */
export const DESCENDING_CLASS = ["\u0345", "\u035d", "\u035c", "\u0315", "\u0301", "\u0316", "\u031b", "\u0327"];
export const markRun = fc
  .tuple(fc.oneof(fc.integer({ min: 31, max: 40 }), fc.integer({ min: 31, max: 4000 })), fc.integer({ min: 1, max: DESCENDING_CLASS.length }))
  .map(([each, kinds]) => DESCENDING_CLASS.slice(0, kinds).map((mark) => mark.repeat(Math.ceil(each / kinds))).join(""));
export const streamUnsafe = fc
  .tuple(fc.constantFrom("", "a", "\u00e1", "\u03b1", "x@example.com", "Zoë ", "  "), markRun, fc.constantFrom("", "@example.com", "b", "\u0301".repeat(30)))
  .map(([before, run, after]) => before + run + after);

export const text = fc.oneof(
  streamUnsafe,
  trickyAddress,
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 20 }),
  fc.string({ unit: "binary", minLength: 95, maxLength: 520 }), // around the length limits
  nastyString,
  emailish,
);
export const anyValue = fc.oneof(text, fc.anything());

/** Runs one rule through parseFields: its value, or the message it reported for `field`. */
export function check(rule: Rule<unknown>, value: unknown): { ok: true; value: unknown } | { ok: false; message: string } {
  try {
    return { ok: true, value: parseFields({ field: value }, { field: rule }).field };
  } catch (err) {
    if (!(err instanceof HttpError) || err.code !== "validation_failed") throw err;
    expect(err.options.errors).toEqual([{ field: "field", message: expect.any(String) }]);
    return { ok: false, message: err.options.errors![0]!.message };
  }
}

export const codePoints = (s: string) => [...s].length;
