// The session cache: requests are authenticated from memory, a revocation made on this instance is
// honoured by the very next request, and one made elsewhere (another instance, the CLI) within the bound.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { openStore, type Store } from "../../src/store/index.ts";
import { cacheAnswering, Client, startServer, type TestServer } from "../helpers/server.ts";

const BOUND_MS = 1000;
// Room for a loaded machine on top of the bound; the bar itself is measured by bench/revocation.ts.
const SLACK_MS = 2000;
const ADMIN = { email: "cache-admin@example.com", password: "cache-admin-password" };

let a: TestServer;
let b: TestServer;
let cli: Store;
let admin: string;

beforeAll(async () => {
  a = await startServer({ SESSION_CACHE_BOUND_MS: String(BOUND_MS), ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password });
  b = await startServer({ DATABASE_URL: a.deps.config.databaseUrl, SESSION_CACHE_BOUND_MS: String(BOUND_MS) });
  // What the operator commands open: a store of their own on the same database.
  cli = (await openStore(a.deps.config.databaseUrl, { now: Date.now })).store;
  admin = (await a.client.login(ADMIN.email, ADMIN.password)).body.access_token as string;
});

afterAll(async () => {
  await cli?.close();
  await b?.close();
  await a?.close();
});

const status = async (client: Client, token: string, path = "/me") => (await client.send("GET", path, { token })).status;

/** Warms `server`'s cache for `token`, then makes sure a request was really answered from memory. */
async function warm(server: TestServer, token: string): Promise<void> {
  await cacheAnswering(server, BOUND_MS + SLACK_MS);
  expect(await status(server.client, token)).toBe(200);
  const before = server.deps.sessionCache!.stats.hits;
  expect(await status(server.client, token)).toBe(200);
  expect(server.deps.sessionCache!.stats.hits).toBe(before + 1);
}

/** How long after `revoke` resolved `server` first refused `token`; fails past the bound with slack. */
async function refusedWithin(server: TestServer, token: string, revoke: () => Promise<unknown>): Promise<number> {
  await warm(server, token);
  await revoke();
  const started = performance.now();
  for (;;) {
    const answer = await status(server.client, token);
    const ms = performance.now() - started;
    if (answer === 401) return ms;
    expect(answer).toBe(200);
    expect(ms).toBeLessThan(BOUND_MS + SLACK_MS);
    await Bun.sleep(20);
  }
}

describe("on the instance that revokes: the very next request", () => {
  test("authenticated requests are answered from memory", async () => {
    const user = await a.client.signUp();
    await warm(a, user.token);
    expect(a.deps.sessionCache!.stats.size).toBeGreaterThanOrEqual(2);
  });

  const revocations: Array<[string, (user: Awaited<ReturnType<Client["signUp"]>>) => Promise<unknown>]> = [
    ["logout", (u) => a.client.send("POST", "/logout", { token: u.token })],
    ["logout by refresh token", (u) => a.client.send("POST", "/logout", { json: { refresh_token: u.refresh } })],
    ["a password change from another session", async (u) => {
      const other = (await a.client.login(u.email, u.password)).body.access_token as string;
      return a.client.send("PUT", "/me", { token: other, json: { current_password: u.password, password: "a-new-password-456" } });
    }],
    ["a deactivation by an admin", (u) => a.client.send("PUT", `/users/${u.id}`, { token: admin, json: { active: false } })],
    ["deleting the account", (u) => a.client.send("DELETE", "/me", { token: u.token, json: { current_password: u.password } })],
    ["a refresh token replayed after the reuse window", async (u) => {
      await a.client.send("POST", "/token/refresh", { json: { refresh_token: u.refresh } });
      // Past the 10 s reuse window, well within the access token's life.
      a.clock.advance(11);
      const replay = await a.client.send("POST", "/token/refresh", { json: { refresh_token: u.refresh } });
      expect(replay.status).toBe(401);
      return { status: 204 };
    }],
  ];
  for (const [name, revoke] of revocations) {
    test(name, async () => {
      const user = await a.client.signUp();
      await warm(a, user.token);
      const answer = (await revoke(user)) as { status: number };
      expect(answer.status).toBeLessThan(300);
      expect(await status(a.client, user.token)).toBe(401);
    });
  }

  test("a role change: the demoted admin's next request is refused admin rights", async () => {
    const user = await a.client.signUp();
    expect((await a.client.send("PUT", `/users/${user.id}`, { token: admin, json: { role: "admin" } })).status).toBe(200);
    expect(await status(a.client, user.token, "/users")).toBe(200);
    expect(await status(a.client, user.token, "/users")).toBe(200);
    expect((await a.client.send("PUT", `/users/${user.id}`, { token: admin, json: { role: "user" } })).status).toBe(200);
    expect(await status(a.client, user.token, "/users")).toBe(403);
  });

  test("a profile edit is read back at once", async () => {
    const user = await a.client.signUp();
    await warm(a, user.token);
    expect((await a.client.send("PUT", "/me", { token: user.token, json: { name: "Renamed" } })).status).toBe(200);
    expect((await a.client.send("GET", "/me", { token: user.token })).body.name).toBe("Renamed");
  });
});

describe("made elsewhere: refused within the bound", () => {
  test("a logout on another instance", async () => {
    const user = await a.client.signUp();
    const ms = await refusedWithin(b, user.token, () => a.client.send("POST", "/logout", { token: user.token }));
    console.log(`logout on A refused on B after ${Math.round(ms)} ms`);
  });

  test("a deactivation by another process (the CLI's store)", async () => {
    const user = await a.client.signUp();
    await refusedWithin(b, user.token, () => cli.updateAccount(user.id, { disabled: true }, {}, Date.now()));
  });

  test("a session ended by another process", async () => {
    const user = await a.client.signUp();
    const me = await b.client.send("GET", "/me", { token: user.token });
    expect(me.status).toBe(200);
    const sessionId = JSON.parse(atob(user.token.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/"))).sid as string;
    await refusedWithin(b, user.token, () => cli.sessions.revoke(sessionId));
  });
});

test("SESSION_CACHE_SIZE=0: no cache, every request reads the database", async () => {
  await using server = await startServer({ SESSION_CACHE_SIZE: "0" });
  const user = await server.client.signUp();
  expect(server.deps.sessionCache).toBeUndefined();
  expect(await status(server.client, user.token)).toBe(200);
});

test("the feed is aged by the database's clock, which stamped it: a service clock moved a week on prunes nothing fresh", async () => {
  const user = await a.client.signUp();
  await cli.updateAccount(user.id, { name: "Aged" }, {}, Date.now());
  const mine = async () => (await cli.revocations.after(0, [])).entries.filter((entry) => entry.user === user.id).length;
  expect(await mine()).toBeGreaterThan(0);
  a.clock.advance(7 * 24 * 3600);
  await cli.revocations.prune(10 * 60_000);
  expect(await mine()).toBeGreaterThan(0);
  await Bun.sleep(20);
  await cli.revocations.prune(1);
  expect(await mine()).toBe(0); // its writer had ended by the prune before (PostgreSQL asks that too)
});

test("with every feed row pruned, a starting reader still begins at the newest id handed out, not at 0", async () => {
  const user = await a.client.signUp();
  await cli.updateAccount(user.id, { name: "Pruned" }, {}, Date.now());
  const newest = Math.max(...(await cli.revocations.after(0, [])).entries.map((entry) => entry.id));
  await Bun.sleep(20);
  // Twice: on PostgreSQL a row goes once its writer had ended by the feed's previous prune.
  await cli.revocations.prune(1);
  await cli.revocations.prune(1);
  expect((await cli.revocations.after(0, [])).entries).toEqual([]);
  expect((await cli.revocations.latest()).id).toBe(newest);
});
