// The CSV reader behind `import`: RFC 4180 as spreadsheets and Python's csv module write it, every
// record with the line it starts on, and a malformed record reported as such instead of guessed at.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { parseCsv } from "../../src/cli/csv.ts";

describe("parseCsv: well-formed input", () => {
  test.each([
    ["plain fields, LF", "a,b\nc,d\n", [[1, ["a", "b"]], [2, ["c", "d"]]]],
    ["CRLF line ends", "a,b\r\nc,d\r\n", [[1, ["a", "b"]], [2, ["c", "d"]]]],
    ["no line break after the last record", "a,b\nc,d", [[1, ["a", "b"]], [2, ["c", "d"]]]],
    ["a UTF-8 BOM is not part of the first field", "\uFEFFemail,name\n", [[1, ["email", "name"]]]],
    ["quoted fields, with commas inside", '"a,1","b"\n', [[1, ["a,1", "b"]]]],
    ['"" inside quotes is one quote', '"say ""hi""",x\n', [[1, ['say "hi"', "x"]]]],
    ["empty fields, quoted or not, and a trailing comma", 'a,,"",\n', [[1, ["a", "", "", ""]]]],
    ["a line break inside quotes stays, and the next record starts lines later", 'a,"one\ntwo\r\nthree"\nb,c\n', [[1, ["a", "one\ntwo\r\nthree"]], [4, ["b", "c"]]]],
    ["blank lines are skipped but still counted", "a\n\n\r\nb\n", [[1, ["a"]], [4, ["b"]]]],
    ["a lone CR is data, not a line break", "a\rb,c\n", [[1, ["a\rb", "c"]]]],
    ["spaces are kept as they are", " a , b \n", [[1, [" a ", " b "]]]],
    ["unicode passes through", "zoë,🙂\n", [[1, ["zoë", "🙂"]]]],
    ["an empty file has no records", "", []],
  ] as const)("%s", (_, text, expected) => {
    expect(parseCsv(text)).toEqual(expected.map(([line, fields]) => ({ line, fields: [...fields] })));
  });

  test("what a minimal-quoting writer (Python's csv module) produces reads back, on the right lines", () => {
    const field = fc.string({ unit: fc.constantFrom("a", "é", ",", '"', "\n", "\r", " ", "🙂") });
    const rows = fc.array(fc.array(field, { minLength: 1, maxLength: 4 }), { maxLength: 6 });
    // Quoted only when it must be, and a row of one empty field as "" so it is not a blank line.
    const encode = (row: string[]) =>
      row.map((f) => (/[",\r\n]/.test(f) || (row.length === 1 && f === "") ? `"${f.replaceAll('"', '""')}"` : f)).join(",");
    fc.assert(
      fc.property(rows, fc.constantFrom("\n", "\r\n"), (rows, eol) => {
        let line = 1;
        const expected = rows.map((fields) => {
          const record = { line, fields };
          line += fields.join().split("\n").length; // one line, plus one per line break inside
          return record;
        });
        expect(parseCsv(rows.map(encode).join(eol))).toEqual(expected);
      }),
    );
  });
});

describe("parseCsv: malformed records are errors on their own line", () => {
  test("a quote inside an unquoted field; the next record is still read", () => {
    expect(parseCsv('a,b"c\nd,e\n')).toEqual([
      { line: 1, error: "a quote inside an unquoted field (quote the whole field and double the quote)" },
      { line: 2, fields: ["d", "e"] },
    ]);
  });

  test("text after a closing quote; the rest of that line is dropped, the next record is read", () => {
    expect(parseCsv('"a"b,c\nd\n')).toEqual([
      { line: 1, error: "text after the closing quote of a field" },
      { line: 2, fields: ["d"] },
    ]);
  });

  test("an unclosed quote ends the file: nothing after it can be trusted", () => {
    expect(parseCsv('a,b\nc,"d\ne,f\n')).toEqual([
      { line: 1, fields: ["a", "b"] },
      { line: 2, error: "a quoted field that starts on this line is never closed" },
    ]);
  });
});
