// Redis that stops answering without closing (packets swallowed): logins go on, counted in memory
// without waiting on Redis after the first timeout, and the counts go back to Redis within seconds
// of the heal, with both switches in the log.
import { afterAll, expect, test } from "bun:test";
import { RedisClient } from "bun";
import { startServer } from "../helpers/server.ts";
import { TcpProxy } from "../helpers/tcp-proxy.ts";

const REDIS_URL = new URL(process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379");
const proxy = await TcpProxy.start({ hostname: REDIS_URL.hostname, port: Number(REDIS_URL.port || 6379) });
const direct = new RedisClient(REDIS_URL.toString(), { connectionTimeout: 2000 });
afterAll(() => {
  proxy.stop();
  direct.close();
});

test("a black-holed Redis: limits in memory at once, back on Redis within 10 s of the heal", async () => {
  const through = new URL(REDIS_URL);
  through.port = String(proxy.port);
  const prefix = `test:${crypto.randomUUID()}:`;
  await using server = await startServer({
    RATE_LIMITS: "on",
    RATE_LIMIT_LOGIN_IP: "1000/300",
    RATE_LIMIT_LOGIN_ACCOUNT: "1000/60",
    REDIS_URL: through.toString(),
    REDIS_KEY_PREFIX: prefix,
  });
  const user = await server.client.signUp();
  // Every count this server keeps in Redis, added up, whatever the keys look like.
  const keys = async () => (await direct.send("KEYS", [`${prefix}*`])) as string[];
  const onRedis = async () => {
    let total = 0;
    for (const key of await keys()) total += Number((await direct.get(key)) ?? 0);
    return total;
  };
  const before = await onRedis();
  expect(before).toBeGreaterThan(0);

  // As a real clock would between logins a few seconds apart (the test server's clock stands still).
  const login = async () => {
    server.clock.advance(5);
    const started = performance.now();
    const reply = await server.client.login(user.email);
    return { status: reply.status, ms: performance.now() - started };
  };

  proxy.blackhole();
  const statuses = [(await login()).status];
  expect(server.logs.filter((line) => line.includes("rate limit store unavailable"))).toHaveLength(1);
  // After the first timeout no login waits on Redis.
  for (let i = 0; i < 3; i++) {
    const { status, ms } = await login();
    statuses.push(status);
    expect(ms).toBeLessThan(900);
  }
  expect(statuses.every((status) => status === 200)).toBe(true);
  expect(await onRedis()).toBe(before);

  proxy.restore();
  const healed = performance.now();
  while ((await onRedis()) === before && performance.now() - healed < 15_000) {
    expect((await login()).status).toBe(200);
    await Bun.sleep(250);
  }
  const backMs = performance.now() - healed;
  console.log(`redis black hole: login statuses during ${JSON.stringify(statuses)}, counts on Redis again ${Math.round(backMs)} ms after the heal`);
  expect(await onRedis()).toBeGreaterThan(before);
  expect(backMs).toBeLessThan(10_000);
  expect(server.logs.filter((line) => line.includes("rate limits back on Redis"))).toHaveLength(1);
  for (const key of await keys()) await direct.del(key);
}, 40_000);
