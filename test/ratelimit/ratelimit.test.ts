// Rate limits, counted in memory and in Redis (the machine's real Redis on 127.0.0.1): the same suite for both
// stores, the limits as clients meet them through HTTP, and how addresses become the networks they count.
import { describe, expect, test } from "bun:test";
import { MemoryCounters, RedisCounters, type Counters } from "../../src/ratelimit/counters.ts";
import { createLogger } from "../../src/log.ts";
import { ConfigError, loadConfig } from "../../src/config.ts";
import { networkOf } from "../../src/ratelimit/limiter.ts";
import { expectProblem, startServer, uniqueEmail, type TestServer } from "../helpers/server.ts";

const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const quietLog = createLogger(() => {});
const prefix = () => `test:${crypto.randomUUID()}:`;

async function redisCounters(): Promise<Counters> {
  const counters = new RedisCounters(REDIS_URL, quietLog, prefix());
  // A Redis that does not answer must fail this suite, not quietly test the memory fallback.
  const probe = new Bun.RedisClient(REDIS_URL, { connectionTimeout: 2000 });
  try {
    expect(await probe.send("PING", [])).toBe("PONG");
  } finally {
    probe.close();
  }
  return counters;
}

describe.each([["memory", async () => new MemoryCounters()], ["Redis", redisCounters]] as const)("%s counters", (_name, make) => {
  test("count within a window and report the time left", async () => {
    const counters = await make();
    const now = Date.now();
    expect((await counters.add("k", 60_000, 1, now)).count).toBe(1);
    expect((await counters.add("k", 60_000, 1, now)).count).toBe(2);
    const looked = await counters.add("k", 60_000, 0, now);
    expect(looked.count).toBe(2);
    expect(looked.resetMs).toBeGreaterThan(55_000);
    expect(looked.resetMs).toBeLessThanOrEqual(60_000);
    expect((await counters.add("other", 60_000, 0, now)).count).toBe(0);
    counters.close();
  });

  test("a new window starts from zero", async () => {
    const counters = await make();
    const start = Date.now();
    await counters.add("w", 200, 1, start);
    await Bun.sleep(250);
    expect((await counters.add("w", 200, 1, start + 250)).count).toBe(1);
    counters.close();
  });

  test("concurrent adds are never lost", async () => {
    const counters = await make();
    const now = Date.now();
    await Promise.all(Array.from({ length: 50 }, () => counters.add("c", 60_000, 1, now)));
    expect((await counters.add("c", 60_000, 0, now)).count).toBe(50);
    counters.close();
  });
});

const limited = (env: Record<string, string> = {}) =>
  startServer({ RATE_LIMITS: "on", RATE_LIMIT_LOGIN_ACCOUNT: "3/60", RATE_LIMIT_LOGIN_IP: "100/60", ...env });

async function expectLimited(reply: Awaited<ReturnType<TestServer["client"]["login"]>>) {
  expectProblem(reply, 429, "rate_limited");
  expect(Number(reply.headers.get("retry-after"))).toBeGreaterThan(0);
  expect(reply.headers.get("ratelimit")).toMatch(/^limit=\d+, remaining=0, reset=\d+$/);
  expect(reply.headers.get("ratelimit-policy")).toMatch(/^\d+;w=\d+$/);
}

describe("through HTTP", () => {
  test("failed logins for one account: the 4th attempt is 429, even with the right password", async () => {
    await using server = await limited();
    const user = await server.client.signUp();
    for (let i = 0; i < 3; i++) expectProblem(await server.client.login(user.email, "wrong-password"), 401, "invalid_credentials");
    await expectLimited(await server.client.login(user.email, user.password));
  });

  test("successful logins do not count against the account", async () => {
    await using server = await limited();
    const user = await server.client.signUp();
    for (let i = 0; i < 6; i++) expect((await server.client.login(user.email)).status).toBe(200);
    for (let i = 0; i < 3; i++) expectProblem(await server.client.login(user.email, "wrong-password"), 401, "invalid_credentials");
  });

  test("the per-IP login limit covers every email", async () => {
    await using server = await limited({ RATE_LIMIT_LOGIN_IP: "4/60" });
    for (let i = 0; i < 4; i++) expectProblem(await server.client.login(uniqueEmail("spray"), "password123"), 401, "invalid_credentials");
    await expectLimited(await server.client.login(uniqueEmail("spray"), "password123"));
  });

  test("registrations and refreshes are limited per IP", async () => {
    await using server = await limited({ RATE_LIMIT_REGISTER_IP: "2/60", RATE_LIMIT_REFRESH_IP: "1/60" });
    const user = await server.client.signUp();
    expect((await server.client.register()).status).toBe(201);
    await expectLimited(await server.client.register());
    expect((await server.client.send("POST", "/token/refresh", { json: { refresh_token: user.refresh } })).status).toBe(200);
    await expectLimited(await server.client.send("POST", "/token/refresh", { json: { refresh_token: user.refresh } }));
  });

  test("X-Forwarded-For is ignored unless TRUST_PROXY says how many proxies to trust", async () => {
    const spoofed = (ip: string) => ({ headers: { "X-Forwarded-For": ip } });
    await using direct = await limited({ RATE_LIMIT_LOGIN_IP: "2/60" });
    for (const ip of ["1.1.1.1", "2.2.2.2"]) await direct.client.send("POST", "/login", { json: { email: "a@b.co", password: "x" }, ...spoofed(ip) });
    expectProblem(await direct.client.send("POST", "/login", { json: { email: "a@b.co", password: "x" }, ...spoofed("3.3.3.3") }), 429, "rate_limited");

    await using proxied = await limited({ RATE_LIMIT_LOGIN_IP: "2/60", TRUST_PROXY: "1" });
    for (const ip of ["1.1.1.1", "2.2.2.2", "3.3.3.3"]) {
      expectProblem(await proxied.client.send("POST", "/login", { json: { email: "a@b.co", password: "x" }, ...spoofed(`9.9.9.9, ${ip}`) }), 401, "invalid_credentials");
    }
  });

  test("with REDIS_URL two servers share the counts", async () => {
    const shared = { REDIS_URL, REDIS_KEY_PREFIX: prefix() };
    await using one = await limited(shared);
    await using two = await limited({ ...shared, DATABASE_URL: one.deps.config.databaseUrl });
    const user = await one.client.signUp();
    expectProblem(await one.client.login(user.email, "wrong-password"), 401, "invalid_credentials");
    expectProblem(await two.client.login(user.email, "wrong-password"), 401, "invalid_credentials");
    expectProblem(await one.client.login(user.email, "wrong-password"), 401, "invalid_credentials");
    await expectLimited(await two.client.login(user.email, user.password));
  });

  test("if Redis does not answer, the service stays up, limits in memory and says so once", async () => {
    await using server = await limited({ REDIS_URL: "redis://127.0.0.1:1" });
    const user = await server.client.signUp();
    for (let i = 0; i < 3; i++) expectProblem(await server.client.login(user.email, "wrong-password"), 401, "invalid_credentials");
    await expectLimited(await server.client.login(user.email, user.password));
    const warnings = server.logs.filter((line) => line.includes("rate limit store unavailable"));
    expect(warnings).toHaveLength(1);
  });

  test("RATE_LIMITS=off lets a black-box suite sign up hundreds of accounts from one address", async () => {
    await using server = await startServer({ RATE_LIMITS: "off", RATE_LIMIT_REGISTER_IP: "1/60" });
    const replies = await Promise.all(Array.from({ length: 40 }, () => server.client.register()));
    expect(replies.every((r) => r.status === 201)).toBe(true);
  });
});

// IPv4 as is, IPv6 by prefix (a /64 unless RATE_LIMIT_IPV6_PREFIX says otherwise), whatever the spelling.
describe("networkOf", () => {
  test.each([
    ["10.0.0.1", "10.0.0.1"],
    ["::ffff:10.0.0.1", "10.0.0.1"],
    ["::FFFF:a00:1", "10.0.0.1"],
    ["0:0:0:0:0:ffff:10.0.0.1", "10.0.0.1"],
    ["[::ffff:127.0.0.1]", "127.0.0.1"],
    ["2001:db8:0:1::5", "2001:db8:0:1:0:0:0:0/64"],
    ["2001:0DB8:0000:0001:ffff:ffff:ffff:ffff", "2001:db8:0:1:0:0:0:0/64"],
    ["2001:db8:0:1:0:0:10.1.2.3", "2001:db8:0:1:0:0:0:0/64"],
    ["[2001:db8:0:1::9]", "2001:db8:0:1:0:0:0:0/64"],
    ["fe80::1%eth0", "fe80:0:0:0:0:0:0:0/64"],
    ["::1", "0:0:0:0:0:0:0:0/64"],
    ["2001:db8:0:2::5", "2001:db8:0:2:0:0:0:0/64"],
    ["unknown", "unknown"],
    ["not:an:address", "not:an:address"],
  ])("%s → %s", (address, network) => {
    expect(networkOf(address)).toBe(network);
  });

  test("the prefix is configurable, including bits inside a word", () => {
    expect(networkOf("2001:db8:abcd:12ff::1", 48)).toBe("2001:db8:abcd:0:0:0:0:0/48");
    expect(networkOf("2001:db8:abcd:12ff::1", 56)).toBe("2001:db8:abcd:1200:0:0:0:0/56");
    expect(networkOf("2001:db8::1", 128)).toBe("2001:db8:0:0:0:0:0:1/128");
    expect(networkOf("10.0.0.1", 48)).toBe("10.0.0.1");
  });
});

describe("RATE_LIMIT_IPV6_PREFIX", () => {
  test("defaults to 64; 16 to 128 are accepted, anything else is a configuration error", () => {
    expect(loadConfig({}).rateLimitIpv6Prefix).toBe(64);
    expect(loadConfig({ RATE_LIMIT_IPV6_PREFIX: "56" }).rateLimitIpv6Prefix).toBe(56);
    for (const bad of ["8", "129", "/64"]) expect(() => loadConfig({ RATE_LIMIT_IPV6_PREFIX: bad })).toThrow(ConfigError);
  });
});
