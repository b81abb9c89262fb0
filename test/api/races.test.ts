// Races between a slow password check and a change that lands during it. The check is paused on
// purpose (a gate around the hasher), so each interleaving happens every run, not by luck.
import { describe, expect, test } from "bun:test";
import { lockTokenRow } from "../helpers/database.ts";
import { expectProblem, serverForFile, startServer } from "../helpers/server.ts";

const server = await serverForFile();
const { client } = server;

/** Holds every password check for `password` after it ran, until `release()`. */
function holdChecksFor(password: string) {
  const hasher = server.deps.hasher;
  const original = hasher.verify.bind(hasher);
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let reached!: () => void;
  const held = new Promise<void>((resolve) => (reached = resolve));
  hasher.verify = async (candidate, hash) => {
    const ok = await original(candidate, hash);
    if (candidate === password) {
      reached();
      await gate;
    }
    return ok;
  };
  return { held, release: () => (release(), (hasher.verify = original)) };
}

describe("a login whose password check is overtaken", () => {
  test("by a password change committed while it is held → 401 invalid_credentials", async () => {
    const user = await client.signUp("old-password-2");
    const other = await client.login(user.email, "old-password-2");
    const hold = holdChecksFor("old-password-2");
    const login = client.login(user.email, "old-password-2");
    await hold.held;
    // Change the password behind the held login's back, straight in the store.
    const fresh = await server.deps.hasher.hash("new-password-2");
    const me = (await server.deps.store.userById(user.id))!;
    const sid = JSON.parse(Buffer.from(other.body.access_token.split(".")[1], "base64url").toString()).sid;
    expect(await server.deps.store.updateAccount(user.id, { passwordHash: fresh }, { tokenVersion: me.tokenVersion, keepSession: sid }, Date.now())).toBeDefined();
    hold.release();
    expectProblem(await login, 401, "invalid_credentials");
  });

  test("by the account's deletion → 401, never 500", async () => {
    const user = await client.signUp("doomed-password");
    const hold = holdChecksFor("doomed-password");
    const login = client.login(user.email, "doomed-password");
    await hold.held;
    expect((await client.send("DELETE", "/me", { token: user.token })).status).toBe(200);
    hold.release();
    expectProblem(await login, 401, "invalid_credentials");
  });
});

test("a PUT /me whose current_password check is overtaken by the owner's password change → 401, and the owner's password stands", async () => {
  const victim = await client.signUp("shared-old-pass");
  const attacker = await client.login(victim.email, "shared-old-pass");
  const hold = holdChecksFor("shared-old-pass");
  const hijack = client.send("PUT", "/me", {
    token: attacker.body.access_token,
    json: { password: "attacker-password", current_password: "shared-old-pass" },
  });
  await hold.held;
  // The owner's change is made directly, while the attacker's request is held after its check.
  const me = (await server.deps.store.userById(victim.id))!;
  const sid = JSON.parse(Buffer.from(victim.token.split(".")[1]!, "base64url").toString()).sid;
  const ownerHash = await server.deps.hasher.hash("owner-new-pass");
  expect(await server.deps.store.updateAccount(victim.id, { passwordHash: ownerHash }, { tokenVersion: me.tokenVersion, passwordHash: me.passwordHash, keepSession: sid }, Date.now())).toBeDefined();
  hold.release();
  expectProblem(await hijack, 401, "invalid_token");
  expect((await client.login(victim.email, "owner-new-pass")).status).toBe(200);
  expectProblem(await client.login(victim.email, "attacker-password"), 401, "invalid_credentials");
});

describe("ending one session ends its access tokens too", () => {
  test("logout: that session's access token → 401, another session's keeps working", async () => {
    const user = await client.signUp();
    const other = await client.login(user.email);
    expect((await client.send("POST", "/logout", { json: { refresh_token: user.refresh } })).status).toBe(204);
    expectProblem(await client.send("GET", "/me", { token: user.token }), 401, "invalid_token");
    expect((await client.send("GET", "/me", { token: other.body.access_token })).status).toBe(200);
  });

  test("a replayed refresh token: the thief's fresh access token dies with the family", async () => {
    const user = await client.signUp();
    const thief = await client.send("POST", "/token/refresh", { json: { refresh_token: user.refresh } });
    expect((await client.send("GET", "/me", { token: thief.body.access_token })).status).toBe(200);
    server.clock.advance(11); // past REFRESH_TOKEN_REUSE_SECONDS, within which a replay continues the session
    expectProblem(await client.send("POST", "/token/refresh", { json: { refresh_token: user.refresh } }), 401, "invalid_token");
    expectProblem(await client.send("GET", "/me", { token: thief.body.access_token }), 401, "invalid_token");
  });
});

test("a refresh and the account's deletion, queued on the same token row, both finish: no deadlock, no 500 (PostgreSQL)", async () => {
  // Found by test/fuzz/requests.test.ts. A third connection holds the token row, so the refresh and
  // the deletion both queue behind it; released, the refresh used to lock the token row, then want
  // the user row the deletion held while it waited for that token row: PostgreSQL killed one.
  await using pg = await startServer({}, { database: "postgres" });
  const user = await pg.client.signUp();
  const tokenId = user.refresh.split(".")[0]!;
  await using lock = await lockTokenRow(pg, tokenId);
  const refreshed = pg.client.send("POST", "/token/refresh", { json: { refresh_token: user.refresh } });
  await Bun.sleep(100); // the refresh queues first, as in the fuzzer's failing runs
  const deleted = pg.client.send("DELETE", "/me", { token: user.token });
  await lock.waiters(2);
  await lock.release();

  const [refresh, deletion] = await Promise.all([refreshed, deleted]);
  expect({ deletion: deletion.status, refreshOk: [200, 401].includes(refresh.status) }).toEqual({ deletion: 200, refreshOk: true });
  expectProblem(await pg.client.send("GET", "/me", { token: user.token }), 401, "invalid_token");
});

test("unknown emails answer 401 even after the hashing queue overflowed", async () => {
  await using busy = await serverWithTinyQueue();
  const user = await busy.client.signUp();
  const flood = await Promise.all(Array.from({ length: 6 }, (_, i) => busy.client.login(i % 2 ? user.email : `nobody${i}@example.com`, "wrong-password")));
  expect(flood.map((r) => r.status)).toContain(503);
  expectProblem(await busy.client.login("nobody-at-all@example.com", "wrong-password"), 401, "invalid_credentials");
  expectProblem(await busy.client.login(user.email, "wrong-password"), 401, "invalid_credentials");
});

async function serverWithTinyQueue() {
  const { startServer } = await import("../helpers/server.ts");
  return startServer({ HASH_CONCURRENCY: "1", HASH_QUEUE_MAX: "1", ARGON2_MEMORY_KIB: "19456", ARGON2_TIME_COST: "2" });
}
