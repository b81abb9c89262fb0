// An RFC 4180 CSV reader for the import command (quotes, "" escapes, CRLF or LF, a BOM); a malformed
// record becomes an error for that record only, so one bad row never hides the rest of the file.

/** One record and the line it starts on (1-based; a quoted line break moves the next record down). */
export type CsvRecord = { line: number; fields: string[] } | { line: number; error: string };

const QUOTE = 34;
const COMMA = 44;
const LF = 10;
const CR = 13;

export function parseCsv(text: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  const end = text.length;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  const isLineBreak = (at: number) => text.charCodeAt(at) === LF || (text.charCodeAt(at) === CR && text.charCodeAt(at + 1) === LF);
  const skipLineBreak = () => {
    i += text.charCodeAt(i) === CR ? 2 : 1;
    line++;
  };

  while (i < end) {
    const start = line;
    // A line with nothing on it is not a record (RFC 4180 has none; editors leave them).
    if (isLineBreak(i)) {
      skipLineBreak();
      continue;
    }
    const fields: string[] = [];
    let error: string | undefined;
    for (;;) {
      if (text.charCodeAt(i) === QUOTE) {
        let value = "";
        let from = i + 1;
        for (;;) {
          const quote = text.indexOf('"', from);
          if (quote === -1) {
            // Everything after an unclosed quote would be inside it: nothing further can be trusted.
            records.push({ line: start, error: "a quoted field that starts on this line is never closed" });
            return records;
          }
          value += text.slice(from, quote);
          if (text.charCodeAt(quote + 1) === QUOTE) {
            value += '"';
            from = quote + 2;
            continue;
          }
          line += countLineFeeds(text, i, quote);
          i = quote + 1;
          break;
        }
        fields.push(value);
      } else {
        let j = i;
        for (; j < end; j++) {
          const c = text.charCodeAt(j);
          if (c === COMMA || isLineBreak(j)) break;
          if (c === QUOTE) error ??= "a quote inside an unquoted field (quote the whole field and double the quote)";
        }
        fields.push(text.slice(i, j));
        i = j;
      }
      if (i >= end) break;
      if (text.charCodeAt(i) === COMMA) {
        i++;
        continue;
      }
      if (isLineBreak(i)) {
        skipLineBreak();
        break;
      }
      // Only a closing quote can stop short of a comma or a line break.
      error ??= "text after the closing quote of a field";
      const next = text.indexOf("\n", i);
      if (next === -1) {
        i = end;
      } else {
        i = next + 1;
        line++;
      }
      break;
    }
    records.push(error === undefined ? { line: start, fields } : { line: start, error });
  }
  return records;
}

function countLineFeeds(text: string, from: number, to: number): number {
  let n = 0;
  for (let at = text.indexOf("\n", from); at !== -1 && at < to; at = text.indexOf("\n", at + 1)) n++;
  return n;
}
