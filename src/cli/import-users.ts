// `import --file users.jsonl|users.csv`: accounts from another app with the hashes they have. Every
// row is checked before anything is written; existing emails are skipped, so it is safe to rerun.
import { readFile } from "node:fs/promises";
import { extname } from "node:path";
import { parseArgs } from "node:util";
import type { Clock } from "../core.ts";
import { ConfigError } from "../config.ts";
import type { Store } from "../store/index.ts";
import { checkRow, KNOWN_FIELDS, type ImportedUser } from "./import-row.ts";
import { ImportFileError, readRows, type Format, type SourceRow } from "./import-source.ts";

export type Rejection = { line: number; email?: string; reasons: string[] };
export type ImportReport = { file: string; imported: number; skipped: number; rejected: Rejection[] };
export type ImportPlan = { users: ImportedUser[]; rejected: Rejection[] };

type WithStore = <T>(run: (store: Store) => Promise<T>) => Promise<T>;

// Rows per INSERT: 8 parameters each stays far below SQLite's 32766 and PostgreSQL's 65535, and
// each statement is a short write transaction that a running service waits on only briefly.
const BATCH_SIZE = 500;

const EXTENSIONS: Record<string, Format> = { ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv" };

/** Checks every row, and keeps the first row of each email: later ones are rejected. */
export function planImport(rows: SourceRow[], options: { now: number; verified: boolean }): ImportPlan {
  const plan: ImportPlan = { users: [], rejected: [] };
  const firstLine = new Map<string, number>();
  for (const row of rows) {
    if ("error" in row) {
      plan.rejected.push({ line: row.line, reasons: [row.error] });
      continue;
    }
    const verdict = checkRow(row.values, options);
    const email = "user" in verdict ? verdict.user.email : verdict.email;
    const reasons = "reasons" in verdict ? verdict.reasons : [];
    if (email !== undefined) {
      // The first line with an address claims it even when it is rejected itself, so fixing that
      // line and running again imports the row the file meant, not a later copy.
      const first = firstLine.get(email);
      if (first === undefined) firstLine.set(email, row.line);
      else reasons.push(`email already appears on line ${first}`);
    }
    if ("user" in verdict && reasons.length === 0) plan.users.push(verdict.user);
    else plan.rejected.push(email === undefined ? { line: row.line, reasons } : { line: row.line, email, reasons });
  }
  return plan;
}

export async function importUsersCommand(args: string[], withStore: WithStore, usage: string, clock: Clock): Promise<number> {
  const usageError = (message: string, withUsage = true) => {
    process.stderr.write(withUsage ? `import: ${message}\n${usage}\n` : `import: ${message}\n`);
    return 2;
  };
  let values;
  try {
    ({ values } = parseArgs({ args, options: { file: { type: "string" }, format: { type: "string" }, verified: { type: "boolean", default: false } } }));
  } catch (err) {
    return usageError((err as Error).message);
  }
  const file = values.file;
  if (file === undefined) return usageError("needs --file");
  const format = values.format ?? EXTENSIONS[extname(file).toLowerCase()];
  if (format !== "jsonl" && format !== "csv") {
    return usageError(values.format === undefined ? `cannot tell the format of ${file} from its extension: give --format jsonl or csv` : `unknown --format ${values.format}: jsonl or csv`);
  }

  let rows: SourceRow[];
  try {
    // fatal: a Latin-1 export would otherwise import as mojibake instead of being refused.
    rows = readRows(new TextDecoder("utf-8", { fatal: true }).decode(await readFile(file)), format);
  } catch (err) {
    if (err instanceof ImportFileError) return usageError(`${file}: ${err.message}`, false);
    if (err instanceof TypeError) return usageError(`${file} is not UTF-8 text`, false);
    return usageError(`cannot read ${file} (${(err as { code?: string }).code ?? (err as Error).message})`, false);
  }
  const ignored = new Set(rows.flatMap((row) => ("values" in row ? Object.keys(row.values) : [])).filter((key) => !KNOWN_FIELDS.has(key)));
  if (ignored.size > 0) process.stderr.write(`import: ignoring columns this service does not keep: ${[...ignored].join(", ")}\n`);

  const now = clock();
  const plan = planImport(rows, { now, verified: values.verified });
  let imported = 0;
  try {
    if (plan.users.length > 0) {
      await withStore(async (store) => {
        for (let at = 0; at < plan.users.length; at += BATCH_SIZE) {
          imported += await store.importAccounts(plan.users.slice(at, at + BATCH_SIZE), now);
        }
      });
    }
  } catch (err) {
    if (err instanceof ConfigError) return usageError(err.message, false);
    // Batches already written stay; a rerun skips them. The message may quote a row: hide hashes.
    const message = (err instanceof Error ? err.message : String(err)).replace(/\$(2[aby]|argon2id)\$\S*/g, "[hash]");
    process.stderr.write(`import: stopped after importing ${imported} rows: ${message}\n`);
    return 1;
  }
  const report: ImportReport = { file, imported, skipped: plan.users.length - imported, rejected: plan.rejected };
  // Megabytes when many rows are rejected, more than a pipe holds: the process exits right after
  // this returns, so wait until all of it is written or the reader gets half a report.
  await new Promise<void>((resolve, reject) =>
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`, (err) => (err ? reject(err) : resolve())),
  );
  return report.rejected.length > 0 ? 1 : 0;
}
