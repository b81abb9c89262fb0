// The Authorization header's bearer token (RFC 6750 §2.1), read by hand on the hot path: it must say
// exactly what the grammar's regular expression says, for well-formed headers and for any other string.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { bearerToken } from "../../src/http/auth.ts";

// The rule as a regex, kept here as the reference: `Bearer`, one or more spaces, a token, trailing spaces.
const RULE = /^Bearer[ ]+([^\s]+)[ ]*$/i;
const byRule = (header: string) => RULE.exec(header)?.[1];

describe("bearerToken", () => {
  test.each([
    ["Bearer abc.def.ghi", "abc.def.ghi"],
    ["bearer abc", "abc"],
    ["BEARER   abc   ", "abc"],
    ["Bearer", undefined],
    ["Bearer ", undefined],
    ["Bearer    ", undefined],
    ["Bearer\tabc", undefined],
    ["Bearer a b", undefined],
    ["Bearer abc\t", undefined],
    ["Bearer abc\n", undefined],
  ])("%j → %j", (header, token) => {
    expect(bearerToken(header)).toBe(token);
    expect(byRule(header)).toBe(token);
  });

  test("agrees with the grammar on any header that names the scheme", () => {
    const piece = fc.constantFrom(" ", "  ", "\t", "\n", "a", "Z", "0", ".", "-", "_", "=", "\u00a0", "é");
    const rest = fc.array(piece, { maxLength: 12 }).map((parts) => parts.join(""));
    fc.assert(
      fc.property(fc.constantFrom("Bearer", "bearer", "BEARER", "BeArEr"), rest, (scheme, tail) => {
        expect(bearerToken(scheme + tail)).toBe(byRule(scheme + tail));
      }),
      { numRuns: 2000 },
    );
  });
});
