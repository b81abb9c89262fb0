// Password hashing with argon2id (OWASP: 19 MiB, t=2, p=1) on low-priority threads behind a bounded
// queue, so a login flood neither starves other requests nor grows memory without end.
import { Semaphore } from "../util/semaphore.ts";
import { HashPool } from "./hash-pool.ts";

/**
 * The hashing threads' CPU priority (0–19, HASH_THREAD_NICE). 15: during a login flood that saturates
 * the core, other requests keep ~95% of it (GET /me p99 rose 2.9×, bench/RESULTS.md) and logins
 * crawl; nice 10 kept logins at ~3/s but let GET /me p99 rise 4×.
 */
export const DEFAULT_THREAD_NICE = 15;

export type PasswordPolicy = { memoryKiB: number; timeCost: number; concurrency: number; queueMax: number; threadNice?: number };

// How many checks of legacy hashes the failure floor remembers, and its ceiling: a check slowed by
// a busy machine ages out after this many others, and never makes a failed login wait past 1 s.
const LEGACY_SAMPLES = 100;
const FLOOR_CEILING_MS = 1000;

// At most one hash per core at a time. Legacy bcrypt hashes from imported apps verify and get upgraded.
export class PasswordHasher {
  private readonly gate: Semaphore;
  private readonly legacyCheckMs: number[] = [];
  private readonly pool: HashPool;
  private readonly dummyHash: Promise<string>;

  constructor(private readonly policy: PasswordPolicy) {
    this.gate = new Semaphore(policy.concurrency, policy.queueMax);
    // One thread more than the gate admits: the dummy hash below is made outside the gate, at start.
    this.pool = new HashPool(policy.concurrency + 1, { nice: policy.threadNice ?? DEFAULT_THREAD_NICE });
    // What unknown-email logins are checked against. Made once, up front and outside the queue:
    // made lazily under load it could fail and leave unknown emails answering differently.
    this.dummyHash = this.pool.run({ op: "hash", password: crypto.randomUUID(), ...this.params() }) as Promise<string>;
  }

  private params() {
    return { memoryCost: this.policy.memoryKiB, timeCost: this.policy.timeCost };
  }

  get queueDepth(): number {
    return this.gate.depth;
  }

  hash(password: string): Promise<string> {
    return this.gate.run(() => this.pool.run({ op: "hash", password, ...this.params() }) as Promise<string>);
  }

  /** False for a wrong password and for a hash we cannot read; never throws on bad input. */
  verify(password: string, hash: string): Promise<boolean> {
    const legacy = this.needsRehash(hash);
    return this.gate.run(async () => {
      const started = performance.now();
      const ok = (await this.pool.run({ op: "verify", password, hash })) as boolean;
      if (legacy) this.rememberLegacyCheck(performance.now() - started);
      return ok;
    });
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
  async verifyAgainstDummy(password: string): Promise<false> {
    await this.verify(password, await this.dummyHash);
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
