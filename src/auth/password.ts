// Password hashing with argon2id (OWASP: 19 MiB, t=2, p=1) on threads with a bounded share of the CPU,
// behind a bounded queue, so a login flood neither starves other requests nor grows memory without end.
import { Semaphore } from "../util/semaphore.ts";
import { CpuBudget, eventLoopIdle } from "./cpu-budget.ts";
import { HashPacer } from "./hash-pacer.ts";
import { HashPool } from "./hash-pool.ts";

/**
 * The hashing threads' CPU priority (0–19, HASH_THREAD_NICE) and their CPU budget (HASH_CPU_PERCENT of
 * the cores they may use). Nice 15 alone made hashing take the leftovers: under a GET /me flood logins
 * crawled (0.6–0.9/s, p99 9 s). Nice 0 gave logins their share, but Linux hands a busy core back and
 * forth only at its 4 ms tick, so GET /me waited 4–8 ms behind a hash. At 19 the threads take the
 * lowest class (SCHED_IDLE) and the pacer gives them their share in turns under 1 ms (bench/RESULTS.md).
 */
export const DEFAULT_THREAD_NICE = 19;
export const DEFAULT_CPU_PERCENT = 50;

export type PasswordPolicy = {
  memoryKiB: number;
  timeCost: number;
  concurrency: number;
  queueMax: number;
  threadNice?: number;
  /** Percent of `concurrency` cores the hashing threads may spend, as their own CPU time per second. */
  cpuPercent?: number;
};

// How much CPU time a quiet spell saves up: a short burst of logins (a shift starting) runs at once.
const BURST_SECONDS = 0.5;

// How many checks of legacy hashes the failure floor remembers, and its ceiling: a check slowed by
// a busy machine ages out after this many others, and never makes a failed login wait past 1 s.
const LEGACY_SAMPLES = 100;
const FLOOR_CEILING_MS = 1000;

// At most one hash per core at a time. Legacy bcrypt hashes from imported apps verify and get upgraded.
export class PasswordHasher {
  private readonly gate: Semaphore;
  private readonly budget: CpuBudget;
  private spentMs = 0;
  private readonly legacyCheckMs: number[] = [];
  private readonly pool: HashPool;
  /** Gives the threads their share of a busy core (src/auth/hash-pacer.ts). */
  readonly pacer: HashPacer;
  private readonly dummyHash: Promise<string>;

  constructor(private readonly policy: PasswordPolicy) {
    this.gate = new Semaphore(policy.concurrency, policy.queueMax);
    const share = (policy.cpuPercent ?? DEFAULT_CPU_PERCENT) / 100;
    const msPerSecond = share * policy.concurrency * 1000;
    // Work-conserving: with the event loop idle, logins use the whole core, as before the budget.
    this.budget = new CpuBudget(msPerSecond, msPerSecond * BURST_SECONDS, undefined, undefined, eventLoopIdle());
    // One thread more than the gate admits: the dummy hash below is made outside the gate, at start.
    this.pacer = new HashPacer(share);
    this.pool = new HashPool(policy.concurrency + 1, { nice: policy.threadNice ?? DEFAULT_THREAD_NICE }, this.pacer);
    // What unknown-email logins are checked against. Made once, up front and outside the queue:
    // made lazily under load it could fail and leave unknown emails answering differently.
    this.dummyHash = this.pool.run({ op: "hash", password: crypto.randomUUID(), ...this.params() }) as Promise<string>;
  }

  private params() {
    return { memoryCost: this.policy.memoryKiB, timeCost: this.policy.timeCost };
  }

  /** CPU time the hashing threads spent on requests' jobs so far (the budget's measure), in ms. */
  get cpuMsSpent(): number {
    return this.spentMs;
  }

  get queueDepth(): number {
    return this.gate.depth;
  }

  /** `signal`: the request's; a job still waiting in line when it aborts is dropped (src/util/semaphore.ts). */
  hash(password: string, signal?: AbortSignal): Promise<string> {
    return this.gate.run(() => this.budgeted({ op: "hash", password, ...this.params() }) as Promise<string>, 0, signal);
  }

  /** One job within the CPU budget: it waits (holding its gate slot) until the budget covers it. */
  private async budgeted(job: Parameters<HashPool["measured"]>[0]): Promise<string | boolean> {
    const spare = await this.budget.acquire();
    const started = performance.now();
    let cpuMs: number | undefined;
    try {
      const result = await this.pool.measured(job);
      cpuMs = result.cpuMs;
      return result.value;
    } finally {
      // A thread that died reports nothing: the wall time is charged instead.
      cpuMs ??= performance.now() - started;
      this.spentMs += cpuMs;
      this.budget.charge(cpuMs, spare);
    }
  }

  /** False for a wrong password and for a hash we cannot read; never throws on bad input. */
  verify(password: string, hash: string, signal?: AbortSignal): Promise<boolean> {
    const legacy = this.needsRehash(hash);
    return this.gate.run(
      async () => {
        const started = performance.now();
        const ok = (await this.budgeted({ op: "verify", password, hash })) as boolean;
        if (legacy) this.rememberLegacyCheck(performance.now() - started);
        return ok;
      },
      0,
      signal,
    );
  }

  private rememberLegacyCheck(ms: number): void {
    this.legacyCheckMs.push(ms);
    if (this.legacyCheckMs.length > LEGACY_SAMPLES) this.legacyCheckMs.shift();
  }

  /**
   * How long a failed login must take at least. Accounts imported from other apps keep their
   * bcrypt (or other argon2) hash until their first login, and checking one takes longer than the
   * dummy check an unknown email gets: without a floor, the time of a wrong guess would tell that
   * the address has an imported account. The floor is the slowest such check lately (0 when there
   * are none, so services without imported accounts pay nothing).
   */
  get failureFloorMs(): number {
    return Math.min(FLOOR_CEILING_MS, Math.max(0, ...this.legacyCheckMs));
  }

  /** Times a check of `hash` (a legacy one found at start) so the floor holds from the first login. */
  async calibrate(hash: string): Promise<void> {
    await this.verify(crypto.randomUUID(), hash);
  }

  /**
   * For an unknown account: spend the same time as a real check so response timing does not
   * reveal which emails exist. Always false.
   */
  async verifyAgainstDummy(password: string, signal?: AbortSignal): Promise<false> {
    await this.verify(password, await this.dummyHash, signal);
    return false;
  }

  /** How every hash made now begins: argon2id with this policy's parameters (and p=1). */
  get currentPrefix(): string {
    return `$argon2id$v=19$m=${this.policy.memoryKiB},t=${this.policy.timeCost},p=1$`;
  }

  /** True for bcrypt (the seeds' passlib hashes) or argon2id made with other parameters than now. */
  needsRehash(hash: string): boolean {
    return !hash.startsWith(this.currentPrefix);
  }

  close(): void {
    this.pool.close();
  }
}
