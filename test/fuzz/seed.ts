// The seed every fuzz file starts from (fixed, so a failure in CI replays on a laptop; FUZZ_SEED explores),
// and a small seeded generator for the request fuzzer, which fast-check's shrinking cannot drive.

const fromEnv = Number(process.env.FUZZ_SEED);
export const SEED = Number.isSafeInteger(fromEnv) ? fromEnv : 0x5eed_2025;

/** fast-check parameters: the shared seed and a run count sized to keep each file to seconds. */
export const runs = (numRuns: number) => ({ seed: SEED, numRuns });

/** mulberry32: the same seed replays the same requests against a stateful server, so a printed seed is the repro. */
export class Rng {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed | 0;
  }

  /** A float in [0, 1) (mulberry32). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  bytes(n: number): Uint8Array {
    return Uint8Array.from({ length: n }, () => this.int(256));
  }

  /** Text drawn from `alphabet` (code points), `n` characters long. */
  text(n: number, alphabet: readonly string[]): string {
    return Array.from({ length: n }, () => this.pick(alphabet)).join("");
  }
}
