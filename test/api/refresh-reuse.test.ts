// The refresh-token reuse window (issue 9.11): the same token presented again within a few seconds
// (two tabs, a retry after a lost response) continues the session; presented later, it ends it.
import { describe, expect, test } from "bun:test";
import { expectProblem, serverForFile, startServer, type Client, type TestServer } from "../helpers/server.ts";
import { lockTokenRow } from "../helpers/database.ts";
import { sendAndHangUp } from "../helpers/sockets.ts";

const server = await serverForFile(); // REFRESH_TOKEN_REUSE_SECONDS at its default, 10
const { client } = server;

const refresh = (c: Client, token: string) => c.send("POST", "/token/refresh", { json: { refresh_token: token } });

/** Both halves of a pair still work: the access token on GET /me, the refresh token once more. */
async function expectWorkingPair(c: Client, pair: { access_token: string; refresh_token: string }) {
  expect((await c.send("GET", "/me", { token: pair.access_token })).status).toBe(200);
  const next = await refresh(c, pair.refresh_token);
  expect(next.status).toBe(200);
  expect((await c.send("GET", "/me", { token: next.body.access_token })).status).toBe(200);
}

/** Sends a refresh over a raw socket and hangs up without reading: the client never sees the answer. */
async function refreshAndLoseTheAnswer(s: TestServer, token: string) {
  const body = JSON.stringify({ refresh_token: token });
  const { host } = new URL(s.url);
  await sendAndHangUp(s.url, `POST /token/refresh HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
  // The server carries on without its client; wait until it has spent the token.
  const id = token.split(".")[0]!;
  for (let i = 0; i < 100; i++) {
    if ((await s.deps.store.sessions.find(id))?.usedAt) return;
    await Bun.sleep(20);
  }
  throw new Error("the server never spent the token");
}

describe("within the reuse window", () => {
  test("50 parallel refreshes of one token: all 200, and every pair they return works", async () => {
    const user = await client.signUp();
    const replies = await Promise.all(Array.from({ length: 50 }, () => refresh(client, user.refresh)));
    expect(replies.map((r) => r.status)).toEqual(Array(50).fill(200));
    expect(new Set(replies.map((r) => r.body.refresh_token)).size).toBe(50);
    for (const reply of replies) await expectWorkingPair(client, reply.body);
    // One session throughout: every access token names the login's session.
    const sid = (token: string) => JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()).sid;
    expect(new Set(replies.map((r) => sid(r.body.access_token)))).toEqual(new Set([sid(user.token)]));
  }, 30_000);

  test("a retry after a lost answer gets a working pair for the same session", async () => {
    const user = await client.signUp();
    await refreshAndLoseTheAnswer(server, user.refresh);
    const retry = await refresh(client, user.refresh);
    expect(retry.status).toBe(200);
    await expectWorkingPair(client, retry.body);
    expect((await client.send("GET", "/me", { token: user.token })).status).toBe(200); // the session lives on
  });

  test("9 seconds after the first use the old token still continues the session", async () => {
    const user = await client.signUp();
    const first = await refresh(client, user.refresh);
    server.clock.advance(9);
    const again = await refresh(client, user.refresh);
    expect(again.status).toBe(200);
    await expectWorkingPair(client, again.body);
    await expectWorkingPair(client, first.body);
  });

  test("does not bring back a session that was logged out", async () => {
    const user = await client.signUp();
    const first = await refresh(client, user.refresh);
    expect((await client.send("POST", "/logout", { json: { refresh_token: first.body.refresh_token } })).status).toBe(204);
    expectProblem(await refresh(client, user.refresh), 401, "invalid_token");
    expectProblem(await client.send("GET", "/me", { token: first.body.access_token }), 401, "invalid_token");
  });

  test("does not bring back a session a password change ended", async () => {
    const user = await client.signUp();
    const other = await client.login(user.email);
    await refresh(client, other.body.refresh_token);
    const change = await client.send("PUT", "/me", { token: user.token, json: { password: "another-password", current_password: user.password } });
    expect(change.status).toBe(200);
    expectProblem(await refresh(client, other.body.refresh_token), 401, "invalid_token");
  });

  test("an expired token is refused even within the window, and the session stays", async () => {
    await using short = await startServer({ REFRESH_TOKEN_TTL_SECONDS: "60" });
    const user = await short.client.signUp();
    short.clock.advance(55);
    const first = await refresh(short.client, user.refresh);
    expect(first.status).toBe(200);
    short.clock.advance(6); // past the old token's expiry, within 10 s of its use
    expectProblem(await refresh(short.client, user.refresh), 401, "invalid_token");
    await expectWorkingPair(short.client, first.body);
  });
});

describe("after the reuse window", () => {
  test("the old token → 401, and the whole session ends (theft is still caught)", async () => {
    const user = await client.signUp();
    const first = await refresh(client, user.refresh);
    const sibling = await refresh(client, user.refresh); // within the window: fine
    expect(sibling.status).toBe(200);
    server.clock.advance(11);
    expectProblem(await refresh(client, user.refresh), 401, "invalid_token");
    // Told to the operator, who may be asked why a user was signed out.
    const lines = server.logs.map((line) => JSON.parse(line));
    expect(lines).toContainEqual(expect.objectContaining({ level: "warn", msg: "spent refresh token presented after the reuse window; session ended", user_id: user.id }));
    expect(lines).toContainEqual(expect.objectContaining({ level: "info", msg: "spent refresh token reused within the window", user_id: user.id }));
    for (const pair of [first.body, sibling.body]) {
      expectProblem(await client.send("GET", "/me", { token: pair.access_token }), 401, "invalid_token");
      expectProblem(await refresh(client, pair.refresh_token), 401, "invalid_token");
    }
    expectProblem(await client.send("GET", "/me", { token: user.token }), 401, "invalid_token");
  });

  test("the window counts from the token's first use, not from its latest reuse", async () => {
    const user = await client.signUp();
    await refresh(client, user.refresh);
    server.clock.advance(6);
    expect((await refresh(client, user.refresh)).status).toBe(200);
    server.clock.advance(6); // 12 s after the first use, 6 s after the reuse
    expectProblem(await refresh(client, user.refresh), 401, "invalid_token");
  });

  test("REFRESH_TOKEN_REUSE_SECONDS=0 turns the window off: any replay ends the session", async () => {
    await using strict = await startServer({ REFRESH_TOKEN_REUSE_SECONDS: "0" });
    const user = await strict.client.signUp();
    const first = await refresh(strict.client, user.refresh);
    expect(first.status).toBe(200);
    expectProblem(await refresh(strict.client, user.refresh), 401, "invalid_token");
    expectProblem(await refresh(strict.client, first.body.refresh_token), 401, "invalid_token");
  });

  test("a configured 2-second window: a retry 3 seconds later ends the session", async () => {
    await using quick = await startServer({ REFRESH_TOKEN_REUSE_SECONDS: "2" });
    const user = await quick.client.signUp();
    await refreshAndLoseTheAnswer(quick, user.refresh);
    quick.clock.advance(3);
    expectProblem(await refresh(quick.client, user.refresh), 401, "invalid_token");
    expectProblem(await quick.client.send("GET", "/me", { token: user.token }), 401, "invalid_token");
  });
});

test("two instances on one database: 20 parallel refreshes of one token spread over both all work", async () => {
  await using second = await startServer({ DATABASE_URL: server.deps.config.databaseUrl });
  second.clock.now = server.clock.now;
  const user = await client.signUp();
  const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => refresh(i % 2 ? client : second.client, user.refresh)));
  expect(replies.map((r) => r.status)).toEqual(Array(20).fill(200));
  for (const reply of replies) await expectWorkingPair(client, reply.body);
}, 30_000);

test("a logout racing a refresh of the same session leaves no live successor (PostgreSQL)", async () => {
  // A third connection holds the token row; the refresh queues on it first, the logout second. Once
  // released, the refresh commits its successor and the logout must still take that successor away.
  await using pg = await startServer({}, { database: "postgres" });
  const user = await pg.client.signUp();
  const tokenId = user.refresh.split(".")[0]!;
  await using lock = await lockTokenRow(pg, tokenId);
  const refreshed = refresh(pg.client, user.refresh);
  await lock.waiters(1);
  const loggedOut = pg.client.send("POST", "/logout", { json: { refresh_token: user.refresh } });
  await lock.waiters(2);
  await lock.release();
  const [rotation, logout] = await Promise.all([refreshed, loggedOut]);
  expect(logout.status).toBe(204);
  expect(rotation.status).toBe(200);
  expectProblem(await refresh(pg.client, rotation.body.refresh_token), 401, "invalid_token");
  expectProblem(await pg.client.send("GET", "/me", { token: rotation.body.access_token }), 401, "invalid_token");
}, 30_000);
