// Reads one run of bench/run.sh (meta.txt, wrk's JSON, text files) and holds what the report shows with:
// the median, number formats, the target checks and the row type, for bench/report.ts and report-rows.ts.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

export type Wrk = {
  requests: number;
  rps: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  p999_ms: number;
  lat_max_ms: number;
  err_connect: number;
  err_read: number;
  err_write: number;
  err_timeout: number;
  non2xx: number;
};

export type Run = {
  dir: string;
  meta: Record<string, string>;
  wrk: (name: string) => Wrk;
  json: (name: string) => any;
  text: (name: string) => string | undefined;
};

export function loadRun(dir: string): Run {
  const meta: Record<string, string> = {};
  for (const line of readFileSync(join(dir, "meta.txt"), "utf8").split("\n")) {
    const at = line.indexOf(": ");
    if (at > 0) meta[line.slice(0, at)] = line.slice(at + 2);
  }
  const json = (name: string) => JSON.parse(readFileSync(join(dir, `${name}.json`), "utf8"));
  const text = (name: string) => (existsSync(join(dir, name)) ? readFileSync(join(dir, name), "utf8").trim() : undefined);
  return { dir, meta, wrk: json, json, text };
}

export const median = (values: number[]) => {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export const int = (n: number) => Math.round(n).toLocaleString("en-US");
export const ms = (n: number) => `${n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : Math.round(n)} ms`;
export const mib = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;
export const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
export const times = (x: number) => `${x.toFixed(2)}×`;

export type Check = (v: number) => string;
export const atLeast = (target: number, show: (n: number) => string): Check => (v) =>
  v >= target ? `yes (+${pct(v / target - 1)} margin)` : `**NO** — ${show(v)} vs ≥ ${show(target)}, short by ${pct(1 - v / target)}`;
export const atMost = (target: number, show: (n: number) => string): Check => (v) =>
  v <= target ? `yes (${pct(1 - v / target)} under)` : `**NO** — ${show(v)} vs ≤ ${show(target)}, over by ${pct(v / target - 1)}`;
export const below = (target: number, show: (n: number) => string): Check => (v) =>
  v < target ? `yes (${pct(1 - v / target)} under)` : `**NO** — ${show(v)} vs < ${show(target)}, over by ${pct(v / target - 1)}`;

export type Row = {
  metric: string;
  get: (r: Run) => number;
  show: (n: number) => string;
  target?: string;
  check?: Check;
  note?: (r: Run) => string;
  /** wrk runs behind the value: any non-2xx answer or socket error there marks the value ⚠. */
  sources?: string[];
};
/** "" when the wrk run was clean, else what went wrong ("3 non-2xx, 1 timeout"). */
export const wrkTrouble = (w: Wrk): string =>
  [
    [w.non2xx, "non-2xx"],
    [w.err_timeout, "timeout"],
    [w.err_connect + w.err_read + w.err_write, "socket error"],
  ]
    .filter(([n]) => (n as number) > 0)
    .map(([n, what]) => `${n} ${what}${(n as number) > 1 && what !== "non-2xx" ? "s" : ""}`)
    .join(", ");
