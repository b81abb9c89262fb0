// Where the environment and the wall clock may be read: the environment only in src/config.ts, the
// clock only through the injected Clock (epoch ms), so tests can move time and config errors appear at once.
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createLogger } from "../src/log.ts";

const SRC = join(import.meta.dir, "../src");
const files = readdirSync(SRC, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts"));
const read = (f: string) => readFileSync(join(SRC, f), "utf8");

test("only src/config.ts reads the environment", () => {
  const readers = files.filter((f) => /\bprocess\.env\b|\bBun\.env\b|\bimport\.meta\.env\b/.test(read(f)));
  expect(readers).toEqual(["config.ts"]);
});

// Each match of `pattern` in src/, as "file ×count", for the files not under one of `edges`.
const matches = (pattern: RegExp, edges: string[]) =>
  files
    .filter((f) => !edges.some((edge) => (edge.endsWith("/") ? f.startsWith(edge) : f === edge)))
    .map((f) => [f, read(f).match(new RegExp(pattern, "g"))?.length ?? 0] as const)
    .filter(([, count]) => count > 0)
    .map(([f, count]) => `${f} ×${count}`)
    .sort();

test("the wall clock is read in one place per binary: the Clock made in src/main.ts and in src/cli/index.ts", () => {
  expect(files.length).toBeGreaterThan(80);
  // log.ts: createLogger's default, for callers (tests) that give no clock; the service gives main.ts's.
  expect(matches(/\bDate\.now\b|new Date\(\s*\)/, [])).toEqual(["cli/index.ts ×1", "log.ts ×1", "main.ts ×1"].sort());
});

test("times travel as epoch ms and become Dates, ISO strings or HTTP dates only at the edges", () => {
  const edges = [
    "store/", // the database: rows.ts's stamp() in, epochMs()/iso() out
    "auth/jwt.ts", // seconds in tokens
    "http/conditional.ts", // Date, Last-Modified, If-Modified-Since
    "log.ts", // the time of a log line
    "mail/messages.ts", // a time written in a mail for people
    "storage/s3.ts", // S3's object dates, read into epoch ms
    "cli/import-row.ts", // another app's created_at, parsed into epoch ms
  ];
  expect(matches(/new Date\(|Date\.parse\(|\.toISOString\(|\.toUTCString\(|\.getTime\(/, edges)).toEqual([]);
});

test("the log takes its time from the clock it is given, and debug lines only at LOG_LEVEL=debug", () => {
  const lines: string[] = [];
  const at = Date.UTC(2030, 0, 2, 3, 4, 5);
  const debugLog = createLogger((line) => lines.push(line), undefined, "debug", () => at);
  debugLog.debug("detail", { n: 1 });
  createLogger((line) => lines.push(line), undefined, "info", () => at).debug("dropped");
  expect(lines.map((l) => JSON.parse(l))).toEqual([{ time: "2030-01-02T03:04:05.000Z", level: "debug", msg: "detail", n: 1 }]);
});
