// The session cache across instances: two real processes on one database see each other's
// revocations within the bound, and an instance whose feed is cut stops answering from memory.
import { afterAll, expect, test } from "bun:test";
import { SQL } from "bun";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { disableUser, freshDatabase, openTransaction, POSTGRES_URL, TEST_DB } from "../helpers/database.ts";
import { openStore } from "../../src/store/index.ts";
import { cacheAnswering, Client, startProcess, startServer } from "../helpers/server.ts";
import { TcpProxy } from "../helpers/tcp-proxy.ts";

const BOUND_MS = 1000;
const SLACK_MS = 2000;
const upstream = new URL(POSTGRES_URL);
const proxy = await TcpProxy.start({ hostname: upstream.hostname, port: Number(upstream.port || 5432) });
const dir = mkdtempSync(join(tmpdir(), "session-cache-"));
afterAll(() => {
  proxy.stop();
  rmSync(dir, { recursive: true, force: true });
});

test(`two processes on one ${TEST_DB} database: a logout on A is refused on B within the bound`, async () => {
  const database = await freshDatabase(dir, TEST_DB);
  const env = { DATABASE_URL: database.url, JWT_SECRET: "session-cache-test-secret-0123456789abcdef", RATE_LIMITS: "off", SESSION_CACHE_BOUND_MS: String(BOUND_MS) };
  const [one, two] = await Promise.all([startProcess(mkdtempSync(join(dir, "a-")), env), startProcess(mkdtempSync(join(dir, "b-")), env)]);
  try {
    const a = new Client(one.url);
    const b = new Client(two.url);
    const delays: number[] = [];
    for (let i = 0; i < 10; i++) {
      const user = await a.signUp();
      expect((await b.send("GET", "/me", { token: user.token })).status).toBe(200);
      expect((await b.send("GET", "/me", { token: user.token })).status).toBe(200);
      expect((await a.send("POST", "/logout", { token: user.token })).status).toBe(204);
      expect((await a.send("GET", "/me", { token: user.token })).status).toBe(401);
      const started = performance.now();
      for (;;) {
        const answer = (await b.send("GET", "/me", { token: user.token })).status;
        if (answer === 401) break;
        expect(answer).toBe(200);
        expect(performance.now() - started).toBeLessThan(BOUND_MS + SLACK_MS);
        await Bun.sleep(10);
      }
      delays.push(performance.now() - started);
    }
    console.log(`revocation on A seen on B after (ms): ${delays.map(Math.round).join(" ")}`);
  } finally {
    for (const instance of [one, two]) instance.proc.kill("SIGTERM");
    await Promise.all([one.proc.exited, two.proc.exited]);
    await database.drop();
  }
}, 60_000);

test("fail closed: B's feed cut by a black hole, a logout on A is not served from B's memory past the bound", async () => {
  const database = await freshDatabase(dir, "postgres");
  const through = new URL(database.url);
  through.port = String(proxy.port);
  await using a = await startServer({ DATABASE_URL: database.url, SESSION_CACHE_BOUND_MS: String(BOUND_MS) });
  await using b = await startServer({ DATABASE_URL: through.toString(), SESSION_CACHE_BOUND_MS: String(BOUND_MS), DATABASE_TIMEOUT_MS: "500" });
  try {
    const user = await a.client.signUp();
    await cacheAnswering(b, BOUND_MS); // once the write transactions open at its start (A's sign-up, say) have ended
    expect((await b.client.send("GET", "/me", { token: user.token })).status).toBe(200);
    const hits = b.deps.sessionCache!.stats.hits;
    expect((await b.client.send("GET", "/me", { token: user.token })).status).toBe(200);
    expect(b.deps.sessionCache!.stats.hits).toBe(hits + 1);

    proxy.blackhole();
    const cut = performance.now();
    expect((await a.client.send("POST", "/logout", { token: user.token })).status).toBe(204);
    // Within the bound B may still answer from memory; past it, it reads the database, which is unreachable.
    await Bun.sleep(Math.max(0, BOUND_MS - (performance.now() - cut)));
    for (let i = 0; i < 3; i++) {
      const answer = await b.client.send("GET", "/me", { token: user.token });
      expect(answer.status).toBe(503);
    }
    expect(b.deps.sessionCache!.fresh).toBe(false);
    expect(b.logs.some((line) => line.includes("revocation feed unreadable"))).toBe(true);

    proxy.restore();
    const healed = performance.now();
    let status = 0;
    while (performance.now() - healed < 10_000) {
      status = (await b.client.send("GET", "/me", { token: user.token })).status;
      if (status === 401) break;
      expect(status).toBe(503);
      await Bun.sleep(100);
    }
    expect(status).toBe(401);
  } finally {
    proxy.restore();
    await database.drop();
  }
}, 60_000);

test("PostgreSQL: a hand transaction deactivating a user, open while B starts with 150 later feed rows committed, is honoured by B when it commits", async () => {
  const database = await freshDatabase(dir, "postgres");
  const hand = new SQL(database.url, { max: 1 });
  const other = new SQL(database.url, { max: 1 });
  try {
    await using a = await startServer({ DATABASE_URL: database.url, SESSION_CACHE_BOUND_MS: String(BOUND_MS) });
    const user = await a.client.signUp();
    const bystander = await a.client.signUp();
    // The operator's transaction takes a feed id and stays open…
    const edit = openTransaction(hand);
    await edit.run(disableUser(user.id));
    // …while 150 later ids commit: more than any window of ids below the newest a reader could start with.
    for (let i = 0; i < 150; i++) await other`UPDATE users SET bio = ${`bio ${i}`} WHERE id = ${bystander.id}`;
    await using b = await startServer({ DATABASE_URL: database.url, SESSION_CACHE_BOUND_MS: String(BOUND_MS) });
    await Bun.sleep(300); // several feed reads
    const cache = b.deps.sessionCache!;
    expect(cache.fresh).toBe(false); // a writer from before its start is still open
    const hits = cache.stats.hits;
    for (let i = 0; i < 3; i++) expect((await b.client.send("GET", "/me", { token: user.token })).status).toBe(200);
    expect(cache.stats.hits).toBe(hits); // read from the database each time, never kept

    await edit.commit();
    const committed = performance.now();
    for (;;) {
      const answer = await b.client.send("GET", "/me", { token: user.token });
      if (answer.status === 401) break;
      expect(answer.status).toBe(200);
      expect(performance.now() - committed).toBeLessThan(BOUND_MS + SLACK_MS);
      await Bun.sleep(20);
    }
    await cacheAnswering(b, BOUND_MS); // the writer has ended: within a read or two, B answers from memory again
    expect((await b.client.send("GET", "/me", { token: bystander.token })).status).toBe(200);
    const warmHits = cache.stats.hits;
    expect((await b.client.send("GET", "/me", { token: bystander.token })).status).toBe(200);
    expect(cache.stats.hits).toBe(warmHits + 1);
  } finally {
    await hand.close();
    await other.close();
    await database.drop();
  }
}, 60_000);

test("PostgreSQL: a feed row whose transaction stayed open longer than the feed is kept is not pruned before readers have had it", async () => {
  const database = await freshDatabase(dir, "postgres");
  const hand = new SQL(database.url, { max: 1 });
  const { store } = await openStore(database.url, { now: Date.now });
  try {
    await using a = await startServer({ DATABASE_URL: database.url });
    const user = await a.client.signUp();
    const edit = openTransaction(hand);
    await edit.run(disableUser(user.id));
    await store.revocations.prune(1); // while it is open
    await Bun.sleep(20); // its row is now older than 1 ms: "longer than the feed is kept"
    await edit.commit();
    const rows = async () => (await store.revocations.after(0, [])).entries.filter((entry) => entry.user === user.id).length;
    await store.revocations.prune(1); // just after its commit: a reader may not have read it yet
    expect(await rows()).toBe(1);
    await store.revocations.prune(1); // it had ended by the prune before this one
    expect(await rows()).toBe(0);
  } finally {
    await store.close();
    await hand.close();
    await database.drop();
  }
}, 30_000);
