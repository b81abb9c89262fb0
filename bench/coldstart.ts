// Cold start: spawn the service (fresh temp dir, so a fresh database that must be migrated), poll
// GET /healthz every 2 ms, and time spawn → first 200. Each spawn goes through `taskset -c <cpus>`
// like every other server in the benchmark. This script itself runs on the load-generator core.
// Usage: bun bench/coldstart.ts <bun> <service-main.ts> <out.json> [runs=7] [server-cpus=0]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { die, freePort, median } from "./lib.ts";

const [bun, main, outPath, runsArg, cpusArg] = process.argv.slice(2);
if (!bun || !main || !outPath) die("usage: coldstart.ts <bun> <service-main.ts> <out.json> [runs] [server-cpus]");
const runs = Number(runsArg ?? 7);
const cpus = cpusArg ?? "0";
const POLL_MS = 2;
const TIMEOUT_MS = 15_000;

const times: number[] = [];
const attempts: number[] = [];
for (let i = 0; i < runs; i++) {
  const dir = mkdtempSync(join(tmpdir(), "profile-bench-cold-"));
  const port = freePort();
  const base = `http://127.0.0.1:${port}`;
  const env = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: process.env.HOME ?? dir,
    PORT: String(port),
    HOST: "127.0.0.1",
    DATABASE_URL: `sqlite://${join(dir, "app.db")}`,
    STATIC_DIR: join(dir, "static"),
    DATA_DIR: join(dir, "data"),
    JWT_SECRET: "cold-start-bench-secret-0123456789abcdef-0123456789",
  };
  const started = performance.now();
  const child = Bun.spawn(["taskset", "-c", cpus, bun, main], {
    cwd: dir,
    env,
    stdout: Bun.file(join(dir, "stdout.log")),
    stderr: Bun.file(join(dir, "stderr.log")),
  });
  let elapsed: number | undefined;
  let tries = 0;
  while (elapsed === undefined) {
    const tick = performance.now();
    tries++;
    try {
      const res = await fetch(`${base}/healthz`);
      await res.arrayBuffer();
      if (res.status === 200) elapsed = performance.now() - started;
    } catch {
      // not listening yet
    }
    if (elapsed !== undefined) break;
    if (child.exitCode !== null) die(`service exited with ${child.exitCode} during cold start ${i + 1}; see ${dir}`);
    if (performance.now() - started > TIMEOUT_MS) die(`no 200 from /healthz within ${TIMEOUT_MS} ms`);
    const wait = POLL_MS - (performance.now() - tick);
    if (wait > 0) await Bun.sleep(wait);
  }
  times.push(elapsed);
  attempts.push(tries);
  child.kill("SIGTERM");
  await child.exited;
  rmSync(dir, { recursive: true, force: true });
}

const result = {
  runs,
  poll_ms: POLL_MS,
  times_ms: times.map((t) => Math.round(t * 10) / 10),
  polls: attempts,
  median_ms: median(times),
  min_ms: Math.min(...times),
  max_ms: Math.max(...times),
};
await Bun.write(outPath, JSON.stringify(result, null, 2));
console.log(`cold start: median ${result.median_ms.toFixed(1)} ms (min ${result.min_ms.toFixed(1)}, max ${result.max_ms.toFixed(1)}) over ${runs} runs`);
