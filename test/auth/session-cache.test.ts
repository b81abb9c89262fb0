// SessionCache against a scripted feed: PostgreSQL may make a later feed id visible before an earlier
// one commits, and a feed read that fails for longer than the bound must take the cache out of the path.
import { expect, test } from "bun:test";
import { SessionCache } from "../../src/auth/session-cache.ts";
import { createLogger } from "../../src/log.ts";
import { FEED_PAGE, type FeedEntry, type SessionUser, type Store } from "../../src/store/index.ts";

const user = (id: number): SessionUser => ({
  id, name: "u", email: `u${id}@x.test`, passwordHash: "h", bio: "", role: "user", imageVersion: null, imageSet: null, tokenVersion: 0,
  emailVerified: true, disabledAt: null, createdAt: "", updatedAt: "", sessionAlive: true,
});

/**
 * A feed as SQLite gives it (no horizon), or as PostgreSQL does: `writers` holds the transaction ids
 * in progress, and each read reports xmin (the oldest of them, else the next) and the next id to begin.
 */
function scripted(postgres = false) {
  const committed: FeedEntry[] = [];
  const writers = new Set<bigint>();
  let nextXid = 100n;
  let handedOut = 0;
  let server = "primary";
  const newest = () => Math.max(0, ...committed.map((e) => e.id), handedOut);
  const horizon = () => (postgres ? { xmin: writers.size === 0 ? nextXid : [...writers].reduce((a, b) => (a < b ? a : b)), next: nextXid } : undefined);
  let failing = false;
  let reads = 0;
  const cursors: number[] = [];
  // While held, feed reads wait: a test decides when each one comes back.
  let gate: PromiseWithResolvers<void> | undefined;
  const store = {
    revocations: {
      listen: () => () => {},
      onClose: () => () => {},
      latest: async () => {
        await gate?.promise;
        if (failing) throw new Error("feed down");
        return { id: newest(), horizon: horizon(), server: postgres ? server : undefined };
      },
      after: async (cursor: number, missing: readonly number[]) => {
        cursors.push(cursor);
        await gate?.promise;
        if (failing) throw new Error("feed down");
        const entries = committed.filter((e) => e.id > cursor || missing.includes(e.id)).sort((x, y) => x.id - y.id).slice(0, FEED_PAGE);
        return { entries, newest: newest(), horizon: horizon(), server: postgres ? server : undefined };
      },
    },
    userBySession: async (id: number) => (reads++, user(id)),
  } as unknown as Store;
  return {
    store,
    committed,
    fail: (on: boolean) => (failing = on),
    reads: () => reads,
    /** The cursor each feed read was asked to read after. */
    cursors,
    /** A writer begins: it takes feed id `id` (unless none) and commits `entry` when `commit` is called, or nothing on rollback. */
    begin: (id?: number) => {
      const xid = nextXid++;
      writers.add(xid);
      if (id !== undefined) handedOut = Math.max(handedOut, id);
      return {
        commit: (entry?: FeedEntry) => (entry && committed.push(entry), writers.delete(xid)),
        rollback: () => writers.delete(xid),
      };
    },
    /** The database as restored from a backup taken when `upTo` was the newest id: later ids are handed out again. */
    restore: (upTo: number) => {
      committed.splice(0, committed.length, ...committed.filter((e) => e.id <= upTo));
      handedOut = upTo;
    },
    /** Another server takes over, its ids up to `upTo` (writes after them lost). */
    failover: (upTo: number) => {
      committed.splice(0, committed.length, ...committed.filter((e) => e.id <= upTo));
      handedOut = upTo;
      server = "standby";
    },
    hold: () => (gate = Promise.withResolvers<void>()),
    /** Lets the waiting read come back; the next one waits again. */
    release: () => {
      const released = gate;
      gate = Promise.withResolvers<void>();
      released?.resolve();
    },
    open: () => {
      gate?.resolve();
      gate = undefined;
    },
  };
}

let now = 0;
const cacheOf = (store: Store, logLines: string[] = []) =>
  new SessionCache(store, { size: 100, boundMs: 1000, log: createLogger((line) => logLines.push(line)), now: () => now });

async function settle(cache: SessionCache, polls = 1) {
  // Each poll is scheduled 100 ms after the last (bound / 5, at most 100 ms); timers run for real here.
  for (let i = 0; i < polls; i++) await Bun.sleep(120);
  void cache;
}

/** A cache following a scripted feed, past its first read. */
async function following(logLines: string[] = [], postgres = false) {
  const feed = scripted(postgres);
  const cache = cacheOf(feed.store, logLines);
  cache.start();
  // With a horizon, the first read that shows no writer from before the start lets the cache answer.
  await settle(cache, postgres ? 2 : 1);
  if (postgres) expect(cache.fresh).toBe(true);
  return { feed, cache };
}

test("an earlier feed id that commits after a later one is still applied", async () => {
  const { feed, cache } = await following();
  await cache.userBySession(1, "s1");
  await cache.userBySession(2, "s2");
  expect(feed.reads()).toBe(2);
  await cache.userBySession(1, "s1");
  expect(feed.reads()).toBe(2);
  // id 2 (user 2) is visible first; id 1 (user 1) commits only later.
  feed.committed.push({ id: 2, user: 2 });
  await settle(cache);
  await cache.userBySession(1, "s1");
  expect(feed.reads()).toBe(2);
  feed.committed.push({ id: 1, user: 1 });
  await settle(cache);
  await cache.userBySession(1, "s1");
  expect(feed.reads()).toBe(3);
  cache.stop();
});

test("a feed row naming neither user nor session (a table truncated) empties the cache", async () => {
  const { feed, cache } = await following();
  await cache.userBySession(1, "s1");
  await cache.userBySession(2, "s2");
  await cache.userBySession(1, "s1");
  await cache.userBySession(2, "s2");
  expect(feed.reads()).toBe(2);
  feed.committed.push({ id: 1, all: true });
  await settle(cache);
  expect(cache.stats.size).toBe(0);
  await cache.userBySession(1, "s1");
  await cache.userBySession(2, "s2");
  expect(feed.reads()).toBe(4);
  cache.stop();
});

test("a feed unreadable for longer than the bound: every request reads the store until it is back", async () => {
  const { feed, cache } = await following();
  await cache.userBySession(1, "s1");
  await cache.userBySession(1, "s1");
  expect(feed.reads()).toBe(1);
  feed.fail(true);
  now += 1001;
  await settle(cache);
  expect(cache.fresh).toBe(false);
  await cache.userBySession(1, "s1");
  await cache.userBySession(1, "s1");
  expect(feed.reads()).toBe(3);
  feed.fail(false);
  await settle(cache);
  expect(cache.fresh).toBe(true);
  // Emptied on recovery: the first request reads, the next is served from memory again.
  await cache.userBySession(1, "s1");
  await cache.userBySession(1, "s1");
  expect(feed.reads()).toBe(4);
  cache.stop();
});

test("a backlog longer than one read of the feed: the cache is current only once the feed is read to its end", async () => {
  const { feed, cache } = await following();
  await cache.userBySession(1, "s1");
  expect(feed.reads()).toBe(1);
  // A sweep ends 2.5 pages of other sessions, then user 1 is deactivated, right after a read at `now`.
  const freshSince = now;
  for (let id = 1; id <= 2.5 * FEED_PAGE; id++) feed.committed.push({ id, session: `swept${id}` });
  feed.committed.push({ id: 2.5 * FEED_PAGE + 1, user: 1 });
  feed.hold();
  await settle(cache); // the next read is waiting
  now = freshSince + 500;
  feed.release(); // page 1 comes back at +500 ms
  await settle(cache);
  now = freshSince + 1001;
  feed.release(); // page 2 at +1,001 ms; user 1's row is on page 3, still unread
  await settle(cache);
  // More than the bound after the deactivation was written: not from memory.
  await cache.userBySession(1, "s1");
  expect(feed.reads()).toBe(2);
  expect(cache.fresh).toBe(false);
  feed.open(); // page 3: the feed is read to its end
  await settle(cache);
  expect(cache.fresh).toBe(true);
  cache.stop();
});

test("PostgreSQL: an id skipped before the feed went stale is still waited for when it is back, however long it was away", async () => {
  const { feed, cache } = await following([], true);
  // Id 1 (deactivating user 1) is taken but not committed; id 2 commits: id 1 is watched for as a gap.
  const slow = feed.begin(1);
  feed.begin(2).commit({ id: 2, user: 2 });
  await settle(cache);
  feed.fail(true);
  now += 40_000; // the database stalls for longer than a gap would be watched by the clock
  await settle(cache);
  feed.fail(false);
  await settle(cache); // the first read back starts over, after the newest id; id 1's writer is still open
  expect(cache.fresh).toBe(false);
  await cache.userBySession(1, "s1"); // read just before id 1's transaction commits, and not kept
  slow.commit({ id: 1, user: 1 });
  await settle(cache);
  expect(cache.fresh).toBe(true);
  await cache.userBySession(1, "s1");
  expect(feed.reads()).toBe(2);
  cache.stop();
});

test("PostgreSQL: back from a stale spell, the cache starts over, so a writer of an id reissued during it is waited for", async () => {
  const { feed, cache } = await following([], true);
  for (let id = 1; id <= 10; id++) feed.committed.push({ id, session: `other${id}` });
  await settle(cache);
  feed.fail(true);
  now += 2000;
  await settle(cache);
  // Meanwhile the database fails over and loses ids 5–10; they are handed out again, past the cursor too.
  feed.restore(4);
  const slow = feed.begin(8); // id 8, deactivating user 1, still open when the feed is back
  for (const id of [5, 6, 7, 9, 10, 11, 12]) feed.committed.push({ id, session: `again${id}` });
  feed.fail(false);
  await settle(cache);
  await cache.userBySession(1, "s1"); // before id 8 commits: must not be kept
  slow.commit({ id: 8, user: 1 });
  await settle(cache, 2);
  await cache.userBySession(1, "s1");
  expect(feed.reads()).toBe(2);
  cache.stop();
});

test("PostgreSQL: another database server answering (a failover) makes the cache start over, even with its ids past the cursor", async () => {
  const logLines: string[] = [];
  const { feed, cache } = await following(logLines, true);
  for (let id = 1; id <= 10; id++) feed.committed.push({ id, session: `other${id}` });
  await settle(cache);
  await cache.userBySession(1, "s1");
  expect(feed.reads()).toBe(1);
  // A standby takes over within the bound, without ids 5–10; id 5 now deactivates user 1 and one
  // sweep takes ids 6–11, so the newest id is past the cursor again before the next read.
  feed.failover(4);
  feed.committed.push({ id: 5, user: 1 });
  for (let id = 6; id <= 11; id++) feed.committed.push({ id, session: `swept${id}` });
  await settle(cache, 3);
  await cache.userBySession(1, "s1");
  expect(feed.reads()).toBe(2);
  expect(logLines.filter((line) => line.includes("another database server or feed table answers"))).toHaveLength(1);
  cache.stop();
});

test("ids that go back (the feed truncated, say) make the cache start over, so a reissued id is read", async () => {
  const logLines: string[] = [];
  const { feed, cache } = await following(logLines);
  for (let id = 1; id <= 10; id++) feed.committed.push({ id, session: `other${id}` });
  await settle(cache);
  await cache.userBySession(1, "s1");
  expect(feed.reads()).toBe(1);
  feed.restore(4); // ids 5–10 are gone and will be handed out again
  await settle(cache, 2);
  feed.committed.push({ id: 5, user: 1 }); // deactivating user 1, under an id the cache had read past
  await settle(cache);
  await cache.userBySession(1, "s1");
  expect(feed.reads()).toBe(2);
  expect(logLines.filter((line) => line.includes("revocation feed ids went back"))).toHaveLength(1);
  cache.stop();
});

test("a jump past more feed ids than are watched: nothing is answered from memory until a skipped id has had its time to commit", async () => {
  const logLines: string[] = [];
  const { feed, cache } = await following(logLines);
  await cache.userBySession(1, "s1");
  expect(feed.reads()).toBe(1);
  // Ids 1–1,499 are skipped (a sequence jump, say), too many to watch one by one; id 7 among them is
  // a transaction deactivating user 1 that has not committed yet.
  feed.committed.push({ id: 1500, user: 2 });
  await settle(cache);
  expect(cache.fresh).toBe(false);
  await cache.userBySession(1, "s1");
  await cache.userBySession(1, "s1");
  expect(feed.reads()).toBe(3); // read each time, and not kept
  now += 10_000;
  feed.committed.push({ id: 7, user: 1 }); // behind the cursor: no feed read will return it
  await settle(cache);
  await cache.userBySession(1, "s1");
  expect(feed.reads()).toBe(4); // so this read, after its commit, is what tells
  now += 20_001; // 30 s after the jump: every skipped id has committed, or never will
  await settle(cache);
  expect(cache.fresh).toBe(true);
  await cache.userBySession(1, "s1");
  await cache.userBySession(1, "s1");
  expect(feed.reads()).toBe(5);
  expect(logLines.filter((line) => line.includes("more revocation feed ids skipped than can be watched"))).toHaveLength(1);
  cache.stop();
});

test("a feed read still under way when the cache stops does not make it answer again, nor log an outage", async () => {
  for (const first of [true, false]) {
    for (const readFails of [false, true]) {
      const feed = scripted();
      const logLines: string[] = [];
      const cache = cacheOf(feed.store, logLines);
      if (first) feed.hold(); // the very first read (the feed's newest id) is the one under way
      cache.start();
      if (!first) {
        await settle(cache);
        feed.hold();
        await settle(cache);
      }
      cache.stop();
      // A failed read past the bound is what would log an outage; a read that succeeds would mark it current.
      if (readFails) now += 1001;
      feed.fail(readFails); // the store closing under the read
      feed.open();
      await settle(cache);
      expect(cache.fresh).toBe(false);
      expect(logLines.filter((line) => line.includes("unreadable"))).toEqual([]);
      feed.fail(false);
      await cache.userBySession(1, "s1");
      await cache.userBySession(1, "s1");
      expect(feed.reads()).toBe(2);
    }
  }
});

test("PostgreSQL: a writer still in progress when the cache starts keeps it out of the path until it has ended", async () => {
  const feed = scripted(true);
  // Ids 1–250 are committed but 240 (deactivating user 1), whose transaction is still open.
  for (let id = 1; id <= 250; id++) if (id !== 240) feed.committed.push({ id, session: `other${id}` });
  const writer = feed.begin(240);
  const logLines: string[] = [];
  const cache = cacheOf(feed.store, logLines);
  cache.start();
  await settle(cache, 2);
  expect(feed.cursors[0]).toBe(250); // reads begin after the newest id handed out
  expect(cache.fresh).toBe(false);
  await cache.userBySession(1, "s1");
  await cache.userBySession(1, "s1");
  expect(feed.reads()).toBe(2); // read each time, and not kept: id 240 will never be read
  const logged = (text: string) => logLines.filter((line) => line.includes(text)).length;
  expect(logged("a write transaction has been open")).toBe(0);
  now += 31_000; // left open: that is news, once
  await settle(cache, 2);
  expect(logged("a write transaction has been open")).toBe(1);
  writer.commit({ id: 240, user: 1 });
  await settle(cache);
  expect(cache.fresh).toBe(true);
  expect(logged("answering from memory again")).toBe(1);
  await cache.userBySession(1, "s1"); // read after the commit, so it tells
  await cache.userBySession(1, "s1");
  expect(feed.reads()).toBe(3);
  cache.stop();
});

test("SQLite: a starting cache begins at the newest id and answers at once, its writer committing ids in order", async () => {
  const feed = scripted();
  for (let id = 1; id <= 250; id++) feed.committed.push({ id, session: `other${id}` });
  const cache = cacheOf(feed.store);
  cache.start();
  await settle(cache, 2);
  expect(feed.cursors[0]).toBe(250);
  await cache.userBySession(1, "s1");
  await cache.userBySession(1, "s1");
  expect(feed.reads()).toBe(1);
  feed.committed.push({ id: 251, user: 1 });
  await settle(cache);
  await cache.userBySession(1, "s1");
  expect(feed.reads()).toBe(2);
  cache.stop();
});

test("PostgreSQL: a skipped id is looked for until its writer has ended, however long that takes", async () => {
  const { feed, cache } = await following([], true);
  const slow = feed.begin(1); // takes id 1 to deactivate user 1, and stays open
  feed.begin(2).commit({ id: 2, user: 2 });
  await settle(cache);
  await cache.userBySession(1, "s1");
  expect(feed.reads()).toBe(1);
  // Longer than a gap is watched without a horizon, in steps within the bound (the feed stays current).
  for (let step = 0; step < 35; step++) {
    now += 900;
    await settle(cache);
  }
  slow.commit({ id: 1, user: 1 });
  await settle(cache);
  await cache.userBySession(1, "s1");
  expect(feed.reads()).toBe(2);
  cache.stop();
});

test("PostgreSQL: after a jump past more ids than are watched, the cache is out of the path until the writers then in progress have ended", async () => {
  const { feed, cache } = await following([], true);
  const slow = feed.begin(7);
  feed.begin(1500).commit({ id: 1500, user: 2 });
  await settle(cache);
  expect(cache.fresh).toBe(false);
  now += 120_000;
  await settle(cache);
  expect(cache.fresh).toBe(false); // no clock decides it: the writer of id 7 is still open
  slow.commit({ id: 7, user: 1 });
  await settle(cache);
  expect(cache.fresh).toBe(true);
  cache.stop();
});
