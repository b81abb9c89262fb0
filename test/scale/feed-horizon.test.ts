// The revocation feed's horizon on a real PostgreSQL, with nothing else writing to it: a writer can be
// open with a transaction id at or above its snapshot's xmax (one past the newest *finished* one), so
// that xmax must not be taken for "no writer from here on". Each case disables user 1 in a transaction
// left open across the moment that matters, then commits it, and the cache must stop answering for it.
import { afterEach, beforeEach, expect, test } from "bun:test";
import { SQL } from "bun";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SessionCache } from "../../src/auth/session-cache.ts";
import { createLogger } from "../../src/log.ts";
import { openStore, type SessionUser, type Store } from "../../src/store/index.ts";
import { disableUser, freshDatabase, openTransaction, type TestDatabase } from "../helpers/database.ts";

let database: TestDatabase;
let store: Store;
let writers: SQL[];
let cache: SessionCache;
const ids: number[] = [];

beforeEach(async () => {
  database = await freshDatabase(mkdtempSync(join(tmpdir(), "feed-horizon-")), "postgres");
  store = (await openStore(database.url, { now: Date.now })).store;
  ids.length = 0;
  for (const name of ["one", "two", "three"]) {
    ids.push(await store.createUser({ name, email: `${name}@horizon.test`, passwordHash: "h", now: Date.now() }));
  }
  writers = [new SQL(database.url, { max: 1 }), new SQL(database.url, { max: 1 })];
  // The feed and schema are the service's; a user's session is taken as alive, so only disabled_at decides.
  const sessions = {
    revocations: store.revocations,
    userBySession: async (id: number) => {
      const user = await store.userById(id);
      return user && ({ ...user, sessionAlive: true } satisfies SessionUser);
    },
  } as unknown as Store;
  cache = new SessionCache(sessions, { size: 100, boundMs: 1000, log: createLogger(() => {}) });
});

afterEach(async () => {
  cache.stop();
  for (const writer of writers) await writer.close();
  await store.close();
  await database.drop();
});

/** After the commit, within the bound and a read, user 1 is no longer answered from memory. */
async function honoured(): Promise<void> {
  await Bun.sleep(1200);
  expect(cache.remembered(ids[0]!, "s1")).toBeUndefined();
  expect((await cache.userBySession(ids[0]!, "s1"))?.disabledAt).not.toBeNull();
}

test("a writer open when the cache starts, holding the newest transaction id, is waited for", async () => {
  const writer = openTransaction(writers[0]!);
  await writer.run(disableUser(ids[0]!));
  cache.start();
  await Bun.sleep(300);
  expect(cache.fresh).toBe(false);
  await cache.userBySession(ids[0]!, "s1"); // reads the row as it was, the writer not committed
  await writer.commit();
  await honoured();
});

test("an id skipped while its writer, newer than the one that committed the later id, is open is waited for", async () => {
  cache.start();
  await Bun.sleep(300);
  const older = openTransaction(writers[1]!);
  const newer = openTransaction(writers[0]!);
  await older.run(`UPDATE users SET bio = 'a' WHERE id = ${ids[1]}`); // the older transaction id, feed id n
  await newer.run(disableUser(ids[0]!)); // the newer transaction id, feed id n+1
  await older.run(`UPDATE users SET bio = 'b' WHERE id = ${ids[2]}`); // feed id n+2
  await older.commit(); // a read now sees n and n+2 and skips n+1, with nothing newer than `older` finished
  await Bun.sleep(300);
  // Kept in memory while the writer is open (on a loaded machine a read may find the cache stale: try again).
  for (let tries = 0; cache.remembered(ids[0]!, "s1") === undefined; tries++) {
    expect(tries).toBeLessThan(40);
    await cache.userBySession(ids[0]!, "s1");
    await Bun.sleep(50);
  }
  await newer.commit();
  await honoured();
});

test("each read names the server that answered (its postmaster's start time) and the newest id, as latest() does", async () => {
  const start = await store.revocations.latest();
  const read = await store.revocations.after(start.id, []);
  expect(start.server).toMatch(/^\d{16}\/\d+$/); // microseconds since the epoch, whatever the session's settings; the id sequence's storage
  expect(read.server).toBe(start.server!);
  expect(read.newest).toBe(start.id);
});

test("the feed table made anew on the same running server (a pg_restore --clean, say) names another server", async () => {
  await store.revocations.after(0, []); // a row, so the copy below carries something
  await writers[0]!.unsafe(disableUser(ids[0]!));
  const before = await store.revocations.latest();
  // What a --clean restore does to the table: dropped, created again, its rows and sequence put back.
  await writers[0]!.begin(async (tx) => {
    await tx`CREATE TEMP TABLE kept AS SELECT * FROM revocations`;
    await tx`DROP TABLE revocations`;
    await tx`CREATE TABLE revocations (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, user_id INTEGER, session_id TEXT,
      at TIMESTAMPTZ NOT NULL DEFAULT now(), xid xid8 NOT NULL DEFAULT pg_current_xact_id())`;
    await tx`INSERT INTO revocations OVERRIDING SYSTEM VALUE SELECT * FROM kept`;
    await tx.unsafe(`SELECT setval(pg_get_serial_sequence('revocations', 'id'), ${before.id})`);
  });
  const after = await store.revocations.after(before.id, []);
  expect(after.newest).toBe(before.id); // the ids alone would not tell
  expect(after.server).not.toBe(before.server!);
  expect(after.server!.split("/")[0]).toBe(before.server!.split("/")[0]); // the same postmaster
});

test("feed ids started over (TRUNCATE … RESTART IDENTITY) name another server, even once they pass the reader's cursor again", async () => {
  for (const id of ids) await writers[0]!.unsafe(disableUser(id));
  const before = await store.revocations.latest();
  await writers[0]!.begin(async (tx) => {
    await tx`TRUNCATE revocations RESTART IDENTITY`;
    for (let i = 0; i <= before.id; i++) await tx.unsafe(disableUser(ids[i % ids.length]!));
  });
  const after = await store.revocations.after(before.id, []);
  expect(after.newest).toBeGreaterThan(before.id); // the ids alone would not tell
  expect(after.server).not.toBe(before.server!);
});
