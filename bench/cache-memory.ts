// The session cache's memory: RSS of a service with 1,000,000 users in its SQLite database after
// 100,000 distinct sessions each made one GET /me, for SESSION_CACHE_SIZE 0, the default and one that holds them all.
//
//   bun bench/cache-memory.ts        env: USERS=1000000 SESSIONS=100000 CONNS=32
//
// Users and sessions are inserted straight into SQLite (one password hash for all; nobody logs in),
// access tokens are signed here with the service's secret. The service runs under taskset -c 0.
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { AccessTokens } from "../src/auth/access.ts";
import { keyRingFromConfig } from "../src/auth/signing-key-config.ts";
import { openStore } from "../src/store/index.ts";

const USERS = Number(process.env.USERS ?? 1_000_000);
const SESSIONS = Number(process.env.SESSIONS ?? 100_000);
const CONNS = Number(process.env.CONNS ?? 32);
const SECRET = "bench-memory-secret-0123456789abcdef0123456789";
const MAIN = resolve(import.meta.dir, "../src/main.ts");
const dir = mkdtempSync(join(tmpdir(), "bench-cache-memory-"));
const file = join(dir, "app.db");

const seedStarted = performance.now();
(await openStore(`sqlite://${file}`, { now: Date.now })).store.close();
const db = new Database(file);
db.run("PRAGMA journal_mode = WAL");
db.run("PRAGMA synchronous = OFF");
const now = new Date().toISOString();
const hash = await Bun.password.hash("bench-password-123", { algorithm: "argon2id", memoryCost: 1024, timeCost: 1 });
db.transaction(() => {
  const insert = db.prepare("INSERT INTO users (name, email, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?)");
  for (let i = 1; i <= USERS; i++) insert.run(`User ${i}`, `user${i}@example.com`, hash, now, now);
})();
const expires = new Date(Date.now() + 86_400_000).toISOString();
const sessions: Array<{ userId: number; sessionId: string }> = [];
db.transaction(() => {
  const insert = db.prepare(
    "INSERT INTO refresh_tokens (id, family_id, user_id, user_version, secret_hash, expires_at, created_at) VALUES (?, ?, ?, 0, 'x', ?, ?)",
  );
  for (let i = 0; i < SESSIONS; i++) {
    // Spread over the million, so each session is a different user.
    const userId = 1 + Math.floor((i * USERS) / SESSIONS);
    const sessionId = crypto.randomUUID();
    insert.run(crypto.randomUUID(), sessionId, userId, expires, now);
    sessions.push({ userId, sessionId });
  }
})();
db.close();
// Signed as the service signs by default (HS256, issuer and audience profile-service).
const ring = await keyRingFromConfig({ alg: "HS256", secrets: SECRET, issuer: "profile-service", audience: "profile-service" }, Date.now);
const issuer = await AccessTokens.create(ring, 3600, Date.now);
const bearer: string[] = [];
for (const s of sessions) bearer.push((await issuer.issue({ id: s.userId, tokenVersion: 0 }, { sessionId: s.sessionId, authTime: Math.floor(Date.now() / 1000) })).token);
console.log(`seeded ${USERS} users and ${SESSIONS} sessions in ${((performance.now() - seedStarted) / 1000).toFixed(1)} s`);

const rss = async (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(await Bun.file(`/proc/${pid}/status`).text())![1]) / 1024;

async function measure(size: string): Promise<string> {
  const proc = Bun.spawn(["taskset", "-c", "0", process.execPath, MAIN], {
    cwd: mkdtempSync(join(dir, "svc-")),
    env: { PATH: process.env.PATH ?? "", PORT: "0", METRICS_PORT: "0", HOST: "127.0.0.1", DATABASE_URL: `sqlite://${file}`, JWT_SECRET: SECRET, RATE_LIMITS: "off", ACCESS_LOG: "false", SESSION_CACHE_SIZE: size },
    stdout: "pipe",
    stderr: "inherit",
  });
  const reader = proc.stdout.getReader();
  let out = "";
  let base = "";
  while (!base) {
    const { done, value } = await reader.read();
    if (done) throw new Error(out);
    out += new TextDecoder().decode(value);
    const match = /"msg":"listening","url":"http:\/\/[^:]+:(\d+)"/.exec(out);
    if (match) base = `http://127.0.0.1:${match[1]}`;
  }
  void (async () => { while (!(await reader.read()).done); })();
  try {
    await fetch(`${base}/me`, { headers: { authorization: `Bearer ${bearer[0]}` } });
    const idle = await rss(proc.pid);
    let next = 0;
    let failed = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CONNS }, async () => {
        while (next < bearer.length) {
          const res = await fetch(`${base}/me`, { headers: { authorization: `Bearer ${bearer[next++]}` } });
          if (res.status !== 200) failed++;
          await res.arrayBuffer();
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    Bun.gc(true);
    const after = await rss(proc.pid);
    return `| ${size} | ${idle.toFixed(0)} MiB | ${after.toFixed(0)} MiB | ${(bearer.length / seconds).toFixed(0)} req/s | ${failed} |`;
  } finally {
    proc.kill("SIGTERM");
    await proc.exited;
  }
}

console.log("| SESSION_CACHE_SIZE | RSS after start | RSS after 100k distinct sessions | rate of the pass | non-200 |");
console.log("|---|---|---|---|---|");
for (const size of ["0", "50000", "250000"]) console.log(await measure(size));
console.log(`load ${(await Bun.file("/proc/loadavg").text()).split(" ").slice(0, 3).join(" ")}`);
rmSync(dir, { recursive: true, force: true });
