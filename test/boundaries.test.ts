// Where the environment and the wall clock may be read: the environment only in src/config.ts, the
// clock only through the injected Clock, so tests can move time and config errors appear at once.
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

test("the domain modules, the log, metrics and the entry point never read the wall clock themselves", () => {
  const mine = files.filter((f) => /^(images|ratelimit|storage|mail|util|metrics)\//.test(f) || ["log.ts", "main.ts", "startup.ts", "config.ts", "config-reader.ts"].includes(f));
  expect(mine.length).toBeGreaterThan(20);
  const offenders = mine.filter((f) => /\bDate\.now\(\)|new Date\(\)/.test(read(f)));
  expect(offenders).toEqual([]);
});

test("the log takes its time from the clock it is given, and debug lines only at LOG_LEVEL=debug", () => {
  const lines: string[] = [];
  const at = Date.UTC(2030, 0, 2, 3, 4, 5);
  const debugLog = createLogger((line) => lines.push(line), undefined, "debug", () => at);
  debugLog.debug("detail", { n: 1 });
  createLogger((line) => lines.push(line), undefined, "info", () => at).debug("dropped");
  expect(lines.map((l) => JSON.parse(l))).toEqual([{ time: "2030-01-02T03:04:05.000Z", level: "debug", msg: "detail", n: 1 }]);
});
