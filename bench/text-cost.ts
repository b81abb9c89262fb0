// Issue 14.1: text that NFC takes seconds over (long runs of combining marks), sent to every route
// that takes text, against the real entry point; each answer and a /healthz sent meanwhile are timed.
// Shared by test/fuzz/hostile-text.test.ts (which asserts the bar) and `bun bench/text-cost.ts [reps]`.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client, MAIN, startProcess } from "../test/helpers/server.ts";

// Descending combining class, so canonical reordering has every pair to swap (the issue's list).
const MARKS = ["\u0345", "\u035d", "\u035c", "\u0315", "\u0301", "\u0316", "\u031b", "\u0327"];
const run = (each: number) => "a" + MARKS.map((mark) => mark.repeat(each)).join("");
/** The issue's payload: 32,000 marks, 64,000 bytes of UTF-8, just inside the 64 KiB JSON limit. */
export const LARGE = run(4000);
/** 1,000 marks: inside the 1,024-character bound of login's email and a URL's length. */
export const SMALL = run(125);

export type Case = { label: string; method: string; path: string; token?: string; json?: unknown; form?: Record<string, string> };

const ADMIN = { email: "root@text-cost.test", password: "admin-password-1" };

/** Every route that takes text, and every text field each one takes, with `text` in that field. */
function cases(text: string, user: { id: number; token: string }, admin: string): Case[] {
  const register = (field: string) => ({ name: "Ann", email: "ann@example.com", password: "password123", [field]: text });
  const out: Case[] = [];
  for (const path of ["/register", "/auth/signup", "/users/register"]) {
    out.push({ label: `${path} email`, method: "POST", path, json: register("email") });
    out.push({ label: `${path} name`, method: "POST", path, json: register("name") });
  }
  out.push({ label: "/users/register username", method: "POST", path: "/users/register", json: { username: text, email: "bo@example.com", password: "password123" } });
  for (const path of ["/login", "/auth/login", "/users/login"]) {
    out.push({ label: `${path} email`, method: "POST", path, json: { email: text, password: "password123" } });
  }
  out.push({ label: "/password/forgot email", method: "POST", path: "/password/forgot", json: { email: text } });
  out.push({ label: "/password/reset token", method: "POST", path: "/password/reset", json: { token: text, new_password: "password123" } });
  out.push({ label: "/email/verify token", method: "POST", path: "/email/verify", json: { token: text } });
  out.push({ label: "/email/verify/resend email", method: "POST", path: "/email/verify/resend", json: { email: text } });
  for (const path of ["/me", "/profile/me", "/users/me"]) {
    for (const field of ["name", "bio", "email"]) out.push({ label: `PUT ${path} ${field}`, method: "PUT", path, token: user.token, json: { [field]: text } });
  }
  for (const path of [`/users/${user.id}`, `/profile/${user.id}`]) {
    const shown = path.replace(String(user.id), ":id");
    for (const field of ["name", "bio", "email"]) out.push({ label: `admin PUT ${shown} ${field}`, method: "PUT", path, token: admin, json: { [field]: text } });
  }
  out.push({ label: "admin PUT /profile/:id user", method: "PUT", path: `/profile/${user.id}`, token: admin, json: { user: text } });
  // Percent-encoded, the large payload is 192 KB: over the 64 KiB body limit (413) and any URL's.
  if (text.length <= SMALL.length) {
    out.push({ label: "/login form username", method: "POST", path: "/login", form: { username: text, password: "password123" } });
    out.push({ label: "admin GET /users?q", method: "GET", path: `/users?q=${encodeURIComponent(text)}`, token: admin });
  }
  return out;
}

async function timed(url: string, init: RequestInit): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  const reply = await fetch(url, init);
  await reply.arrayBuffer();
  return { status: reply.status, ms: performance.now() - started };
}

function request(c: Case): RequestInit {
  const headers: Record<string, string> = {};
  if (c.token) headers.Authorization = `Bearer ${c.token}`;
  let body: string | undefined;
  if (c.json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(c.json);
  } else if (c.form !== undefined) {
    headers["Content-Type"] = "application/x-www-form-urlencoded";
    body = new URLSearchParams(c.form).toString();
  }
  return { method: c.method, headers, body };
}

export type Measured = { label: string; payload: "large" | "small"; statuses: number[]; routeMs: number[]; healthMs: number[] };

/**
 * Starts src/main.ts in a fresh directory (rate limits off, so every request reaches the rules),
 * warms every route once, then sends each case `reps` times, each with a /healthz right behind it.
 */
export async function measureTextCost(reps = 3, timeoutMs = 10_000): Promise<Measured[]> {
  const dir = mkdtempSync(join(tmpdir(), "profile-text-cost-"));
  // The admin comes from the create-admin command: ADMIN_EMAIL at start-up exits before listening
  // when it has to hash a password (the hashing threads are unref'd; reported separately).
  const env = { PATH: process.env.PATH ?? "", ARGON2_MEMORY_KIB: "1024", ARGON2_TIME_COST: "1" };
  const made = Bun.spawnSync([process.execPath, MAIN, "create-admin", "--email", ADMIN.email, "--password", ADMIN.password], { cwd: dir, env });
  if (made.exitCode !== 0) throw new Error(`create-admin failed: ${made.stderr.toString()}`);
  const service = await startProcess(dir, { RATE_LIMITS: "false" });
  try {
    const client = new Client(service.url);
    const user = await client.signUp();
    const admin = (await client.login(ADMIN.email, ADMIN.password)).body.access_token as string;
    const all = [
      ...cases(LARGE, user, admin).map((c) => ({ ...c, payload: "large" as const })),
      ...cases(SMALL, user, admin).map((c) => ({ ...c, payload: "small" as const })),
    ];
    const send = (c: Case) => timed(service.url + c.path, { ...request(c), signal: AbortSignal.timeout(timeoutMs) });
    const health = () => timed(`${service.url}/healthz`, { signal: AbortSignal.timeout(timeoutMs) });
    // Warm-up: JIT, connection pool, the rules' regular expressions.
    for (const c of all) await send(c);
    for (let i = 0; i < 20; i++) await health();

    const results: Measured[] = [];
    for (const c of all) {
      const m: Measured = { label: c.label, payload: c.payload, statuses: [], routeMs: [], healthMs: [] };
      for (let i = 0; i < reps; i++) {
        const answer = send(c);
        await Bun.sleep(1); // the payload is on the wire first, as in the issue
        const [route, healthz] = await Promise.all([answer, health()]);
        m.statuses.push(route.status);
        m.routeMs.push(route.ms);
        m.healthMs.push(healthz.ms);
      }
      results.push(m);
    }
    return results;
  } finally {
    service.proc.kill("SIGTERM");
    await service.proc.exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
export const median = (xs: number[]) => sorted(xs)[Math.floor(xs.length / 2)]!;

export function table(results: Measured[]): string {
  const f = (x: number) => x.toFixed(1).padStart(6);
  const rows = results.map((m) => {
    const r = sorted(m.routeMs);
    const h = sorted(m.healthMs);
    return `${`${m.label} (${m.payload})`.padEnd(40)} ${[...new Set(m.statuses)].join(",")}  route min/med/max ${f(r[0]!)} ${f(median(r))} ${f(r.at(-1)!)}  healthz ${f(h[0]!)} ${f(median(h))} ${f(h.at(-1)!)}`;
  });
  return rows.join("\n");
}

if (import.meta.main) {
  const results = await measureTextCost(Number(process.argv[2] ?? 5));
  console.log(table(results));
  const all = (pick: (m: Measured) => number[]) => sorted(results.flatMap(pick));
  const routes = all((m) => m.routeMs);
  const healths = all((m) => m.healthMs);
  console.log(`\n${results.length} cases; every answer: median ${median(routes).toFixed(1)} ms, max ${routes.at(-1)!.toFixed(1)} ms; /healthz meanwhile: median ${median(healths).toFixed(1)} ms, max ${healths.at(-1)!.toFixed(1)} ms`);
}
