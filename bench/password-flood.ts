// Password guessing against the real service in production mode (argon2id 19 MiB, t=2, limits on):
// another user's login latency during a flood of wrong current_passwords, and where 429 begins.
// Usage: bun bench/password-flood.ts   (env: FLOOD, default 400). Clients say their address in X-Forwarded-For.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { envNumber, median } from "./lib.ts";
import { machineLine, startService } from "./service.ts";

const flood = envNumber("FLOOD", 400);
const dir = mkdtempSync(join(tmpdir(), "profile-flood-"));
const service = await startService({ dir, jwtSecret: "bench-secret-0123456789abcdef-0123456789abcdef", env: { RATE_LIMITS: "on", TRUST_PROXY: "1" } });

async function send(method: string, path: string, ip: string, body: unknown, token?: string) {
  const headers: Record<string, string> = { "Content-Type": "application/json", "X-Forwarded-For": ip };
  if (token) headers.Authorization = `Bearer ${token}`;
  const started = performance.now();
  const res = await fetch(service.url + path, { method, headers, body: JSON.stringify(body) });
  const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  return { status: res.status, ms: performance.now() - started, json };
}

let next = 0;
async function account(password = "correct horse battery") {
  const email = `flood${++next}.${Date.now()}@example.com`;
  const ip = `172.16.${next}.1`;
  await send("POST", "/register", ip, { name: "Flood", email, password });
  const login = await send("POST", "/login", ip, { email, password });
  return { email, password, token: login.json.access_token as string };
}
const wrongLogin = (email: string, ip: string) => send("POST", "/login", ip, { email, password: "wrong-password" });
const first429 = (statuses: number[]) => statuses.indexOf(429) + 1;
const tally = (statuses: number[]) =>
  Object.entries(statuses.reduce<Record<number, number>>((n, s) => ({ ...n, [s]: (n[s] ?? 0) + 1 }), {}))
    .map(([s, n]) => `${n}×${s}`)
    .join(", ");

try {
  console.log(`machine: ${machineLine()}`);
  const attacker = await account();
  const victim = await account();
  const quiet: number[] = [];
  for (let i = 0; i < 5; i++) quiet.push((await send("POST", "/login", `10.8.0.${i}`, { email: victim.email, password: victim.password })).ms);

  const guesses = Promise.all(
    Array.from({ length: flood }, () => send("PUT", "/me", "10.6.6.6", { password: "a-new-password", current_password: "wrong-password" }, attacker.token)),
  );
  await Bun.sleep(50);
  const during = await send("POST", "/login", "10.1.1.1", { email: victim.email, password: victim.password });
  const floodStatuses = (await guesses).map((r) => r.status);
  console.log(`victim login alone: median ${median(quiet).toFixed(0)} ms`);
  console.log(`victim login during ${flood} parallel wrong current_passwords: ${during.status} in ${during.ms.toFixed(0)} ms; flood: ${tally(floodStatuses)}`);

  const target = await account();
  const slash64: number[] = [];
  for (let i = 1; i <= 40; i++) slash64.push((await wrongLogin(target.email, `2001:db8:1:2::${i.toString(16)}`)).status);
  console.log(`40 wrong logins from one /64: first 429 at attempt ${first429(slash64)} (${tally(slash64)})`);

  const other = await account();
  const spread: number[] = [];
  for (let i = 1; i <= 40; i++) spread.push((await wrongLogin(other.email, `198.51.${i}.10`)).status);
  console.log(`40 wrong logins from 40 unrelated addresses: first 429 at attempt ${first429(spread)} (${tally(spread)})`);
  for (const [name, user] of [["/64", target], ["unrelated", other]] as const) {
    const owner = await send("POST", "/login", "203.0.113.5", { email: user.email, password: user.password });
    console.log(`owner after the ${name} case, right password, fresh address: ${owner.status} in ${owner.ms.toFixed(0)} ms`);
  }
} finally {
  await service.stop();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
