// Field rules for request bodies: each rule turns an unknown value into a clean one or says why not.
// `parseFields` runs them all and reports every bad, missing or unknown field in one 422.
import type { JsonObject } from "./body.ts";
import { validationFailed, type FieldError } from "./problem.ts";

export type Rule<T> = (value: unknown) => T;

class FieldProblem extends Error {}
const fail = (message: string): never => {
  throw new FieldProblem(message);
};

const CONTROL = /\p{Cc}/u;
// Control, format (bidi overrides, zero-width), private-use, surrogate and unassigned code points.
const INVISIBLE_OR_CONTROL = /\p{C}/u;
const CONTROL_EXCEPT_NEWLINES = /[^\P{Cc}\n\r\t]/u;
const codePoints = (s: string): number => {
  let n = 0;
  for (const _ of s) n++;
  return n;
};

// Format characters (bidi overrides, zero-width spaces, tags) make a name show as another one. A ZWJ
// between two emoji is kept: it is how 👩‍💻 and family emoji are spelt (RFC 8266 keeps such joiners).
const FORMAT = /\p{Cf}/u;
const EMOJI_ZWJ = /(\p{Extended_Pictographic}[\u{FE0F}\u{1F3FB}-\u{1F3FF}]*)\u200D(?=\p{Extended_Pictographic})/gu;
const hasFormatCharacter = (name: string): boolean => FORMAT.test(name.replace(EMOJI_ZWJ, "$1"));

// NFC sorts each run of combining marks, in time quadratic in the run: 32,000 marks took 6 s of the
// one JavaScript thread. UAX #15's stream-safe format allows 30 non-starters in a row, and every
// non-starter is a mark (\p{M}), so a longer run of marks is refused before anything is normalised.
const MARK_RUN = /\p{M}{31}/u;
// Composition turns at most 4 code points into 1 (the longest canonical decomposition), so text of
// more than 4 × max code points can never come out at max or less; refusing it first is exact.
const SHRINKS_AT_MOST = 4;

const TOO_MANY_MARKS = "must not contain more than 30 combining marks in a row";

/**
 * The checks that keep normalising cheap, before any normalising: well-formed, not longer than
 * could ever fit (`lengthMessage` is the rule's own), no run of more than 30 marks.
 */
function normalisable(raw: string, maxCodePoints: number, lengthMessage: string): void {
  if (!raw.isWellFormed()) fail("must be valid Unicode text");
  if (raw.length > 2 * SHRINKS_AT_MOST * maxCodePoints || codePoints(raw) > SHRINKS_AT_MOST * maxCodePoints) fail(lengthMessage);
  if (MARK_RUN.test(raw)) fail(TOO_MANY_MARKS);
}

/**
 * NFC of text that passed `normalisable` (so this is cheap), refused if its full decomposition has
 * a run of more than 30 marks ("á" + 30 acutes is 31 once decomposed): the stream-safe count is
 * UAX #15's, so the composed and the decomposed spelling of one text get one verdict.
 */
function nfc(text: string): string {
  const composed = text.normalize("NFC");
  if (MARK_RUN.test(composed.normalize("NFD"))) fail(TOO_MANY_MARKS);
  return composed;
}

/**
 * One spelling per address: NFC so composed and decomposed forms are one account, and NFC again
 * after lower-casing, which can decompose ("H\u0331" lowers to "h\u0331", whose NFC is "ẖ").
 * Only for text `normalisable` has passed.
 */
const canonicalEmail = (raw: string): string => nfc(raw.normalize("NFC").trim().toLowerCase());

function string(value: unknown): string {
  if (typeof value !== "string") fail("must be a string");
  return value as string;
}

export const rules = {
  name: (value: unknown): string => {
    const raw = string(value);
    normalisable(raw.trim(), 100, "must be 1 to 100 characters");
    const name = nfc(raw).trim();
    const length = codePoints(name);
    if (length < 1 || length > 100) fail("must be 1 to 100 characters");
    if (CONTROL.test(name)) fail("must not contain control characters");
    if (hasFormatCharacter(name)) fail("must not contain invisible formatting characters (bidi controls, zero-width spaces)");
    return name;
  },

  email: (value: unknown): string => {
    const raw = string(value);
    if (!raw.isWellFormed() || INVISIBLE_OR_CONTROL.test(raw.trim())) fail("must not contain control or invisible characters");
    // A valid address has at most 64 + 1 + 189 UTF-16 units, of which only the local part's 64 can
    // shrink; lower-casing never does. So the usual bound holds.
    normalisable(raw.trim(), 254, "must be at most 254 characters");
    const email = canonicalEmail(raw);
    if (email.length > 254) fail("must be at most 254 characters");
    if (!EMAIL.test(email)) fail("must be an address like name@example.com");
    return email;
  },

  bio: (value: unknown): string => {
    const raw = value === null ? "" : string(value);
    normalisable(raw, 500, "must be at most 500 characters");
    const bio = nfc(raw);
    if (codePoints(bio) > 500) fail("must be at most 500 characters");
    if (CONTROL_EXCEPT_NEWLINES.test(bio)) fail("must not contain control characters");
    return bio;
  },

  password: (minLength: number): Rule<string> => (value) => {
    const password = string(value);
    const length = codePoints(password);
    if (length < minLength || length > 256) fail(`must be ${minLength} to 256 characters`);
    return password;
  },

  /** A credential being checked, not chosen: only its shape matters, not the length policy. */
  credential: (value: unknown): string => {
    const password = string(value);
    if (password.length === 0 || password.length > 1024) fail("must be 1 to 1024 characters");
    return password;
  },

  /**
   * The email a login names, in the form accounts are stored under. Only its shape is checked (a
   * malformed address is just another failed login), but it is normalised, so it must be cheap to.
   */
  loginEmail: (value: unknown): string => {
    const raw = string(value);
    if (raw.length === 0 || raw.length > 1024) fail("must be 1 to 1024 characters");
    if (MARK_RUN.test(raw)) fail(TOO_MANY_MARKS);
    return canonicalEmail(raw);
  },

  /** An admin's search text (`GET /users?q=`): the start of a name or an address. */
  search: (value: unknown): string => {
    const raw = string(value);
    const message = "must be at most 254 characters, without control characters";
    normalisable(raw.trim(), 254, message);
    const q = nfc(raw).trim();
    if (q.length > 254 || CONTROL.test(q)) fail(message);
    return q;
  },

  token: (value: unknown): string => {
    const token = string(value);
    if (token.length === 0 || token.length > 512) fail("must be 1 to 512 characters");
    return token;
  },

  role: (value: unknown): "user" | "admin" => {
    if (value !== "user" && value !== "admin") fail('must be "user" or "admin"');
    return value as "user" | "admin";
  },

  /** Which sessions POST /logout ends (Supabase Auth's scopes). */
  logoutScope: (value: unknown): "local" | "others" | "global" => {
    if (value !== "local" && value !== "others" && value !== "global") fail('must be "local", "others" or "global"');
    return value as "local" | "others" | "global";
  },

  boolean: (value: unknown): boolean => {
    if (typeof value !== "boolean") fail("must be true or false");
    return value as boolean;
  },

  /** Accepted and ignored: fields OAuth2 password-grant clients send along. */
  ignored: (value: unknown): undefined => {
    if (value !== undefined && typeof value !== "string") fail("must be a string");
    return undefined;
  },
};

// local@domain.tld with DNS-shaped labels; the local part allows what real providers hand out.
const EMAIL = /^[^\s@"(),:;<>[\\\]]{1,64}@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$/;

type Parsed<S extends Record<string, Rule<unknown>>> = { [K in keyof S]?: ReturnType<S[K]> };

/**
 * Applies `schema` to `body`: unknown fields, missing required fields and bad values all become
 * one 422 listing each field, so a client fixes everything in one round trip.
 */
export function parseFields<S extends Record<string, Rule<unknown>>>(
  body: JsonObject,
  schema: S,
  required: readonly (keyof S & string)[] = [],
): Parsed<S> {
  const errors: FieldError[] = [];
  const out: Record<string, unknown> = {};
  for (const field of Object.keys(body)) {
    if (!Object.hasOwn(schema, field)) errors.push({ field, message: "is not an accepted field" });
  }
  for (const [field, rule] of Object.entries(schema)) {
    const value = body[field];
    if (value === undefined) {
      if (required.includes(field)) errors.push({ field, message: "is required" });
      continue;
    }
    try {
      out[field] = rule(value);
    } catch (err) {
      if (!(err instanceof FieldProblem)) throw err;
      errors.push({ field, message: err.message });
    }
  }
  if (errors.length > 0) throw validationFailed(errors);
  return out as Parsed<S>;
}

// Older clients call the display name `name`, `username` (those of /users/register) or `user`.
const NAME_ALIASES = ["username", "user"] as const;

/** Folds an older client's name field into `name`; more than one of them is ambiguous, so a 422. */
export function foldNameAliases(body: JsonObject): JsonObject {
  const given = ["name", ...NAME_ALIASES].filter((field) => body[field] !== undefined);
  if (given.length > 1) throw validationFailed([{ field: given[1]!, message: `give the name once, as one of ${given.join(", ")}` }]);
  const alias = NAME_ALIASES.find((field) => body[field] !== undefined);
  if (alias === undefined) return body;
  const { [alias]: name, ...rest } = body;
  return { ...rest, name };
}
