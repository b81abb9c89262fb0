// Revocation visibility across instances: two service processes on one database; N times, a user
// logs in, B serves their token from its cache, A logs them out, and B is polled until it refuses.
//
//   bun bench/revocation.ts [sqlite|postgres]     env: N=200 BOUND_MS=1000 POLL_MS=5 BENCH_POSTGRES_URL=…
//
// Reports p50/p99/max of the delay from A's 204 to B's first 401, and checks A's own next request is a 401.
import { SQL } from "bun";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const kind = process.argv[2] === "postgres" ? "postgres" : "sqlite";
const N = Number(process.env.N ?? 200);
const BOUND_MS = process.env.BOUND_MS ?? "1000";
const POLL_MS = Number(process.env.POLL_MS ?? 5);
const PG = process.env.BENCH_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const MAIN = resolve(import.meta.dir, "../src/main.ts");
const dir = mkdtempSync(join(tmpdir(), "bench-revocation-"));
const schema = `bench_rev_${Date.now()}`;
const admin = kind === "postgres" ? new SQL(PG, { max: 1 }) : undefined;
await admin?.unsafe(`CREATE SCHEMA ${schema}`);
const url = kind === "postgres" ? `${PG}?search_path=${schema}` : `sqlite://${join(dir, "app.db")}`;

async function start(name: string, core: number) {
  const proc = Bun.spawn(["taskset", "-c", String(core), process.execPath, MAIN], {
    cwd: mkdtempSync(join(dir, `${name}-`)),
    env: {
      PATH: process.env.PATH ?? "", PORT: "0", METRICS_PORT: "0", HOST: "127.0.0.1", DATABASE_URL: url, RATE_LIMITS: "off",
      JWT_SECRET: "bench-revocation-secret-0123456789abcdef", ARGON2_MEMORY_KIB: "1024", ARGON2_TIME_COST: "1", SESSION_CACHE_BOUND_MS: BOUND_MS,
    },
    stdout: "pipe",
    stderr: "inherit",
  });
  const reader = proc.stdout.getReader();
  let out = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`${name} did not start: ${out}`);
    out += new TextDecoder().decode(value);
    const match = /"msg":"listening","url":"http:\/\/[^:]+:(\d+)"/.exec(out);
    if (match) {
      void (async () => { while (!(await reader.read()).done); })();
      return { proc, base: `http://127.0.0.1:${match[1]}` };
    }
  }
}

const call = (base: string, method: string, path: string, init: { token?: string; json?: unknown } = {}) =>
  fetch(base + path, {
    method,
    headers: { ...(init.token ? { authorization: `Bearer ${init.token}` } : {}), ...(init.json ? { "content-type": "application/json" } : {}) },
    body: init.json ? JSON.stringify(init.json) : undefined,
  });

const a = await start("a", 0);
const b = await start("b", 1);
const delays: number[] = [];
let sameInstanceMisses = 0;
try {
  const email = `rev-${Date.now()}@example.com`;
  await call(a.base, "POST", "/register", { json: { name: "Rev", email, password: "password123" } });
  for (let i = 0; i < N; i++) {
    const login = await (await call(a.base, "POST", "/login", { json: { email, password: "password123" } })).json() as { access_token: string };
    const token = login.access_token;
    for (let k = 0; k < 2; k++) if ((await call(b.base, "GET", "/me", { token })).status !== 200) throw new Error("B refused a live token");
    if ((await call(a.base, "POST", "/logout", { token })).status !== 204) throw new Error("logout failed");
    const revoked = performance.now();
    if ((await call(a.base, "GET", "/me", { token })).status !== 401) sameInstanceMisses++;
    for (;;) {
      const status = (await call(b.base, "GET", "/me", { token })).status;
      if (status === 401) break;
      if (status !== 200) throw new Error(`B answered ${status}`);
      if (performance.now() - revoked > 10_000) throw new Error("B never refused");
      await Bun.sleep(POLL_MS);
    }
    delays.push(performance.now() - revoked);
  }
} finally {
  a.proc.kill("SIGTERM");
  b.proc.kill("SIGTERM");
  await Promise.all([a.proc.exited, b.proc.exited]);
  await admin?.unsafe(`DROP SCHEMA ${schema} CASCADE`);
  await admin?.close();
  rmSync(dir, { recursive: true, force: true });
}
delays.sort((x, y) => x - y);
const pct = (p: number) => delays[Math.min(delays.length - 1, Math.ceil((p / 100) * delays.length) - 1)]!;
const load = (await Bun.file("/proc/loadavg").text()).split(" ").slice(0, 3).join(" ");
console.log(
  `revocation visibility, ${kind}, bound ${BOUND_MS} ms, ${delays.length} revocations: p50 ${pct(50).toFixed(0)} ms, p99 ${pct(99).toFixed(0)} ms, ` +
    `max ${delays.at(-1)!.toFixed(0)} ms; same instance: ${N - sameInstanceMisses}/${N} refused on the next request; load ${load}`,
);
