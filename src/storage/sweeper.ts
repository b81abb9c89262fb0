// Keeps stored pictures in step with the rows: a new set is stored whole before its row points at it,
// and what no row points at goes (a failed removal retried with backoff, a periodic pass for the rest).
import { storedObjects, objectName, storedSet, type VariantSet } from "../images/variants.ts";
import { describeError, type Logger } from "../log.ts";
import { pictureObjects, type PictureSet } from "../store/index.ts";
import type { KeyedMutex } from "../util/semaphore.ts";
import type { CurrentObjects, CurrentVersions, ImageStorage } from "./index.ts";

export type SweeperOptions = {
  /** Only pictures written longer ago than this may go in a pass: younger ones may be uploads about to be recorded. */
  graceMs: number;
  /** Time between passes. */
  intervalMs: number;
  /** Wall clock for comparing with the storage's modification times (injected, so tests can move it). */
  clock: () => number;
  /** First retry of a failed removal; doubled each time up to retryMaxMs. */
  retryFirstMs?: number;
  retryMaxMs?: number;
  /** Past this many queued removals, new failures are left to the next pass rather than held in memory. */
  maxPending?: number;
  /** What picture-set objects rows point at; without it passes keep every set object. */
  currentObjects?: CurrentObjects;
};

/** A legacy picture version to remove, or (with `name`) one object of a picture set. */
type Pending = { userId: number; version: number; name?: string; attempts: number; due: number };

const why = (err: unknown) => ({ ...describeError(err), stack: undefined });

// The database change is the commit point: nothing is removed before the row points elsewhere.
export class PictureSweeper {
  private readonly pending = new Map<string, Pending>();
  /** Retries under way: out of `pending`, not yet done. */
  private retrying = 0;
  private retryTimer: Timer | undefined;
  private passTimer: Timer | undefined;
  private passFailures = 0;
  private stopped = false;
  private readonly retryFirstMs: number;
  private readonly retryMaxMs: number;
  private readonly maxPending: number;

  constructor(
    private readonly storage: ImageStorage,
    private readonly currentVersions: CurrentVersions,
    private readonly locks: KeyedMutex<number>,
    private readonly log: Logger,
    private readonly options: SweeperOptions,
  ) {
    this.retryFirstMs = options.retryFirstMs ?? 1000;
    this.retryMaxMs = options.retryMaxMs ?? 60_000;
    this.maxPending = options.maxPending ?? 10_000;
  }

  /** Removals not yet done: waiting for a retry, or being retried (so 0 means the files are gone). */
  get backlog(): number {
    return this.pending.size + this.retrying;
  }

  /**
   * After a committed change left `version` behind, the row now pointing at `current` (undefined:
   * no picture, or no account). Call it inside the user's image lock. Never throws: the change is
   * made, so a storage failure only means the bytes go later.
   */
  async discard(userId: number, version: number, current: number | undefined): Promise<void> {
    if (!this.storage.discardable(version, current)) return;
    try {
      await this.storage.remove(userId, version);
    } catch (err) {
      this.log.warn("picture not removed yet; retrying in the background", { user_id: userId, version, ...why(err) });
      this.enqueue({ userId, version, attempts: 0, due: 0 });
    }
  }

  /**
   * After a committed change: objects of the user's old picture set that the row no longer points at.
   * Call it inside the user's image lock, with `keep` the names of the set now current (an upload of
   * the same picture again makes the same names). Never throws; failures are retried.
   */
  async discardObjects(userId: number, names: Iterable<string>, keep: Iterable<string> = []): Promise<void> {
    const current = new Set(keep);
    for (const name of names) {
      if (current.has(name)) continue;
      try {
        await this.storage.removeObject(name);
      } catch (err) {
        this.log.warn("picture not removed yet; retrying in the background", { user_id: userId, object: name, ...why(err) });
        this.enqueue({ userId, version: 0, name, attempts: 0, due: 0 });
      }
    }
  }

  /** One pass over the whole storage: whatever no row points at and is older than the grace period goes. */
  async pass(): Promise<number> {
    const { removed } = await this.storage.reconcile(this.currentVersions, {
      before: this.options.clock() - this.options.graceMs,
      currentObjects: this.options.currentObjects,
    });
    if (removed > 0) this.log.warn("removed pictures no account points at", { count: removed });
    else this.log.debug("picture sweep found nothing to remove");
    return removed;
  }

  /** Periodic passes from now on, the first after one interval (start-up runs its own first). */
  start(): void {
    this.stopped = false;
    this.schedulePass(this.options.intervalMs);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.passTimer);
    clearTimeout(this.retryTimer);
    this.passTimer = this.retryTimer = undefined;
  }

  private backoff(attempts: number): number {
    const ms = Math.min(this.retryMaxMs, this.retryFirstMs * 2 ** attempts);
    return ms * (0.8 + Math.random() * 0.4); // spread, so instances do not retry in step
  }

  private enqueue(item: Pending): void {
    const key = item.name ?? `${item.userId}/${item.version}`;
    if (!this.pending.has(key) && this.pending.size >= this.maxPending) {
      this.log.warn("too many picture removals waiting; leaving this one to the periodic pass", { user_id: item.userId, version: item.version });
      return;
    }
    item.due = performance.now() + this.backoff(item.attempts);
    this.pending.set(key, item);
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.stopped || this.pending.size === 0) return;
    const next = Math.min(...[...this.pending.values()].map((item) => item.due));
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.retryDue(), Math.max(0, next - performance.now()));
    this.retryTimer.unref();
  }

  private async retryDue(): Promise<void> {
    this.retryTimer = undefined;
    const now = performance.now();
    const due = [...this.pending.entries()].filter(([, item]) => item.due <= now);
    for (const [key, item] of due) {
      if (this.stopped) return;
      this.pending.delete(key);
      this.retrying++;
      try {
        // Asked again, under the lock: a local file may since have become someone's new picture.
        await this.locks.run(item.userId, async () => {
          if (item.name !== undefined) {
            // Never one a row points at again (the same picture uploaded anew makes the same name).
            const referenced = this.options.currentObjects ? (await this.options.currentObjects([item.userId])).get(item.userId) : undefined;
            if (!referenced?.has(item.name)) await this.storage.removeObject(item.name);
            return;
          }
          const current = (await this.currentVersions([item.userId])).get(item.userId);
          if (this.storage.discardable(item.version, current)) await this.storage.remove(item.userId, item.version);
        });
      } catch (err) {
        item.attempts++;
        if (item.attempts % 5 === 0) this.log.warn("picture removal still failing", { user_id: item.userId, version: item.version, attempts: item.attempts, ...why(err) });
        this.enqueue(item);
      } finally {
        this.retrying--;
      }
    }
    this.scheduleRetry();
  }

  private schedulePass(delayMs: number): void {
    if (this.stopped) return;
    clearTimeout(this.passTimer);
    this.passTimer = setTimeout(async () => {
      let next = this.options.intervalMs * (0.9 + Math.random() * 0.2);
      try {
        await this.pass();
        this.passFailures = 0;
      } catch (err) {
        this.passFailures++;
        // Sooner than a whole interval: the storage or the database is back in seconds, usually.
        next = Math.min(next, this.backoff(this.passFailures + 2));
        this.log.warn("picture sweep failed; will try again", { retry_in_ms: Math.round(next), ...why(err) });
      }
      this.schedulePass(next);
    }, delayMs);
    this.passTimer.unref();
  }
}

/**
 * The one order of a new picture set, for uploads and the backfill: stores every object of `made`
 * (each write atomic), then runs `commit` (the row update), so no row points at a missing object. If a write
 * or the commit fails, the objects written are discarded, except those the current set also has (the
 * same picture uploaded again makes the same names). On success the previous set's objects go, save
 * those the new one shares. Call it inside the user's image lock. Returns the stored set.
 */
export async function storePictureSet(
  storage: ImageStorage,
  sweeper: PictureSweeper,
  userId: number,
  version: number,
  made: VariantSet,
  currentSet: PictureSet | null,
  commit: (set: PictureSet) => Promise<void>,
): Promise<PictureSet> {
  const set: PictureSet = { version, ...storedSet(made, userId) };
  const names = pictureObjects(set);
  const current = currentSet ? pictureObjects(currentSet) : [];
  try {
    // All settled before deciding: a write still running must not land after its clean-up.
    const writes = await Promise.allSettled(storedObjects(made).map((o) => storage.putObject(objectName(userId, o), o.bytes, o.contentType)));
    const failed = writes.find((w): w is PromiseRejectedResult => w.status === "rejected");
    if (failed) throw failed.reason;
    await commit(set);
  } catch (err) {
    await sweeper.discardObjects(userId, names, current);
    throw err;
  }
  await sweeper.discardObjects(userId, current, names);
  return set;
}
