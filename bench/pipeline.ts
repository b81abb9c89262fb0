// The service's own cost per GET /me, in process: the real route table, wiring and SQLite, called as
// Bun.serve would call it, beside a bare handler. No sockets, so on a shared machine the figure moves far less.
// Usage: bun bench/pipeline.ts [rounds=7] [requests per round=50000]   (ACCESS_LOG etc. from the environment)
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Server } from "bun";
import { resolve, routes } from "../src/app.ts";
import { loadConfig } from "../src/config.ts";
import { routeHandler } from "../src/http/pipeline.ts";
import { createLogger } from "../src/log.ts";
import { buildDeps } from "../src/wire.ts";
import { PROFILE } from "./baseline.ts";

const rounds = Number(process.argv[2] ?? 7);
const perRound = Number(process.argv[3] ?? 50_000);
const CONCURRENCY = 32;
const dir = mkdtempSync(join(tmpdir(), "bench-pipeline-"));
const config = loadConfig({
  NODE_ENV: "production",
  DATABASE_URL: `sqlite://${join(dir, "db.sqlite")}`,
  DATA_DIR: join(dir, "data"),
  STATIC_DIR: join(dir, "static"),
  JWT_SECRET: "bench-secret-0123456789abcdef0123456789abcdef",
  SMTP_URL: "smtp://127.0.0.1:9",
  RATE_LIMITS: "off",
  ...process.env,
});
// Lines are kept and dropped in batches, as the stdout sink does, but never written.
let kept: string[] = [];
const log = createLogger((line) => (kept.push(line), kept.length > 1000 && (kept = [])), undefined, config.logLevel);
const deps = await buildDeps(config, log, Date.now);
const server = { requestIP: () => ({ address: "127.0.0.1", family: "IPv4", port: 40000 }) } as unknown as Server<undefined>;
const handler = (path: string) => routeHandler(path, resolve(routes, routes[path]!), deps);
const post = (path: string, body: unknown) =>
  handler(path)(new Request(`http://127.0.0.1${path}`, { method: "POST", body: JSON.stringify(body), headers: { "Content-Type": "application/json" } }), server);

const credentials = { email: "bench@example.com", password: "bench-password-123" };
await post("/register", { name: "Bench", ...credentials });
const { access_token: token } = (await (await post("/login", credentials)).json()) as { access_token: string };
const me = handler("/me");
const bare = (_req: Request) => Response.json(PROFILE);

type Call = (req: Request) => Response | Promise<Response>;
/** Microseconds per request over `perRound` requests, CONCURRENCY at a time, bodies read as a client would. */
async function round(call: Call): Promise<number> {
  const started = performance.now();
  for (let done = 0; done < perRound; done += CONCURRENCY) {
    const batch: Promise<unknown>[] = [];
    for (let i = 0; i < CONCURRENCY; i++) {
      const req = new Request("http://127.0.0.1/me", { headers: { Authorization: `Bearer ${token}`, "User-Agent": "wrk" } });
      batch.push(Promise.resolve(call(req)).then((res) => (res.status === 200 ? res.arrayBuffer() : Promise.reject(new Error(`status ${res.status}`)))));
    }
    await Promise.all(batch);
    // A server's requests arrive from I/O, so timers (the session cache's feed) run between them.
    await new Promise((resolve) => setImmediate(resolve));
  }
  return ((performance.now() - started) * 1000) / perRound;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const bareUs: number[] = [];
const serviceUs: number[] = [];
for (let r = 0; r < rounds; r++) {
  bareUs.push(await round(bare));
  serviceUs.push(await round((req) => me(req, server)));
}
const fmt = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(" ");
console.log(`bare handler µs/request: ${fmt(bareUs)} (median ${median(bareUs).toFixed(2)})`);
console.log(`GET /me pipeline µs/request: ${fmt(serviceUs)} (median ${median(serviceUs).toFixed(2)})`);
console.log(`service cost above bare: median ${(median(serviceUs) - median(bareUs)).toFixed(2)} µs, min ${(Math.min(...serviceUs) - Math.min(...bareUs)).toFixed(2)} µs`);
const stats = deps.sessionCache?.stats;
console.log(`session cache: ${stats ? `${stats.hits} hits, ${stats.misses} misses` : "off"}`);
deps.sessionCache?.stop();
await deps.store.close();
rmSync(dir, { recursive: true, force: true });
process.exit(0);
