// Bounds how many expensive jobs (password hashing, image decoding) run at once, with a bounded
// wait line: a flood gets a fast "busy" instead of unbounded memory and ever-growing latency.

export class QueueFullError extends Error {
  constructor() {
    super("the work queue is full");
    this.name = "QueueFullError";
  }
}

export class Semaphore {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    readonly limit: number,
    readonly maxWaiting: number = Number.POSITIVE_INFINITY,
  ) {}

  /** Jobs running plus jobs waiting: what a metrics endpoint reports as queue depth. */
  get depth(): number {
    return this.active + this.waiting.length;
  }

  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) {
      if (this.waiting.length >= this.maxWaiting) throw new QueueFullError();
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.active++;
    }
    try {
      return await job();
    } finally {
      // Hand the slot straight to the next waiter so `active` never dips and lets a newcomer jump the line.
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}
