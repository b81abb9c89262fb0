// Load: a mixed workload (register, login, me, update, upload, refresh) against the real service for
// DURATION seconds; passes only with zero errors and server RSS flat between the first and last 20 s.
//
//   taskset -c 1 bun bench/load.ts
//   env: DURATION=60 WARMUP=10 TOLERANCE=0.10 API_CLIENTS=2 AUTH_CLIENTS=2 UPLOAD_CLIENTS=1 UPLOAD_BYTES=1048576
//
// The service runs from src/main.ts under taskset -c 0 (NODE_ENV=production, JWT_SECRET, temp SQLite
// database and folders, RATE_LIMITS=off, production argon2id); this script is the load generator.
// Clients are closed loops, each with its own users, in three lanes:
//   api     GET /me 60%, PUT /me (name, bio) 25%, POST /token/refresh 15% (rotating its own pair)
//   auth    POST /register a new user, then POST /login as that user
//   upload  POST /me/upload-image, a noise JPEG of UPLOAD_BYTES
// A WARMUP phase (same load; its errors count too) comes first, so the first 20 s measure a warm
// process rather than JIT and heap growth from idle. VmRSS is read from /proc/<pid>/status every
// second. Exit 1 on any error, or if the median RSS of the last 20 s exceeds that of the first
// 20 s by more than TOLERANCE (default 10%: see bench/RESULTS.md for why).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { noiseJpeg } from "../test/fixtures/images.ts";
import { envNumber, median, MIB, percentile, procStatus } from "./lib.ts";
import { cpuMark, cpuSince, machineLine, randomSecret, startService } from "./service.ts";

const DURATION_S = envNumber("DURATION", 60);
const WARMUP_S = envNumber("WARMUP", 10);
const TOLERANCE = envNumber("TOLERANCE", 0.1);
const API_CLIENTS = envNumber("API_CLIENTS", 2);
const AUTH_CLIENTS = envNumber("AUTH_CLIENTS", 2);
const UPLOAD_CLIENTS = envNumber("UPLOAD_CLIENTS", 1);
const UPLOAD_BYTES = envNumber("UPLOAD_BYTES", MIB);
const WINDOW_S = envNumber("WINDOW", 20); // smoke runs only: the claim is about 20-s windows
if (DURATION_S < 2 * WINDOW_S) throw new Error(`DURATION must be at least ${2 * WINDOW_S} s (two ${WINDOW_S}-s windows)`);

const KINDS = ["register", "login", "me", "update", "upload", "refresh"] as const;
type Kind = (typeof KINDS)[number];
type Tally = { count: number; errors: number; latencies: number[] };
const phases = { warmup: tallies(), measured: tallies() };
let phase: keyof typeof phases = "warmup";
const errorSamples: string[] = [];
function tallies(): Record<Kind, Tally> {
  return Object.fromEntries(KINDS.map((k) => [k, { count: 0, errors: 0, latencies: [] as number[] }])) as Record<Kind, Tally>;
}

const dir = mkdtempSync(join(tmpdir(), "profile-load-"));
const image = await noiseJpeg(UPLOAD_BYTES);
const service = await startService({ dir, jwtSecret: randomSecret(), cpus: "0", logFile: join(dir, "service.log") });
const base = service.url;
let running = true;

/** One request; counts it, times it, and checks the status and the body's shape. */
async function request<T>(kind: Kind, path: string, init: RequestInit, expected: number, valid: (body: any) => boolean): Promise<T | undefined> {
  const tally = phases[phase][kind];
  const started = performance.now();
  let problem: string | undefined;
  let body: any;
  try {
    const res = await fetch(`${base}${path}`, { ...init, signal: AbortSignal.timeout(60_000) });
    const text = await res.text();
    body = text && res.headers.get("content-type")?.includes("json") ? JSON.parse(text) : undefined;
    if (res.status !== expected || !valid(body)) problem = `${kind}: ${res.status} ${text.slice(0, 200)}`;
  } catch (err) {
    problem = `${kind}: ${String(err)}`;
  }
  tally.count++;
  tally.latencies.push(performance.now() - started);
  if (problem) {
    tally.errors++;
    if (errorSamples.length < 20) errorSamples.push(`[${phase}] ${problem}`);
    return undefined;
  }
  return body as T;
}

const jsonInit = (method: string, payload: unknown, token?: string): RequestInit => ({
  method,
  headers: { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
  body: JSON.stringify(payload),
});

let emails = 0;
const stamp = Date.now().toString(36);
type Tokens = { access: string; refresh: string };

async function registerAndLogin(): Promise<Tokens | undefined> {
  const email = `load-${stamp}-${emails++}@example.com`;
  const password = `load-password-${emails}`;
  const reg = await request("register", "/register", jsonInit("POST", { name: "Load Test", email, password }), 201, (b) => typeof b?.id === "number");
  if (!reg) return undefined;
  const login = await request<{ access_token: string; refresh_token: string }>(
    "login",
    "/login",
    jsonInit("POST", { email, password }),
    200,
    (b) => typeof b?.access_token === "string" && typeof b?.refresh_token === "string",
  );
  return login && { access: login.access_token, refresh: login.refresh_token };
}

async function authClient(): Promise<void> {
  while (running) await registerAndLogin();
}

async function apiClient(): Promise<void> {
  let tokens = await registerAndLogin();
  let n = 0;
  while (running && tokens) {
    const r = Math.random();
    const auth = { Authorization: `Bearer ${tokens.access}` };
    if (r < 0.6) {
      await request("me", "/me", { headers: auth }, 200, (b) => typeof b?.id === "number");
    } else if (r < 0.85) {
      n++;
      await request("update", "/me", jsonInit("PUT", { name: `Load ${n}`, bio: `Bio number ${n}` }, tokens.access), 200, (b) => b?.user?.name === `Load ${n}`);
    } else {
      const next = await request<{ access_token: string; refresh_token: string }>(
        "refresh",
        "/token/refresh",
        jsonInit("POST", { refresh_token: tokens.refresh }),
        200,
        (b) => typeof b?.access_token === "string" && typeof b?.refresh_token === "string",
      );
      // A failed rotation leaves this client without a session: count it and start a new one.
      tokens = next ? { access: next.access_token, refresh: next.refresh_token } : await registerAndLogin();
    }
  }
}

async function uploadClient(): Promise<void> {
  const tokens = await registerAndLogin();
  while (running && tokens) {
    const form = new FormData();
    form.append("image", new Blob([image], { type: "image/jpeg" }), "photo.jpg");
    await request("upload", "/me/upload-image", { method: "POST", headers: { Authorization: `Bearer ${tokens.access}` }, body: form }, 200, (b) =>
      typeof b?.image_url === "string",
    );
  }
}

// RSS every second; t is seconds since the measured phase began (negative during the warm-up).
const samples: { t: number; rssKiB: number }[] = [];
let measuredAt = Number.POSITIVE_INFINITY;
const launchedAt = performance.now();
const sampler = setInterval(() => {
  const rss = procStatus(service.pid)?.VmRSS;
  const now = performance.now();
  const t = Number.isFinite(measuredAt) ? (now - measuredAt) / 1000 : -(WARMUP_S - (now - launchedAt) / 1000);
  if (rss) samples.push({ t: Math.round(t * 10) / 10, rssKiB: rss });
}, 1000);

console.error(`load: service pid ${service.pid} at ${base} (core 0); warm-up ${WARMUP_S} s, then ${DURATION_S} s`);
const clients = [
  ...Array.from({ length: API_CLIENTS }, apiClient),
  ...Array.from({ length: AUTH_CLIENTS }, authClient),
  ...Array.from({ length: UPLOAD_CLIENTS }, uploadClient),
];
await Bun.sleep(WARMUP_S * 1000);
phase = "measured";
measuredAt = performance.now();
const mark = cpuMark(service.pid);
await Bun.sleep(DURATION_S * 1000);
const cpu = cpuSince(mark);
const measuredSeconds = (performance.now() - measuredAt) / 1000;
running = false;
await Promise.all(clients);
clearInterval(sampler);
const final = procStatus(service.pid);
const exitCode = await service.stop();

// ---------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------
const ownCpus = readFileSync("/proc/self/status", "utf8").match(/Cpus_allowed_list:\s*(\S+)/)?.[1] ?? "?";
const mib = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;
const ms = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const inWindow = (from: number, to: number) => samples.filter((s) => s.t >= from && s.t < to).map((s) => s.rssKiB);
const first = inWindow(0, WINDOW_S);
const last = inWindow(DURATION_S - WINDOW_S, DURATION_S);
const warm = samples.filter((s) => s.t < 0).map((s) => s.rssKiB);
const firstMedian = median(first);
const lastMedian = median(last);
const growth = lastMedian / firstMedian - 1;
const errors = KINDS.reduce((n, k) => n + phases.warmup[k].errors + phases.measured[k].errors, 0);
const flat = growth <= TOLERANCE;

const rows = KINDS.map((k) => {
  const m = phases.measured[k];
  const w = phases.warmup[k];
  const lat = m.latencies;
  return `| ${k} | ${m.count} | ${(m.count / measuredSeconds).toFixed(1)} | ${m.errors} | ${lat.length ? ms(median(lat)) : "–"} | ${lat.length ? ms(percentile(lat, 99)) : "–"} | ${w.count} / ${w.errors} |`;
});
const total = KINDS.reduce((n, k) => n + phases.measured[k].count, 0);
const report = `## Load — ${DURATION_S} s mixed workload (after ${WARMUP_S} s warm-up)

${machineLine()} (at the end); server on core 0, this client on cpus ${ownCpus}.
Clients: ${API_CLIENTS} api (me 60% / update 25% / refresh 15%), ${AUTH_CLIENTS} auth (register → login), ${UPLOAD_CLIENTS} upload (${(image.byteLength / MIB).toFixed(2)} MiB noise JPEG); closed loops.

| kind | requests | per s | errors | p50 ms | p99 ms | warm-up requests / errors |
|---|---|---|---|---|---|---|
${rows.join("\n")}
| **all** | ${total} | ${(total / measuredSeconds).toFixed(1)} | ${errors} (warm-up included) | | | |

| server VmRSS | value |
|---|---|
| warm-up (${warm.length} samples) min – max | ${warm.length ? `${mib(Math.min(...warm))} – ${mib(Math.max(...warm))}` : "–"} |
| median, first ${WINDOW_S} s (${first.length} samples; min – max) | ${mib(firstMedian)} (${mib(Math.min(...first))} – ${mib(Math.max(...first))}) |
| median, last ${WINDOW_S} s (${last.length} samples; min – max) | ${mib(lastMedian)} (${mib(Math.min(...last))} – ${mib(Math.max(...last))}) |
| last ÷ first − 1 | ${(growth * 100).toFixed(1)}% (tolerance ${(TOLERANCE * 100).toFixed(0)}%) |
| VmHWM at the end | ${final?.VmHWM ? mib(final.VmHWM) : "–"} |

CPU over the measured ${measuredSeconds.toFixed(1)} s (% of one core): server ${cpu.server}%, load generator ${cpu.client}%, other processes and kernel ${cpu.other}%.
SIGTERM at the end: exit ${exitCode}.
${errorSamples.length ? `\nFirst errors:\n${errorSamples.map((e) => `- ${e}`).join("\n")}\n` : ""}
Verdict: errors ${errors === 0 ? "0 ✓" : `${errors} ✗`}; memory ${flat ? "flat ✓" : "GREW ✗"}; clean exit ${exitCode === 0 ? "✓" : "✗"}.
`;
console.log(report);

const out = join(import.meta.dir, "out");
mkdirSync(out, { recursive: true });
const file = join(out, `load-${new Date().toISOString().replace(/[:.]/g, "")}.json`);
const perKind = (t: Record<Kind, Tally>) =>
  Object.fromEntries(KINDS.map((k) => [k, { count: t[k].count, errors: t[k].errors, p50: t[k].latencies.length ? median(t[k].latencies) : null }]));
writeFileSync(file, JSON.stringify({ warmup: perKind(phases.warmup), measured: perKind(phases.measured), samples, cpu, exitCode, errorSamples }, null, 1));
console.error(`raw: ${file}`);
rmSync(dir, { recursive: true, force: true });
process.exit(errors === 0 && flat && exitCode === 0 ? 0 : 1);
