// Gives busy hashing threads their CPU share in turns of at most 1 ms, paid for by the event loop.
// Linux switches two busy threads on one core only at its tick (4 ms at HZ=250), so a hash at the
// event loop's priority held GET /me for 4–8 ms. Instead the threads run at the lowest priority
// (src/auth/hash-worker.ts) and, while they are starved, the event loop sleeps for under a millisecond
// at a time: waking, it takes the core straight back, so a request waits at most one pause. Where the
// threads get CPU anyway (an idle loop, a second core) nothing pauses.
import { schedstatMs } from "./cpu-budget.ts";

const threadCpuMs = (tid: number) => schedstatMs(`/proc/self/task/${tid}/schedstat`);

type Clock = { now: () => number; pause: (ms: number) => void };
const sleeper = new Int32Array(new SharedArrayBuffer(4));
const realClock: Clock = { now: () => performance.now(), pause: (ms) => void Atomics.wait(sleeper, 0, 0, ms) };

// How often the loop looks, and the longest pause: what hashing may add to a request's wait.
const TURN_MS = 1;
const MAX_PAUSE_MS = 1;
// Below this, a pause costs more (two context switches and timer slack) than it gives.
const MIN_PAUSE_MS = 0.1;
// A thread running on another core has its CPU time brought up to date only at a tick or a switch
// (every 4 ms at HZ=250, 10 ms at HZ=100): what it is owed is carried across turns, and the loop
// pauses only once more than a slowest tick's worth is owed, so those steps never look like starvation.
const SLOWEST_TICK_MS = 10;
// A pause in which the threads got less than this part of it went to someone else (another process
// has the core): the loop stops pausing for a while instead of giving the core away for nothing.
const USEFUL_PAUSE = 0.25;
const BACK_OFF_TURNS = 10;

export class HashPacer {
  private readonly threads = new Set<number>();
  private active = 0;
  private timer: Timer | undefined;
  private lastWall = 0;
  private lastCpu = 0;
  /** CPU time the threads are owed (negative: ahead), carried across turns within ±one slow tick's worth. */
  private owed = 0;
  private lastPause = 0;
  private backOff = 0;
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
    this.lastCpu = this.cpu(); // its past CPU time is not this window's
    this.start();
  }

  forget(tid: number): void {
    this.threads.delete(tid);
    this.lastCpu = this.cpu();
    if (this.threads.size === 0) this.stop();
  }

  /** A job started: look every turn until the last one ends. */
  begin(): void {
    this.active++;
    this.start();
  }

  end(): void {
    if (this.active === 0 || --this.active > 0) return;
    this.stop();
  }

  /** The pool closed: no jobs, no threads, no turns, whatever was still running. */
  close(): void {
    this.active = 0;
    this.threads.clear();
    this.stop();
  }

  private start(): void {
    if (this.timer !== undefined || this.active === 0 || this.threads.size === 0) return;
    this.lastWall = this.clock.now();
    this.lastCpu = this.cpu();
    // `owed` carries over from the last job: back-to-back jobs do not each wait a tick's worth first.
    this.lastPause = 0;
    this.backOff = 0;
    this.timer = setInterval(() => this.turn(), TURN_MS);
    this.timer.unref(); // a running job keeps the process alive (src/auth/hash-pool.ts), the pacer never
  }

  private stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private cpu(): number {
    let sum = 0;
    for (const tid of this.threads) sum += this.cpuOf(tid) ?? 0;
    return sum;
  }

  /**
   * Adds what the threads are owed since the last turn (share of the wall time minus what they got)
   * and, past one slow tick's worth, pauses for it: a pause p makes up d owed when p = d / (1 − share),
   * since the threads get the pause and are owed share of it too.
   */
  turn(): void {
    const wall = this.clock.now();
    const cpu = this.cpu();
    const got = cpu - this.lastCpu;
    const limit = this.share * SLOWEST_TICK_MS;
    this.owed = Math.max(-limit, Math.min(limit + MAX_PAUSE_MS, this.owed + this.share * (wall - this.lastWall) - got));
    this.lastWall = wall;
    this.lastCpu = cpu;
    if (this.lastPause > 0 && got < USEFUL_PAUSE * this.lastPause) this.backOff = BACK_OFF_TURNS;
    this.lastPause = 0;
    if (this.backOff > 0) {
      this.backOff--;
      this.owed = 0;
      return;
    }
    const excess = this.owed - limit;
    if (excess <= 0) return;
    const pause = this.share >= 1 ? MAX_PAUSE_MS : Math.min(MAX_PAUSE_MS, excess / (1 - this.share));
    if (pause < MIN_PAUSE_MS) return;
    this.clock.pause(pause);
    this.pausedMs += pause;
    this.lastPause = pause;
  }
}
