// PostgreSQL going away under a running service, closing its connections or silently (a network that swallows
// packets, a lock on `users`): 503 with Retry-After in bounded time, /readyz tells the truth, service again after.
import { afterAll, expect, test } from "bun:test";
import { SQL } from "bun";
import { POSTGRES_URL } from "../helpers/database.ts";
import { expectProblem, startServer, type Reply, type TestServer } from "../helpers/server.ts";
import { TcpProxy } from "../helpers/tcp-proxy.ts";

const upstream = new URL(POSTGRES_URL);
const proxy = await TcpProxy.start({ hostname: upstream.hostname, port: Number(upstream.port || 5432) });
afterAll(() => proxy.stop());

const TIMEOUT_MS = 1500;

/** A request that must be answered: an empty reply (the connection closed on us) fails the test. */
async function timed(server: TestServer, path: string, token?: string): Promise<{ res: Reply; ms: number }> {
  const started = performance.now();
  const res = await server.client.send("GET", path, token === undefined ? {} : { token });
  return { res, ms: performance.now() - started };
}

test("a black-holed PostgreSQL: 503 with Retry-After in bounded time, and service again within seconds of the heal", async () => {
  const through = new URL(POSTGRES_URL);
  through.port = String(proxy.port);
  const boundMs = 500;
  await using server = await startServer(
    { DATABASE_TIMEOUT_MS: String(TIMEOUT_MS), SESSION_CACHE_BOUND_MS: String(boundMs) },
    { database: "postgres", postgresUrl: through.toString() },
  );
  const user = await server.client.signUp();
  expect((await timed(server, "/me", user.token)).res.status).toBe(200);

  proxy.blackhole();
  // The session cache may answer from memory for up to its bound; past it, every request reads the database.
  await Bun.sleep(boundMs + 100);
  const during: number[] = [];
  for (let i = 0; i < 3; i++) {
    const { res, ms } = await timed(server, "/me", user.token);
    during.push(res.status);
    expectProblem(res, 503, "service_unavailable");
    expect(res.headers.get("retry-after")).not.toBeNull();
    // The timeout plus its 1 s grace, with room for a loaded machine; far below Bun's 10 s cut.
    expect(ms).toBeLessThan(TIMEOUT_MS + 1000 + 3000);
  }
  const ready = await timed(server, "/readyz");
  expectProblem(ready.res, 503, "service_unavailable");

  proxy.restore();
  const healed = performance.now();
  let status = 0;
  while (status !== 200 && performance.now() - healed < 15_000) {
    status = (await timed(server, "/me", user.token)).res.status;
    if (status !== 200) {
      expect(status).toBe(503);
      await Bun.sleep(100);
    }
  }
  const recoveredMs = performance.now() - healed;
  console.log(`postgres black hole: statuses during ${JSON.stringify(during)}, first 200 ${Math.round(recoveredMs)} ms after the heal`);
  expect(status).toBe(200);
  expect(recoveredMs).toBeLessThan(10_000);
  expect((await timed(server, "/readyz")).res.status).toBe(200);
  expect(server.logs.some((line) => line.includes("database connections replaced"))).toBe(true);
}, 60_000);

test("a lock held on users: 503 with Retry-After, /readyz 503, and 200 again once it is released", async () => {
  await using server = await startServer({ DATABASE_TIMEOUT_MS: String(TIMEOUT_MS) }, { database: "postgres" });
  const user = await server.client.signUp();
  const locker = new SQL(server.deps.config.databaseUrl, { max: 1 });
  try {
    const reserved = await locker.reserve();
    await reserved`BEGIN`;
    await reserved`LOCK TABLE users IN ACCESS EXCLUSIVE MODE`;
    const { res, ms } = await timed(server, "/me", user.token);
    expectProblem(res, 503, "service_unavailable");
    expect(res.headers.get("retry-after")).not.toBeNull();
    expect(ms).toBeLessThan(TIMEOUT_MS + 1000 + 3000);
    expectProblem((await timed(server, "/readyz")).res, 503, "service_unavailable");
    await reserved`ROLLBACK`;
    reserved.release();
    expect((await timed(server, "/me", user.token)).res.status).toBe(200);
    expect((await timed(server, "/readyz")).res.status).toBe(200);
    // statement_timeout answered, not our deadline: the pool was kept.
    expect(server.logs.some((line) => line.includes("database connections replaced"))).toBe(false);
  } finally {
    await locker.close();
  }
}, 30_000);

test("503 while PostgreSQL is unreachable, 200 again once it returns", async () => {
  const through = new URL(POSTGRES_URL);
  through.port = String(proxy.port);
  await using server = await startServer({}, { database: "postgres", postgresUrl: through.toString() });
  const user = await server.client.signUp();
  expect((await server.client.send("GET", "/readyz")).status).toBe(200);

  proxy.cut();
  const ready = expectProblem(await server.client.send("GET", "/readyz"), 503, "service_unavailable");
  expect(ready.checks.database).toBe("unavailable");
  const me = await server.client.send("GET", "/me", { token: user.token });
  expectProblem(me, 503, "service_unavailable");
  expect(me.headers.get("retry-after")).not.toBeNull();
  expectProblem(await server.client.login(user.email), 503, "service_unavailable");
  // Counted where an operator looks: GET /me and the login each met the outage.
  const metrics = await (await fetch(server.metricsUrl!)).text();
  expect(Number(/^database_errors_total\{kind="unavailable"\} (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(2);

  proxy.restore();
  let status = 0;
  for (let i = 0; i < 50 && status !== 200; i++) {
    status = (await server.client.send("GET", "/readyz")).status;
    if (status !== 200) await Bun.sleep(100);
  }
  expect(status).toBe(200);
  expect((await server.client.send("GET", "/me", { token: user.token })).status).toBe(200);
  expect((await server.client.login(user.email)).status).toBe(200);
}, 30_000);
