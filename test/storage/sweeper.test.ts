// The picture sweeper on its own: failed removals retried with backoff until they succeed, never
// taking what a row points at by then, and passes that respect the grace period.
import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { createLogger } from "../../src/log.ts";
import { StorageUnavailableError } from "../../src/storage/index.ts";
import { LocalImageStorage } from "../../src/storage/local.ts";
import { PictureSweeper } from "../../src/storage/sweeper.ts";
import { KeyedMutex } from "../../src/util/semaphore.ts";
import { tempDirsForFile } from "../helpers/server.ts";

const tempDir = tempDirsForFile("sweeper-");

/** Local files whose removals fail while `down` is set, as a disk or bucket that is not answering. */
class Flaky extends LocalImageStorage {
  down = false;
  removals = 0;
  /** While set, a removal waits for it: a slow disk or bucket. */
  slow: Promise<void> | undefined;
  override async remove(userId: number): Promise<void> {
    this.removals++;
    await this.slow;
    if (this.down) throw new StorageUnavailableError("remove");
    await super.remove(userId);
  }
}

async function setup(options: { graceMs?: number } = {}) {
  const dir = tempDir();
  const storage = new Flaky(dir, "http://x");
  await storage.init();
  const rows = new Map<number, number>();
  const logs: string[] = [];
  const clock = { now: Date.now() };
  const sweeper = new PictureSweeper(storage, async (ids) => new Map(ids.filter((id) => rows.has(id)).map((id) => [id, rows.get(id)!])), new KeyedMutex(), createLogger((line) => logs.push(line)), {
    graceMs: options.graceMs ?? 60_000,
    intervalMs: 3_600_000,
    clock: () => clock.now,
    retryFirstMs: 50,
    retryMaxMs: 200,
  });
  const file = (id: number) => join(dir, "profile", `${id}.jpg`);
  return { storage, rows, sweeper, clock, logs, file };
}

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error("condition not met in time");
    await Bun.sleep(20);
  }
}

test("a removal that fails is retried in the background, with backoff, until it succeeds", async () => {
  const { storage, sweeper, file } = await setup();
  await storage.put(1, 1, new Uint8Array([1]));
  storage.down = true;
  await sweeper.discard(1, 1, undefined); // does not throw: the change is already made
  expect(sweeper.backlog).toBe(1);
  await Bun.sleep(600);
  const attempts = storage.removals;
  expect(attempts).toBeGreaterThanOrEqual(3); // retried: 50, 100, 200, 200 ms…
  expect(attempts).toBeLessThan(15); // …not in a busy loop
  expect(existsSync(file(1))).toBe(true);
  storage.down = false;
  await until(() => sweeper.backlog === 0);
  expect(existsSync(file(1))).toBe(false);
  sweeper.stop();
});

test("a removal being retried still counts in the backlog until it is done", async () => {
  const { storage, sweeper, file } = await setup();
  await storage.put(3, 1, new Uint8Array([1]));
  storage.down = true;
  await sweeper.discard(3, 1, undefined);
  const slow = Promise.withResolvers<void>();
  storage.slow = slow.promise;
  storage.down = false;
  const attempts = storage.removals;
  await until(() => storage.removals > attempts); // a retry is under way
  expect(sweeper.backlog).toBe(1);
  slow.resolve();
  await until(() => sweeper.backlog === 0);
  expect(existsSync(file(3))).toBe(false);
  sweeper.stop();
});

test("a retry never takes a local file that has meanwhile become the user's picture again", async () => {
  const { storage, rows, sweeper, file } = await setup();
  await storage.put(2, 1, new Uint8Array([1]));
  storage.down = true;
  await sweeper.discard(2, 1, undefined);
  // The user uploads again before the retry: same file name, now the current picture.
  await storage.put(2, 2, new Uint8Array([2]));
  rows.set(2, 2);
  storage.down = false;
  await until(() => sweeper.backlog === 0);
  expect(existsSync(file(2))).toBe(true);
  sweeper.stop();
});

test("a pass removes what no row points at only once it is older than the grace period", async () => {
  const { storage, rows, sweeper, clock, file } = await setup({ graceMs: 60_000 });
  await storage.put(3, 1, new Uint8Array([1])); // an upload not yet recorded, or an orphan
  await storage.put(4, 1, new Uint8Array([1]));
  rows.set(4, 1);
  expect(await sweeper.pass()).toBe(0);
  expect(existsSync(file(3))).toBe(true);
  clock.now += 61_000;
  expect(await sweeper.pass()).toBe(1);
  expect(existsSync(file(3))).toBe(false);
  expect(existsSync(file(4))).toBe(true);
});
