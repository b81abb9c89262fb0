// Password hashing: OWASP argon2id parameters, bounded concurrency, the dummy check for unknown
// emails, and the seeds' bcrypt hashes upgraded on first login.
import { describe, expect, test } from "bun:test";
import { SCHED_IDLE, SCHED_OTHER, threadIds, threadPriority } from "../helpers/threads.ts";
import { PasswordHasher } from "../../src/auth/password.ts";
import { loadConfig } from "../../src/config.ts";
import { Semaphore, QueueFullError } from "../../src/util/semaphore.ts";
import { expectProblem, serverForFile, startServer, uniqueEmail } from "../helpers/server.ts";

describe("PasswordHasher", () => {
  test("defaults are argon2id with 19 MiB, t=2, p=1", async () => {
    const config = loadConfig({});
    const hasher = new PasswordHasher({ memoryKiB: config.argon2MemoryKiB, timeCost: config.argon2TimeCost, concurrency: 1, queueMax: 10 });
    const hash = await hasher.hash("correct horse battery");
    expect(hash).toStartWith("$argon2id$v=19$m=19456,t=2,p=1$");
    expect(await hasher.verify("correct horse battery", hash)).toBe(true);
    expect(await hasher.verify("wrong", hash)).toBe(false);
    expect(hasher.needsRehash(hash)).toBe(false);
  });

  test("an unreadable hash verifies as false instead of throwing", async () => {
    const hasher = new PasswordHasher({ memoryKiB: 1024, timeCost: 1, concurrency: 1, queueMax: 10 });
    expect(await hasher.verify("x", "not a hash")).toBe(false);
  });

  test("bcrypt and weaker argon2 parameters need a rehash", () => {
    const hasher = new PasswordHasher({ memoryKiB: 19456, timeCost: 2, concurrency: 1, queueMax: 10 });
    expect(hasher.needsRehash("$2b$12$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234")).toBe(true);
    expect(hasher.needsRehash("$argon2id$v=19$m=4096,t=3,p=1$c2FsdA$aGFzaA")).toBe(true);
  });
});

describe("Semaphore", () => {
  test("never runs more than its limit at once, and refuses past its queue", async () => {
    const gate = new Semaphore(2, 3);
    let running = 0;
    let peak = 0;
    const job = async () => {
      running++;
      peak = Math.max(peak, running);
      await Bun.sleep(5);
      running--;
    };
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => gate.run(job)));
    expect(peak).toBe(2);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(5);
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    expect(refused.every((r) => r.reason instanceof QueueFullError)).toBe(true);
    expect(gate.depth).toBe(0);
  });
});

describe("through HTTP", () => {
  test("an unknown email still pays for one password check", async () => {
    await using server = await startServer();
    let checks = 0;
    const verify = server.deps.hasher.verify.bind(server.deps.hasher);
    server.deps.hasher.verify = (password, hash) => {
      checks++;
      return verify(password, hash);
    };
    expectProblem(await server.client.login(uniqueEmail("nobody"), "password123"), 401, "invalid_credentials");
    expect(checks).toBe(1);
  });

  test("a full hashing queue answers 503 with Retry-After, never 500", async () => {
    await using server = await startServer({ HASH_CONCURRENCY: "1", HASH_QUEUE_MAX: "1", ARGON2_MEMORY_KIB: "19456", ARGON2_TIME_COST: "2" });
    const replies = await Promise.all(Array.from({ length: 8 }, () => server.client.register()));
    const statuses = replies.map((r) => r.status);
    expect(statuses).toContain(201);
    expect(statuses).toContain(503);
    expect(statuses.every((s) => s === 201 || s === 503)).toBe(true);
    const busy = replies.find((r) => r.status === 503)!;
    expectProblem(busy, 503, "server_busy");
    expect(busy.headers.get("retry-after")).toBe("1");
  });
});

test("logins whose clients hung up while waiting for a hashing slot leave the line: no backlog for the next ones", async () => {
  await using server = await startServer({ HASH_CONCURRENCY: "1", ARGON2_MEMORY_KIB: "19456", ARGON2_TIME_COST: "2" });
  const email = uniqueEmail("gone");
  expect((await server.client.register({ email, password: "password123" })).status).toBe(201);
  const gone = new AbortController();
  const attempts = Array.from({ length: 10 }, () =>
    fetch(`${server.url}/login`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email, password: "password123" }),
      signal: gone.signal,
    }).catch(() => undefined),
  );
  for (let i = 0; i < 100 && server.deps.hasher.queueDepth < 10; i++) await Bun.sleep(5);
  expect(server.deps.hasher.queueDepth).toBe(10); // one hashing, nine in line
  gone.abort();
  await Promise.all(attempts);
  await Bun.sleep(20);
  // Nine hashes would take ~300 ms or more; the line emptied at once, leaving at most the running one.
  expect(server.deps.hasher.queueDepth).toBeLessThanOrEqual(1);
  expect((await server.client.login(email, "password123")).status).toBe(200);
});

describe("bcrypt hashes from the seeds' apps", async () => {
  const server = await serverForFile();
  const variants: Array<[string, (hash: string) => string]> = [
    ["$2b$", (hash) => hash],
    ["$2a$", (hash) => hash.replace(/^\$2b\$/, "$2a$")],
  ];
  test.each(variants)("a %s hash logs in and is re-hashed to argon2id", async (_prefix, variant) => {
    const email = uniqueEmail("legacy");
    const bcrypt = variant(await Bun.password.hash("legacy-password", { algorithm: "bcrypt", cost: 4 }));
    const now = new Date().toISOString();
    await server.deps.store.sql`
      INSERT INTO users (name, email, password_hash, created_at, updated_at) VALUES ('Legacy', ${email}, ${bcrypt}, ${now}, ${now})`;
    expectProblem(await server.client.login(email, "wrong-password"), 401, "invalid_credentials");
    expect((await server.deps.store.userByEmail(email))!.passwordHash).toBe(bcrypt);
    expect((await server.client.login(email, "legacy-password")).status).toBe(200);
    const upgraded = (await server.deps.store.userByEmail(email))!.passwordHash;
    expect(upgraded).toStartWith("$argon2id$");
    expect((await server.client.login(email, "legacy-password")).status).toBe(200);
  });
});

describe("a wrong guess takes as long for an imported account as for an unknown email", () => {
  // bcrypt cost 10 takes tens of milliseconds; the test servers' argon2id (1 MiB, t=1) about one.
  async function withImported(server: Awaited<ReturnType<typeof startServer>>) {
    const email = uniqueEmail("imported");
    const hash = await Bun.password.hash("imported-password", { algorithm: "bcrypt", cost: 10 });
    await server.deps.store.createUser({ name: "Imported", email, passwordHash: hash, now: Date.now() });
    return email;
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  async function timeLogin(server: Awaited<ReturnType<typeof startServer>>, email: string) {
    const started = performance.now();
    expectProblem(await server.client.login(email, "not-the-password"), 401, "invalid_credentials");
    return performance.now() - started;
  }

  test("failed logins are padded to the slowest legacy check, so an imported account does not stand out", async () => {
    await using server = await startServer({});
    const imported = await withImported(server);
    await timeLogin(server, imported); // the first legacy check sets the floor
    const times = { imported: [] as number[], unknown: [] as number[] };
    // The floor is the slowest legacy check seen so far, so it can rise while a busy machine runs
    // this loop: each unknown-email login is held against the floor in force when it was sent.
    const paddedShare: number[] = [];
    for (let i = 0; i < 9; i++) {
      times.imported.push(await timeLogin(server, imported));
      const floor = server.deps.hasher.failureFloorMs;
      const unknown = await timeLogin(server, uniqueEmail("nobody"));
      times.unknown.push(unknown);
      paddedShare.push(unknown / floor);
    }
    const bcryptMs = server.deps.hasher.failureFloorMs;
    expect(bcryptMs).toBeGreaterThan(10);
    expect(median(paddedShare)).toBeGreaterThanOrEqual(0.9);
    expect(Math.abs(median(times.imported) - median(times.unknown))).toBeLessThan(bcryptMs * 0.3);
  }, 30_000); // 19 bcrypt-cost logins on threads at low priority: seconds when the machine is busy

  test("with imported accounts in the database, the floor holds from the first login after a start", async () => {
    await using first = await startServer({});
    await withImported(first);
    await using second = await startServer({ DATABASE_URL: first.deps.config.databaseUrl });
    for (let i = 0; i < 50 && second.deps.hasher.failureFloorMs === 0; i++) await Bun.sleep(20); // calibrating
    expect(second.deps.hasher.failureFloorMs).toBeGreaterThan(10);
    expect(await timeLogin(second, uniqueEmail("first-guess"))).toBeGreaterThanOrEqual(second.deps.hasher.failureFloorMs * 0.9);
  });

  test("without legacy hashes there is no floor: failed logins cost only the argon2id check", async () => {
    await using server = await startServer({});
    await server.client.signUp();
    await Bun.sleep(50);
    expect(server.deps.hasher.failureFloorMs).toBe(0);
  });
});

test("hashing threads run in Linux's idle class by default (the pacer gives them their share), and at HASH_THREAD_NICE when given", async () => {
  // Nice 15 gave hashing only the leftovers (logins crawled under a GET /me flood); nice 0 made GET /me
  // wait a scheduler tick behind a hash. The pacer (test/auth/hash-pacer.test.ts) now gives the share.
  const nice = (task: string) => threadPriority(task)?.nice;
  const policy = (task: string) => threadPriority(task)?.policy;
  for (const [threadNice, expectedPolicy, expectedNice] of [[undefined, SCHED_IDLE, undefined], [9, SCHED_OTHER, 9]] as const) {
    const before = new Set(threadIds());
    const hasher = new PasswordHasher({ memoryKiB: 1024, timeCost: 1, concurrency: 2, queueMax: 10, threadNice });
    try {
      await Promise.all([hasher.hash("warm up one"), hasher.hash("warm up two")]);
      const threads = threadIds().filter((t) => !before.has(t));
      const matching = threads.filter((t) => policy(t) === expectedPolicy && (expectedNice === undefined || nice(t) === expectedNice));
      expect(matching.length).toBeGreaterThanOrEqual(2);
      expect(policy(String(process.pid))).toBe(0);
      expect(nice(String(process.pid))).toBe(0);
    } finally {
      hasher.close();
    }
  }
});
