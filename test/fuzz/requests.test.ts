// Thousands of mutated requests against a running server, built from the app's own route table:
// none may get a 5xx, every 4xx with a body is problem+json, and every request is answered in time.
// FUZZ_REQUESTS sets how many per database (default 2000), FUZZ_SEED which ones; both are printed.
import { expect, test } from "bun:test";
import { routes } from "../../src/app.ts";
import { gif, HTML, jpeg, NOT_AN_IMAGE, png, pngClaiming, polyglot, SVG, truncated, webp } from "../fixtures/images.ts";
import { startServer } from "../helpers/server.ts";
import { plan, SLOT, targets } from "./plans.ts";
import { rawPlan } from "./raw-http.ts";
import { Rng, SEED } from "./seed.ts";
import { LiveTarget, preview, type Result } from "./target.ts";

const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 2000);
const RAW_SHARE = 0.1; // of requests sent over a bare socket, for what fetch will not send
const IN_FLIGHT = 4; // concurrent requests: enough to race one session against itself
const MAX_FAILURES = 20;

// CORS, a trusted proxy and the limiter on, so their code paths see the fuzz too; the limits are
// high enough that most requests reach their handlers, except failed logins per account.
const ENV = {
  CORS_ORIGINS: "http://allowed.test",
  TRUST_PROXY: "1",
  RATE_LIMITS: "on",
  RATE_LIMIT_REGISTER_IP: "100000/60",
  RATE_LIMIT_LOGIN_IP: "100000/60",
  RATE_LIMIT_REFRESH_IP: "100000/60",
  RATE_LIMIT_LOGIN_ACCOUNT: "2/60",
  // One account sends all the fuzz: as many uploads may be in flight as requests are (a 503 would be a failure).
  UPLOADS_PER_USER: String(IN_FLIGHT),
};

async function images(): Promise<Record<string, Uint8Array>> {
  const small = png(12, 9);
  return {
    png: small,
    jpeg: await jpeg(16, 12, { orientation: 6, comment: "c" }),
    webp: await webp(10, 10),
    gif: gif(8, 8, 2),
    "truncated png": truncated(small),
    "pixel bomb": pngClaiming(60_000, 60_000),
    polyglot: await polyglot(),
    svg: SVG,
    html: HTML,
    noise: NOT_AN_IMAGE,
    empty: new Uint8Array(0),
  };
}

const tally = (counts: Map<number, number>, status: number) => counts.set(status, (counts.get(status) ?? 0) + 1);
const summary = (counts: Map<number, number>) => [...counts].sort(([a], [b]) => a - b).map(([s, n]) => `${s}:${n}`).join(" ");

// PostgreSQL has its own ways to fail (locks, what text may hold), so both dialects are fuzzed.
test.each(["sqlite", "postgres"] as const)(`%s: ${REQUESTS} mutated requests → no 5xx, problem+json 4xx, no hang (seed ${SEED})`, async (database) => {
  await using server = await startServer(ENV, { database });
  const live = await LiveTarget.start(server);
  const rng = new Rng(SEED);
  const fixtures = await images();
  const all = targets(routes);
  const failures: string[] = [];
  const statuses = new Map<number, number>();
  const byTarget = new Map<string, Map<number, number>>();
  let next = 0;

  async function worker() {
    while (next < REQUESTS && failures.length < MAX_FAILURES) {
      const index = next++;
      // Drawn synchronously in index order: request N is the same for a seed however replies interleave.
      const target = rng.pick(all);
      const p = plan(rng, target, fixtures);
      const raw = rng.chance(RAW_SHARE) ? rawPlan(rng, target.method, p.path.replaceAll("#", ""), `{"email":"${SLOT.email}","password":"password123"}`) : undefined;
      await live.ready();
      const started = performance.now();
      const result: Result = raw ? await live.sendRaw(p.target, raw) : await live.send(p);
      tally(statuses, result.status);
      tally(byTarget.get(p.target) ?? byTarget.set(p.target, new Map()).get(p.target)!, result.status);
      if (result.failure) {
        const what = raw
          ? `raw ${p.target} [${raw.notes.join("; ")}] ${preview(live.fill(raw.bytes), 300)}`
          : `${p.method} ${preview(live.fill(p.path), 120)} [${p.notes.join("; ")}] headers ${preview(JSON.stringify(p.headers), 300)} body ${preview(p.body)}`;
        failures.push(`#${index} (seed ${SEED}) after ${Math.round(performance.now() - started)} ms: ${result.failure}\n    ${what}`);
      }
      if (index % 50 === 49) await live.checkSession();
    }
  }
  const started = performance.now();
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  console.log(`request fuzzer (${database}, seed ${SEED}): ${next} requests in ${Math.round(performance.now() - started)} ms; statuses ${summary(statuses)}`);
  console.log("  (-1 refused by fetch itself, -2 closed without a reply, -3 silent after a request cut short)");
  for (const [target, counts] of byTarget) console.log(`  ${target.padEnd(28)} ${summary(counts)}`);

  const errorLogs = server.logs.filter((line) => JSON.parse(line).level === "error");
  if (failures.length > 0) {
    throw new Error(`${failures.length} failed requests (seed ${SEED}, stops at ${MAX_FAILURES}):\n${failures.join("\n")}\nserver errors:\n${errorLogs.slice(0, 5).join("")}`);
  }
  expect(errorLogs.slice(0, 5)).toEqual([]);
  expect((await server.client.send("GET", "/healthz")).status).toBe(200);
  expect(statuses.get(-1) ?? 0).toBeLessThan(REQUESTS * 0.02);
}, 120_000);
