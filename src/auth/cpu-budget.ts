// A token bucket of CPU time for password hashing: at most `msPerSecond` of the hashing threads' own
// CPU time per second while other work wants the CPU, so a login flood takes a bounded share, never all of it.
import { readFileSync } from "node:fs";

/** Milliseconds, monotonic; injected so tests drive time by hand. */
export type Now = () => number;
type Timers = { set: (run: () => void, ms: number) => unknown; clear: (timer: unknown) => void };
const realTimers: Timers = { set: (run, ms) => setTimeout(run, ms), clear: (timer) => clearTimeout(timer as Timer) };

const SPARE_CHECK_MS = 50;

/** CPU time in ms from a Linux schedstat file (`/proc/thread-self/schedstat` or a task's); undefined elsewhere. */
export function schedstatMs(path: string): number | undefined {
  try {
    return Number(readFileSync(path, "utf8").split(" ")[0]) / 1e6;
  } catch {
    return undefined;
  }
}

/**
 * Whether the event loop (this thread) left the CPU mostly idle lately: its own CPU time over the last
 * ≥ `windowMs`, from Linux's schedstat. Below `idleBelow` of the wall time it wanted little, whatever
 * hashing took (a thread at the same priority still gets half a shared core). Elsewhere: never spare.
 */
export function eventLoopIdle(idleBelow = 0.25, windowMs = 50): () => boolean {
  const cpuMs = () => schedstatMs("/proc/thread-self/schedstat");
  let lastWall = performance.now();
  let lastCpu = cpuMs();
  let idle = false;
  return () => {
    if (lastCpu === undefined) return false;
    const wall = performance.now();
    if (wall - lastWall >= windowMs) {
      const cpu = cpuMs() ?? lastCpu;
      idle = (cpu - lastCpu) / (wall - lastWall) < idleBelow;
      lastWall = wall;
      lastCpu = cpu;
    }
    return idle;
  };
}

export class CpuBudget {
  private tokens: number;
  private last: number;
  private running = 0;
  private averageCostMs = 0;
  private readonly waiting: Array<(spare: boolean) => void> = [];
  private timer: unknown;

  /** `burstMs`: how much CPU time a quiet spell saves up (a burst of logins after a pause runs at once). */
  constructor(
    readonly msPerSecond: number,
    readonly burstMs: number,
    private readonly now: Now = () => performance.now(),
    private readonly timers: Timers = realTimers,
    /** True while nothing else wants the CPU: then a job starts whatever the bucket holds (work-conserving). */
    private readonly spare: () => boolean = () => false,
  ) {
    if (!(msPerSecond > 0) || !(burstMs > 0)) throw new TypeError("a CPU budget needs a positive rate and burst");
    this.tokens = burstMs;
    this.last = now();
  }

  /** Jobs waiting for budget (each also holds a slot of the caller's concurrency gate). */
  get waitingCount(): number {
    return this.waiting.length;
  }

  /**
   * Resolves when the budget covers one more job, first come first served: true when it was let in on
   * spare CPU instead (nothing else wanted the core), which the bucket is then not charged for.
   */
  acquire(): Promise<boolean> {
    if (this.waiting.length === 0) {
      const admitted = this.admit();
      if (admitted !== undefined) return Promise.resolve(admitted);
    }
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.schedule();
    });
  }

  /**
   * A job finished, having used `cpuMs` of CPU time (possibly more than was left: the bucket goes
   * negative, down to one burst of debt). `spare`: what acquire said; such a job costs the bucket nothing.
   */
  charge(cpuMs: number, spare = false): void {
    this.refill();
    this.running = Math.max(0, this.running - 1);
    if (!spare) this.tokens = Math.max(-this.burstMs, this.tokens - cpuMs);
    // What the jobs still running will cost, roughly: they are admitted against it.
    this.averageCostMs = this.averageCostMs === 0 ? cpuMs : this.averageCostMs * 0.8 + cpuMs * 0.2;
    this.release();
  }

  private refill(): void {
    const now = this.now();
    this.tokens = Math.min(this.burstMs, this.tokens + ((now - this.last) * this.msPerSecond) / 1000);
    this.last = now;
  }

  /** Lets one job in if it can start now: true on spare CPU (looked at first), false on budget, undefined if it must wait. */
  private admit(): boolean | undefined {
    this.refill();
    const admitted = this.spare() ? true : this.tokens - this.running * this.averageCostMs > 0 ? false : undefined;
    if (admitted !== undefined) this.running++;
    return admitted;
  }

  private release(): void {
    while (this.waiting.length > 0) {
      const admitted = this.admit();
      if (admitted === undefined) break;
      this.waiting.shift()!(admitted);
    }
    this.schedule();
  }

  private schedule(): void {
    if (this.timer !== undefined) this.timers.clear(this.timer);
    this.timer = undefined;
    if (this.waiting.length === 0) return;
    const deficit = this.running * this.averageCostMs - this.tokens;
    // When the deficit will have refilled; at least 1 ms so a rounding error never spins.
    // Spare CPU is looked for again every SPARE_CHECK_MS.
    const ms = Math.min(SPARE_CHECK_MS, Math.max(1, Math.ceil((deficit * 1000) / this.msPerSecond)));
    this.timer = this.timers.set(() => {
      this.timer = undefined;
      this.release();
    }, ms);
  }
}
