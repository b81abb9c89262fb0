// Scale: GET /me and login latency with 1,000,000 users in the database, against the same
// measurements with 1,000 users, in one run; fails if a median grows by more than TOLERANCE (20%).
//
//   taskset -c 1 bun bench/million.ts
//   env: USERS=1000000 SMALL=1000 LOGINS=200 ME_SECONDS=10 ME_CONNS=8 TOLERANCE=0.20
//
// The service (src/main.ts, NODE_ENV=production, RATE_LIMITS=off, production argon2id) creates the
// schema on a first start; then users are bulk-inserted straight into SQLite while it is stopped,
// all with one argon2id hash made by Bun.password at the service's parameters. Each phase starts
// the service under taskset -c 0, logs in LOGINS random users one after another (after 10 unmeasured
// logins), then runs GET /me with wrk (-t1 -c ME_CONNS, core 1) round robin over those users' tokens
// for ME_SECONDS (after a 2 s warm-up). Phase 1: SMALL users. Then the rest are inserted. Phase 2: USERS.
// Needs wrk (apt-get install wrk) and taskset.
import { Database } from "bun:sqlite";
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { die, envNumber, median, percentile } from "./lib.ts";
import { cpuMark, cpuSince, databaseFile, machineLine, randomSecret, startService } from "./service.ts";

const USERS = envNumber("USERS", 1_000_000);
const SMALL = envNumber("SMALL", 1_000);
const LOGINS = envNumber("LOGINS", 200);
const ME_SECONDS = envNumber("ME_SECONDS", 10);
const ME_CONNS = envNumber("ME_CONNS", 8);
const TOLERANCE = envNumber("TOLERANCE", 0.2);
const PASSWORD = "million-password-123";
// src/auth/password.ts and src/config.ts: argon2id, ARGON2_MEMORY_KIB 19456, ARGON2_TIME_COST 2.
const HASH_PARAMS = { algorithm: "argon2id", memoryCost: 19456, timeCost: 2 } as const;
// The columns without a default (0001_init.sql). Later migrations may add columns; they must have defaults.
const INSERT_COLUMNS = ["name", "email", "password_hash", "created_at", "updated_at"];

const dir = mkdtempSync(join(tmpdir(), "profile-million-"));
const secret = randomSecret();
const logFile = join(dir, "service.log");
const email = (i: number) => `user${i}@million.example`;

const passwordHash = await Bun.password.hash(PASSWORD, HASH_PARAMS);
// The service re-hashes on login unless the parameters match its own exactly (needsRehash).
if (!/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/.test(passwordHash)) die(`unexpected hash format: ${passwordHash.slice(0, 40)}`);

// 1. The service creates the schema.
{
  const service = await startService({ dir, jwtSecret: secret, logFile });
  const code = await service.stop();
  if (code !== 0) die(`schema start: exit ${code}`);
}
{
  const db = new Database(databaseFile(dir), { readonly: true });
  const columns = db.query("PRAGMA table_info(users)").all() as { name: string; notnull: number; dflt_value: unknown; pk: number }[];
  db.close();
  const required = columns.filter((c) => c.notnull && c.dflt_value === null && !c.pk).map((c) => c.name);
  const missing = required.filter((c) => !INSERT_COLUMNS.includes(c));
  if (missing.length) die(`users has NOT NULL columns without a default that this script does not fill: ${missing.join(", ")}`);
}

/** Inserts users from..to (ids equal the index: a fresh AUTOINCREMENT table), 50,000 per transaction. */
function seed(from: number, to: number): number {
  const started = performance.now();
  const db = new Database(databaseFile(dir));
  db.run("PRAGMA synchronous = OFF"); // this connection only; the service sets its own
  const insert = db.prepare(`INSERT INTO users (${INSERT_COLUMNS.join(", ")}) VALUES (?, ?, ?, ?, ?)`);
  const now = new Date().toISOString();
  const batch = db.transaction((a: number, b: number) => {
    for (let i = a; i <= b; i++) insert.run(`User ${i}`, email(i), passwordHash, now, now);
  });
  for (let a = from; a <= to; a += 50_000) batch(a, Math.min(to, a + 49_999));
  const { n, max } = db.query("SELECT count(*) AS n, max(id) AS max FROM users").get() as { n: number; max: number };
  if (n !== to || max !== to) die(`expected ${to} users with ids 1..${to}, found ${n} (max id ${max})`);
  db.run("PRAGMA wal_checkpoint(TRUNCATE)");
  db.close();
  return (performance.now() - started) / 1000;
}

type WrkResult = { requests: number; rps: number; p50_ms: number; p99_ms: number; non2xx: number; err_connect: number; err_read: number; err_write: number; err_timeout: number };

async function wrk(base: string, tokensFile: string, seconds: number): Promise<WrkResult> {
  const proc = Bun.spawn(
    ["taskset", "-c", "1", "wrk", "-t1", `-c${ME_CONNS}`, `-d${seconds}s`, "--timeout", "10s", "--latency", "-s", join(import.meta.dir, "wrk", "tokens.lua"), `${base}/me`],
    { env: { ...process.env, WRK_TOKENS_FILE: tokensFile }, stdout: "pipe", stderr: "pipe" },
  );
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  const line = /^BENCH_JSON (.*)$/m.exec(out)?.[1];
  if (code !== 0 || !line) die(`wrk failed (${code}): ${out}${err}`);
  return JSON.parse(line) as WrkResult;
}

type Phase = {
  users: number;
  seedSeconds: number;
  dbMiB: number;
  login: { p50: number; p99: number; n: number; errors: number };
  me: { p50: number; p99: number; n: number; perSecond: number; errors: number };
  cpu: { login: ReturnType<typeof cpuSince>; me: ReturnType<typeof cpuSince> };
  exitCode: number;
};

async function measure(users: number, seedSeconds: number): Promise<Phase> {
  const service = await startService({ dir, jwtSecret: secret, cpus: "0", logFile });
  const base = service.url;
  const login = async (i: number) => {
    const res = await fetch(`${base}/login`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email: email(i), password: PASSWORD }),
    });
    const body = (await res.json()) as { access_token?: string };
    return res.status === 200 ? body.access_token : undefined;
  };
  // Distinct random users over the whole id range.
  const picked = new Set<number>();
  while (picked.size < Math.min(LOGINS, users)) picked.add(1 + Math.floor(Math.random() * users));
  for (let k = 0; k < 10; k++) await login(1 + Math.floor(Math.random() * users));

  const loginMs: number[] = [];
  const tokens: string[] = [];
  let loginErrors = 0;
  let mark = cpuMark(service.pid);
  for (const i of picked) {
    const started = performance.now();
    const token = await login(i);
    loginMs.push(performance.now() - started);
    if (token) tokens.push(token);
    else loginErrors++;
  }
  const loginCpu = cpuSince(mark);
  if (tokens.length === 0) die(`no login succeeded with ${users} users; see ${logFile}`);

  // Every token works, then GET /me with wrk (-c ME_CONNS, one thread, on core 1) round robin over them.
  let meErrors = 0;
  for (const token of tokens) {
    const res = await fetch(`${base}/me`, { headers: { Authorization: `Bearer ${token}` } });
    const body = (await res.json()) as { id?: number };
    if (res.status !== 200 || typeof body.id !== "number") meErrors++;
  }
  const tokensFile = join(dir, "tokens.txt");
  writeFileSync(tokensFile, tokens.join("\n"));
  await wrk(base, tokensFile, 2);
  mark = cpuMark(service.pid);
  const me = await wrk(base, tokensFile, ME_SECONDS);
  const meCpu = cpuSince(mark);
  meErrors += me.non2xx + me.err_connect + me.err_read + me.err_write + me.err_timeout;
  const exitCode = await service.stop();
  return {
    users,
    seedSeconds,
    dbMiB: statSync(databaseFile(dir)).size / 1048576,
    login: { p50: median(loginMs), p99: percentile(loginMs, 99), n: loginMs.length, errors: loginErrors },
    me: { p50: me.p50_ms, p99: me.p99_ms, n: me.requests, perSecond: me.rps, errors: meErrors },
    cpu: { login: loginCpu, me: meCpu },
    exitCode,
  };
}

console.error(`million: ${dir}; ${SMALL} users, then ${USERS}`);
const small = await measure(SMALL, seed(1, SMALL));
console.error(`phase 1 (${SMALL}): login p50 ${small.login.p50.toFixed(1)} ms, GET /me p50 ${small.me.p50.toFixed(3)} ms`);
const large = await measure(USERS, seed(SMALL + 1, USERS));
console.error(`phase 2 (${USERS}): login p50 ${large.login.p50.toFixed(1)} ms, GET /me p50 ${large.me.p50.toFixed(3)} ms`);

// ---------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------
const ratio = (a: number, b: number) => b / a;
const meRatio = ratio(small.me.p50, large.me.p50);
const loginRatio = ratio(small.login.p50, large.login.p50);
const within = (r: number) => r <= 1 + TOLERANCE;
const errors = small.login.errors + small.me.errors + large.login.errors + large.me.errors;
const f = (v: number, d = 2) => v.toFixed(d);
const n = (v: number) => v.toLocaleString("en-US");
const verdict = (r: number) => (within(r) ? `yes (${f((r - 1) * 100, 1)}%)` : `**NO** (+${f((r - 1) * 100, 1)}%)`);
const cpuLine = (p: Phase) =>
  `login: server ${p.cpu.login.server}%, client ${p.cpu.login.client}%, other ${p.cpu.login.other}% · GET /me: server ${p.cpu.me.server}%, client ${p.cpu.me.client}%, other ${p.cpu.me.other}%`;
const report = `## Scale — ${n(SMALL)} users vs ${n(USERS)} users (same run)

${machineLine()} (at the end); server on core 0, this client on core 1 if started under taskset -c 1.

| measurement | ${n(SMALL)} users | ${n(USERS)} users | ratio | within ${f(TOLERANCE * 100, 0)}%? |
|---|---|---|---|---|
| GET /me p50 (wrk -t1 -c${ME_CONNS} -d${ME_SECONDS}s, ${LOGINS} users' tokens) | ${f(small.me.p50, 3)} ms | ${f(large.me.p50, 3)} ms | ${f(meRatio, 3)}× | ${verdict(meRatio)} |
| GET /me p99 | ${f(small.me.p99, 3)} ms | ${f(large.me.p99, 3)} ms | ${f(ratio(small.me.p99, large.me.p99), 3)}× | (info) |
| GET /me requests, req/s | ${n(small.me.n)}, ${n(Math.round(small.me.perSecond))}/s | ${n(large.me.n)}, ${n(Math.round(large.me.perSecond))}/s | ${f(large.me.perSecond / small.me.perSecond, 3)}× | |
| POST /login p50 (${LOGINS} random users, one at a time) | ${f(small.login.p50, 1)} ms | ${f(large.login.p50, 1)} ms | ${f(loginRatio, 3)}× | ${verdict(loginRatio)} |
| POST /login p99 | ${f(small.login.p99, 1)} ms | ${f(large.login.p99, 1)} ms | ${f(ratio(small.login.p99, large.login.p99), 3)}× | (info) |
| errors (login + GET /me) | ${small.login.errors + small.me.errors} | ${large.login.errors + large.me.errors} | | |
| database file after seeding | ${f(small.dbMiB, 1)} MiB | ${f(large.dbMiB, 1)} MiB | | |
| bulk insert | ${f(small.seedSeconds, 1)} s | ${f(large.seedSeconds, 1)} s (${n(USERS - SMALL)} rows) | | |
| SIGTERM exit code | ${small.exitCode} | ${large.exitCode} | | |

CPU (% of one core) — ${n(SMALL)}: ${cpuLine(small)}; ${n(USERS)}: ${cpuLine(large)}.

Verdict: GET /me ${within(meRatio) ? "✓" : "✗"}, login ${within(loginRatio) ? "✓" : "✗"}, errors ${errors === 0 ? "0 ✓" : `${errors} ✗`}.
`;
console.log(report);
const out = join(import.meta.dir, "out");
mkdirSync(out, { recursive: true });
const file = join(out, `million-${new Date().toISOString().replace(/[:.]/g, "")}.json`);
writeFileSync(file, JSON.stringify({ small, large }, null, 1));
console.error(`raw: ${file}`);
rmSync(dir, { recursive: true, force: true });
process.exit(within(meRatio) && within(loginRatio) && errors === 0 && small.exitCode === 0 && large.exitCode === 0 ? 0 : 1);
