// Reads an import file (JSON Lines, or CSV with a header row) into rows of named values with their
// line numbers; an unreadable row is kept as an error for the report, an unusable file throws.
import { parseCsv } from "./csv.ts";
import { HASH_FIELDS, NAME_FIELDS } from "./import-row.ts";

export type Format = "jsonl" | "csv";

export type SourceRow = { line: number; values: Record<string, unknown> } | { line: number; error: string };

/** The whole file is unusable: the command stops before importing anything (exit code 2). */
export class ImportFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ImportFileError";
  }
}

export function readRows(text: string, format: Format): SourceRow[] {
  return format === "csv" ? readCsv(text) : readJsonLines(text);
}

function readJsonLines(text: string): SourceRow[] {
  const rows: SourceRow[] = [];
  const lines = text.replace(/^\uFEFF/, "").split("\n");
  for (const [index, raw] of lines.entries()) {
    const line = index + 1;
    if (raw.trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      // Not the parser's message: it quotes the line, which may hold a password hash.
      rows.push({ line, error: "line is not valid JSON" });
      continue;
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) rows.push({ line, error: "line is not a JSON object" });
    else rows.push({ line, values: value as Record<string, unknown> });
  }
  return rows;
}

function readCsv(text: string): SourceRow[] {
  const [header, ...records] = parseCsv(text);
  if (header === undefined) throw new ImportFileError("the file is empty: a CSV import starts with a header row");
  if ("error" in header) throw new ImportFileError(`the header row (line ${header.line}) is malformed: ${header.error}`);
  // Spreadsheets capitalise and pad column names; "Email " is the email column.
  const columns = header.fields.map((name) => name.trim().toLowerCase());
  const repeated = columns.find((name, i) => columns.indexOf(name) !== i);
  if (repeated !== undefined) throw new ImportFileError(`the header names the column "${repeated}" twice`);
  for (const required of [["email"], NAME_FIELDS, HASH_FIELDS]) {
    if (!required.some((name) => columns.includes(name))) {
      throw new ImportFileError(`the header has no ${required.join(" or ")} column`);
    }
  }
  return records.map((record): SourceRow => {
    if ("error" in record) return { line: record.line, error: `row is not well-formed CSV: ${record.error}` };
    if (record.fields.length !== columns.length) {
      return { line: record.line, error: `row has ${record.fields.length} fields where the header has ${columns.length}` };
    }
    return { line: record.line, values: Object.fromEntries(columns.map((name, i) => [name, record.fields[i]])) };
  });
}
