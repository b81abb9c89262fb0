// Password hashing with argon2id (OWASP: 19 MiB, t=2, p=1) on Bun's thread pool, at most a few at a
// time behind a bounded queue. Legacy bcrypt hashes from the seeds' apps verify and get upgraded.
import { Semaphore } from "../util/semaphore.ts";

export type PasswordPolicy = { memoryKiB: number; timeCost: number; concurrency: number; queueMax: number };

export class PasswordHasher {
  private readonly gate: Semaphore;
  private dummyHash: string | undefined;

  constructor(private readonly policy: PasswordPolicy) {
    this.gate = new Semaphore(policy.concurrency, policy.queueMax);
  }

  /**
   * Makes the hash that unknown-email logins are checked against, once, at start-up and outside the
   * queue: made lazily it could fail under load and leave unknown emails answering differently.
   */
  async init(): Promise<void> {
    this.dummyHash = await Bun.password.hash(crypto.randomUUID(), {
      algorithm: "argon2id",
      memoryCost: this.policy.memoryKiB,
      timeCost: this.policy.timeCost,
    });
  }

  get queueDepth(): number {
    return this.gate.depth;
  }

  hash(password: string): Promise<string> {
    return this.gate.run(() =>
      Bun.password.hash(password, {
        algorithm: "argon2id",
        memoryCost: this.policy.memoryKiB,
        timeCost: this.policy.timeCost,
      }),
    );
  }

  /** False for a wrong password and for a hash we cannot read; never throws on bad input. */
  verify(password: string, hash: string): Promise<boolean> {
    return this.gate.run(() => Bun.password.verify(password, hash).catch(() => false));
  }

  /**
   * For an unknown account: spend the same time as a real check so response timing does not
   * reveal which emails exist. Always false.
   */
  async verifyAgainstDummy(password: string): Promise<false> {
    if (this.dummyHash === undefined) throw new TypeError("PasswordHasher.init() was not awaited");
    await this.verify(password, this.dummyHash);
    return false;
  }

  /** True for bcrypt (the seeds' passlib hashes) or argon2id made with weaker parameters than now. */
  needsRehash(hash: string): boolean {
    const match = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(hash);
    if (!match) return true;
    return Number(match[1]) !== this.policy.memoryKiB || Number(match[2]) !== this.policy.timeCost;
  }
}
