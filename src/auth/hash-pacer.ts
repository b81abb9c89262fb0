// Gives busy hashing threads their CPU share in turns of at most 1 ms, paid for by the event loop.
// Linux switches two busy threads on one core only at its tick (4 ms at HZ=250), so a hash at the
// event loop's priority held GET /me for 4–8 ms. Instead the threads run at the lowest priority
// (src/auth/hash-worker.ts) and, while they are starved, the event loop sleeps for under a millisecond
// at a time: waking, it takes the core straight back, so a request waits at most one pause. Where the
// threads get CPU anyway (an idle loop, a second core) nothing pauses.
import { readFileSync } from "node:fs";

/** A thread's CPU time in ms from Linux's schedstat; undefined where that cannot be read. */
export function threadCpuMs(tid: number): number | undefined {
  try {
    return Number(readFileSync(`/proc/self/task/${tid}/schedstat`, "utf8").split(" ")[0]) / 1e6;
  } catch {
    return undefined;
  }
}

type Clock = { now: () => number; pause: (ms: number) => void };
const sleeper = new Int32Array(new SharedArrayBuffer(4));
const realClock: Clock = { now: () => performance.now(), pause: (ms) => void Atomics.wait(sleeper, 0, 0, ms) };

// How often the loop looks, and the longest pause: what hashing may add to a request's wait.
const TURN_MS = 1;
const MAX_PAUSE_MS = 1;
// Below this, a pause costs more (two context switches and timer slack) than it gives.
const MIN_PAUSE_MS = 0.1;

export class HashPacer {
  private readonly threads = new Set<number>();
  private active = 0;
  private timer: Timer | undefined;
  private lastWall = 0;
  private lastCpu = 0;
  /** Time the event loop spent paused for hashing, in ms (for tests and metrics). */
  pausedMs = 0;

  /** `share`: the part of one core the hashing threads are owed while any job runs (0–1). */
  constructor(
    private readonly share: number,
    private readonly cpuOf: (tid: number) => number | undefined = threadCpuMs,
    private readonly clock: Clock = realClock,
  ) {}

  /** A hashing thread to watch (its Linux thread id). */
  watch(tid: number): void {
    if (this.cpuOf(tid) === undefined) return;
    this.threads.add(tid);
    this.start();
  }

  forget(tid: number): void {
    this.threads.delete(tid);
    if (this.threads.size === 0) this.stop();
  }

  /** A job started: look every turn until the last one ends. */
  begin(): void {
    this.active++;
    this.start();
  }

  private start(): void {
    if (this.timer !== undefined || this.active === 0 || this.threads.size === 0) return;
    this.lastWall = this.clock.now();
    this.lastCpu = this.cpu();
    this.timer = setInterval(() => this.turn(), TURN_MS);
    this.timer.unref(); // a running job keeps the process alive (src/auth/hash-pool.ts), the pacer never
  }

  end(): void {
    if (this.active === 0 || --this.active > 0) return;
    this.stop();
  }

  /** No more turns until a job begins (the pool closed, or its last thread went). */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private cpu(): number {
    let sum = 0;
    for (const tid of this.threads) sum += this.cpuOf(tid) ?? 0;
    return sum;
  }

  /**
   * Pauses so that over the work since the last turn plus this pause the threads got their share:
   * a pause p with the threads' `got` during `work` gives (p + got) / (work + p) = share.
   */
  turn(): void {
    const wall = this.clock.now();
    const cpu = this.cpu();
    const owed = this.share * (wall - this.lastWall) - (cpu - this.lastCpu);
    const pause = this.share >= 1 ? MAX_PAUSE_MS : Math.min(MAX_PAUSE_MS, owed / (1 - this.share));
    this.lastWall = wall;
    this.lastCpu = cpu;
    if (!(owed > 0) || pause < MIN_PAUSE_MS) return;
    this.clock.pause(pause);
    this.pausedMs += pause;
    // The pause was the threads' turn: the next window starts after it.
    this.lastWall = this.clock.now();
    this.lastCpu = this.cpu();
  }
}
