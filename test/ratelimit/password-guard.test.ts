// Password guessing through HTTP: logins and current_password share one count per account, an IPv6
// /64 is one client, and a ceiling across all addresses holds without locking the owner out.
import { describe, expect, test } from "bun:test";
import { ceilingDelayMs } from "../../src/ratelimit/password-guard.ts";
import { expectProblem, startServer, type Reply, type TestServer } from "../helpers/server.ts";

// TRUST_PROXY=1: each request says its client address in X-Forwarded-For.
const guarded = (env: Record<string, string> = {}) => startServer({ RATE_LIMITS: "on", TRUST_PROXY: "1", ...env });

const from = (ip: string) => ({ headers: { "X-Forwarded-For": ip } });
const login = (server: TestServer, email: string, password: string, ip: string) =>
  server.client.send("POST", "/login", { json: { email, password }, ...from(ip) });
const changePassword = (server: TestServer, token: string, currentPassword: string, ip: string) =>
  server.client.send("PUT", "/me", { token, json: { password: "a-new-password", current_password: currentPassword }, ...from(ip) });

function expectLimited(reply: Reply) {
  expectProblem(reply, 429, "rate_limited");
  expect(Number(reply.headers.get("retry-after"))).toBeGreaterThan(0);
  expect(reply.headers.get("ratelimit")).toMatch(/^limit=\d+, remaining=0, reset=\d+$/);
}

/** The 1-based number of the first 429 among replies, or 0. */
const first429 = (replies: Reply[]) => replies.findIndex((reply) => reply.status === 429) + 1;

describe("current_password is a password guess like a login", () => {
  test("the 11th wrong current_password is 429 with Retry-After, and it does not reach the hasher", async () => {
    await using server = await guarded();
    const user = await server.client.signUp();
    const replies: Reply[] = [];
    for (let i = 0; i < 12; i++) replies.push(await changePassword(server, user.token, "wrong-password", "10.0.0.7"));
    expect(replies.slice(0, 10).map((r) => r.status)).toEqual(new Array(10).fill(403));
    expectLimited(replies[10]!);
    expectLimited(replies[11]!);
    // Even the right one now waits out the window from this address…
    expectLimited(await changePassword(server, user.token, user.password, "10.0.0.7"));
    // …and from an address that has not guessed, the owner goes on as usual.
    expect((await changePassword(server, user.token, user.password, "10.0.0.8")).status).toBe(200);
  });

  test("wrong logins and wrong current_passwords fill the same count", async () => {
    await using server = await guarded();
    const user = await server.client.signUp();
    for (let i = 0; i < 5; i++) expectProblem(await login(server, user.email, "wrong-password", "10.0.0.9"), 401, "invalid_credentials");
    for (let i = 0; i < 5; i++) expectProblem(await changePassword(server, user.token, "wrong-password", "10.0.0.9"), 403, "forbidden");
    expectLimited(await login(server, user.email, user.password, "10.0.0.9"));
    expectLimited(await changePassword(server, user.token, "wrong-password", "10.0.0.9"));
  });

  test("a flood of wrong current_passwords is refused before hashing: another user's login stays quick", async () => {
    // Production hash cost, so that hashing the flood would be what it is in production (seconds).
    await using server = await guarded({ ARGON2_MEMORY_KIB: "19456", ARGON2_TIME_COST: "2" });
    const attacker = await server.client.signUp();
    const victim = await server.client.signUp();
    const flood = Promise.all(Array.from({ length: 400 }, () => changePassword(server, attacker.token, "wrong-password", "10.6.6.6")));
    await Bun.sleep(50);
    const started = performance.now();
    const victimLogin = await login(server, victim.email, victim.password, "10.1.1.1");
    const ms = performance.now() - started;
    const statuses = (await flood).map((reply) => reply.status);
    console.log(`victim login during 400 wrong current_passwords: ${Math.round(ms)} ms`);
    expect(victimLogin.status).toBe(200);
    // Generous for a loaded machine: hashing the flood took 8–30 s here before the fix.
    expect(ms).toBeLessThan(5000);
    expect(statuses.filter((status) => status === 403)).toHaveLength(10);
    expect(statuses.filter((status) => status === 429)).toHaveLength(390);
  }, 30_000);
});

describe("many addresses", () => {
  test("40 wrong logins from 40 addresses of one /64: the 11th is 429; another /64 logs in", async () => {
    await using server = await guarded();
    const user = await server.client.signUp();
    const replies: Reply[] = [];
    for (let i = 1; i <= 40; i++) {
      // Compressed and full spellings alike.
      const ip = i % 2 ? `2001:db8:1:2::${i.toString(16)}` : `2001:0db8:0001:0002:${i.toString(16)}:0:0:1`;
      replies.push(await login(server, user.email, "wrong-password", ip));
    }
    expect(first429(replies)).toBe(11);
    replies.slice(10).forEach(expectLimited);
    expect((await login(server, user.email, user.password, "2001:db8:1:3::1")).status).toBe(200);
  });

  test("RATE_LIMIT_IPV6_PREFIX=128 counts each IPv6 address on its own", async () => {
    await using server = await guarded({ RATE_LIMIT_IPV6_PREFIX: "128", RATE_LIMIT_LOGIN_ACCOUNT: "2/60" });
    const user = await server.client.signUp();
    for (let i = 1; i <= 4; i++) expectProblem(await login(server, user.email, "wrong-password", `2001:db8:1:2::${i}`), 401, "invalid_credentials");
  });

  test("IPv4-mapped IPv6 is the IPv4 client it stands for", async () => {
    await using server = await guarded({ RATE_LIMIT_LOGIN_ACCOUNT: "2/60" });
    const user = await server.client.signUp();
    expectProblem(await login(server, user.email, "wrong-password", "192.0.2.7"), 401, "invalid_credentials");
    expectProblem(await login(server, user.email, "wrong-password", "::ffff:192.0.2.7"), 401, "invalid_credentials");
    expectLimited(await login(server, user.email, "wrong-password", "::ffff:c000:207"));
  });

  test("40 wrong logins from 40 unrelated addresses meet the account's ceiling at the 21st; the owner still logs in", async () => {
    await using server = await guarded();
    const user = await server.client.signUp();
    const address = (i: number) => (i % 2 ? `198.51.${i}.10` : `2001:db8:${i.toString(16)}::1`);
    const replies: Reply[] = [];
    for (let i = 1; i <= 21; i++) replies.push(await login(server, user.email, "wrong-password", address(i)));
    // The rest at once: each is delayed (at most 2 s), not serialised.
    replies.push(...(await Promise.all(Array.from({ length: 19 }, (_, i) => login(server, user.email, "wrong-password", address(22 + i))))));
    expect(first429(replies)).toBe(21);
    replies.slice(0, 20).forEach((reply) => expectProblem(reply, 401, "invalid_credentials"));
    replies.slice(20).forEach(expectLimited);
    // An address that failed here is refused before any check, even with the right password…
    expectLimited(await login(server, user.email, user.password, address(3)));
    expectLimited(await login(server, user.email, user.password, address(30)));
    // …but the owner, from an address that has not failed, is let in: delayed, not refused.
    const started = performance.now();
    expect((await login(server, user.email, user.password, "203.0.113.5")).status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(1900);
    expect((await login(server, user.email, user.password, "2001:db8:ffff::5")).status).toBe(200);
    // An unknown email meets the ceiling the same way, so the 429 says nothing about who has an account.
    const nobody = "nobody-here@example.com";
    const strangers: Reply[] = [];
    for (let i = 1; i <= 21; i++) strangers.push(await login(server, nobody, "wrong-password", `192.0.2.${i}`));
    expect(first429(strangers)).toBe(21);
  }, 30_000);

  test("past the ceiling, the delay doubles from 0.1 s up to 2 s", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 50].map(ceilingDelayMs)).toEqual([100, 200, 400, 800, 1600, 2000, 2000, 2000]);
  });

  const REDIS = { REDIS_URL: process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379" };
  test.each([["memory", {}], ["Redis", REDIS]] as const)("%s: a right password gives its count back, so an owner's logins never fill the ceiling", async (_name, store) => {
    const env = { ...store, REDIS_KEY_PREFIX: `test:${crypto.randomUUID()}:` };
    await using server = await guarded({ ...env, RATE_LIMIT_ACCOUNT_FAILURES: "3/900", RATE_LIMIT_LOGIN_ACCOUNT: "3/60" });
    const user = await server.client.signUp();
    for (let i = 0; i < 10; i++) expect((await login(server, user.email, user.password, "10.2.0.1")).status).toBe(200);
    for (let i = 1; i <= 3; i++) expectProblem(await login(server, user.email, "wrong-password", `10.3.0.${i}`), 401, "invalid_credentials");
    expectLimited(await login(server, user.email, "wrong-password", "10.3.0.4"));
    expect((await login(server, user.email, user.password, "10.2.0.1")).status).toBe(200);
    expect(server.logs.filter((line) => line.includes("rate limit store unavailable"))).toHaveLength(0);
  });
});
