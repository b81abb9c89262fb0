// Makes variant sets for pictures stored before them (one JPEG per user), in the background after
// start-up: bounded (a few at a time, through the same decode queue as uploads) and resumable (the work list is the rows still without a set).
import type { Logger } from "../log.ts";
import { describeError } from "../log.ts";
import type { ImageStorage } from "../storage/index.ts";
import { storePictureSet, type PictureSweeper } from "../storage/sweeper.ts";
import type { Store } from "../store/index.ts";
import type { KeyedMutex } from "../util/semaphore.ts";
import type { ImageProcessor } from "./process.ts";

export type BackfillDeps = {
  store: Store;
  storage: ImageStorage;
  images: ImageProcessor;
  sweeper: PictureSweeper;
  imageLocks: KeyedMutex<number>;
  log: Logger;
};

export type BackfillReport = { made: number; skipped: number; failed: number };

/** The row moved on (an upload or a removal) while its variants were being made. */
class Superseded extends Error {}

const why = (err: unknown) => ({ ...describeError(err), stack: undefined });

export class PictureBackfill {
  private stopped = false;
  private running: Promise<BackfillReport> | undefined;

  constructor(
    private readonly deps: BackfillDeps,
    private readonly options: { concurrency: number; batch?: number; progressEveryMs?: number; retryBusyMs?: number },
  ) {}

  /** Starts (once) and returns the run; never rejects: a failed picture is logged and left for the next start. */
  start(): Promise<BackfillReport> {
    this.running ??= this.run().catch((err) => {
      this.deps.log.warn("picture backfill stopped; the next start resumes it", why(err));
      return { made: 0, skipped: 0, failed: 0 };
    });
    return this.running;
  }

  /** No new picture is started; the ones in progress finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  private async run(): Promise<BackfillReport> {
    const report: BackfillReport = { made: 0, skipped: 0, failed: 0 };
    const { store, log } = this.deps;
    if (this.options.concurrency < 1) return report;
    const total = await store.legacyPictureCount();
    if (total === 0) return report;
    log.info("picture backfill started", { pending: total, concurrency: this.options.concurrency });
    const progressEveryMs = this.options.progressEveryMs ?? 10_000;
    let lastProgress = performance.now();
    for (let after = 0; !this.stopped; ) {
      const page = await store.legacyPictures(after, this.options.batch ?? 100);
      if (page.last === undefined) break;
      after = page.last;
      const batch = page.pictures;
      let next = 0;
      const worker = async () => {
        while (!this.stopped && next < batch.length) {
          const item = batch[next++]!;
          const outcome = await this.one(item.id, item.version);
          report[outcome]++;
          if (performance.now() - lastProgress >= progressEveryMs) {
            lastProgress = performance.now();
            log.info("picture backfill progress", { ...report, pending: total - report.made - report.skipped - report.failed });
          }
        }
      };
      await Promise.all(Array.from({ length: this.options.concurrency }, worker));
    }
    log.info(this.stopped ? "picture backfill paused; the next start resumes it" : "picture backfill finished", { ...report, pending: total - report.made - report.skipped - report.failed });
    return report;
  }

  /** One legacy picture: its bytes, its variants, the row moved to them, the old JPEG discarded. */
  private async one(id: number, version: number): Promise<keyof BackfillReport> {
    const { storage, images, imageLocks, sweeper, store, log } = this.deps;
    try {
      const stored = await storage.get(id, version);
      if (!stored) {
        log.warn("picture backfill: the stored picture is missing; left as it is", { user_id: id, version });
        return "failed";
      }
      const source = new Uint8Array(await stored.body.arrayBuffer());
      const made = await this.withRoom(() => images.toVariantSet(source));
      await imageLocks.run(id, async () => {
        await storePictureSet(storage, sweeper, id, version, made, null, async (set) => {
          if (!(await store.attachPictureSet(id, version, set))) throw new Superseded();
        });
        // The row now points at the set: the single JPEG goes (later, if storage is down).
        await sweeper.discard(id, version, undefined);
      });
      return "made";
    } catch (err) {
      if (err instanceof Superseded) return "skipped";
      log.warn("picture backfill: could not make variants; left as it is", { user_id: id, version, ...why(err) });
      return "failed";
    }
  }

  /** Uploads come first: with the decode queue full, wait and try again rather than fail the picture. */
  private async withRoom<T>(work: () => Promise<T>): Promise<T> {
    for (;;) {
      try {
        return await work();
      } catch (err) {
        if ((err as { code?: unknown }).code !== "server_busy" || this.stopped) throw err;
        await Bun.sleep(this.options.retryBusyMs ?? 1000);
      }
    }
  }
}
