// Bounds concurrent work. Semaphore: expensive jobs (hashing, decoding, weighed by memory) behind a
// bounded wait line, so a flood gets a fast "busy", not ever-growing memory; KeyedMutex: one per key.
import { CodedError } from "../core.ts";

/** The wait line is full: clients see 503 server_busy with Retry-After, and may simply try again. */
export class QueueFullError extends CodedError {
  constructor() {
    super("server_busy", "Too many requests are waiting; try again shortly.", { headers: { "Retry-After": "1" } });
    this.name = "QueueFullError";
    this.message = "the work queue is full";
  }
}

type Waiter = { weight: number; start: () => void };

export class Semaphore {
  private active = 0;
  private used = 0;
  private readonly waiting: Waiter[] = [];

  constructor(
    readonly limit: number,
    readonly maxWaiting: number = Number.POSITIVE_INFINITY,
    readonly capacity: number = Number.POSITIVE_INFINITY,
  ) {}

  /** Jobs running plus jobs waiting: what a metrics endpoint reports as queue depth. */
  get depth(): number {
    return this.active + this.waiting.length;
  }

  /**
   * Runs `job` once fewer than `limit` jobs run and `weight` fits in what is left of `capacity`.
   * A job heavier than the whole capacity runs alone rather than never. Strictly first come, first
   * served, so a heavy job is not starved by light ones slipping past it.
   */
  async run<T>(job: () => Promise<T>, weight = 0, signal?: AbortSignal): Promise<T> {
    // A client already gone needs no work done, queued or not.
    if (signal?.aborted) throw new QueueFullError();
    const charged = Math.min(weight, this.capacity);
    if (this.waiting.length > 0 || !this.fits(charged)) {
      if (this.waiting.length >= this.maxWaiting) throw new QueueFullError();
      await this.wait(charged, signal);
    } else {
      this.take(charged);
    }
    try {
      return await job();
    } finally {
      this.active--;
      this.used -= charged;
      this.startWaiting();
    }
  }

  /**
   * A place in line; when `signal` aborts first (the client hung up), the place is given up and the
   * job never runs: a flood that gives up leaves no backlog in front of the next requests.
   */
  private wait(weight: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((start, reject) => {
      const leave = () => {
        const at = this.waiting.indexOf(waiter);
        if (at < 0) return;
        this.waiting.splice(at, 1);
        this.startWaiting();
        reject(new QueueFullError());
      };
      const waiter: Waiter = {
        weight,
        start: () => {
          signal?.removeEventListener("abort", leave);
          start();
        },
      };
      this.waiting.push(waiter);
      signal?.addEventListener("abort", leave, { once: true });
    });
  }

  private fits(weight: number): boolean {
    return this.active < this.limit && this.used + weight <= this.capacity;
  }

  private take(weight: number): void {
    this.active++;
    this.used += weight;
  }

  // Slots are handed over here, synchronously, so a newcomer can never jump the line.
  private startWaiting(): void {
    while (this.waiting.length > 0 && this.fits(this.waiting[0]!.weight)) {
      const next = this.waiting.shift()!;
      this.take(next.weight);
      next.start();
    }
  }
}

/**
 * Runs jobs that share a key one after another (e.g. two picture changes for one user), while
 * jobs with different keys run freely. Entries are dropped as soon as their key goes idle.
 */
export class KeyedMutex<K> {
  private readonly tails = new Map<K, Promise<unknown>>();

  async run<T>(key: K, job: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const current = previous.then(job, job);
    const tail = current.catch(() => {});
    this.tails.set(key, tail);
    try {
      return await current;
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
