// The hashing threads' share of the CPU: a token bucket of CPU time holds a flood of hashes to the configured share
// (a lone job never waits), and each thread runs at the nice value its pool got from config, not from the environment.
import { describe, expect, test } from "bun:test";
import { threadIds, threadPriority } from "../helpers/threads.ts";
import { CpuBudget } from "../../src/auth/cpu-budget.ts";
import { HashPool } from "../../src/auth/hash-pool.ts";
import { PasswordHasher } from "../../src/auth/password.ts";

/** A clock and timers moved by hand. */
function manual() {
  let now = 0;
  const timers = new Map<number, { at: number; run: () => void }>();
  let next = 1;
  return {
    now: () => now,
    timers: {
      set: (run: () => void, ms: number) => (timers.set(next, { at: now + ms, run }), next++),
      clear: (id: unknown) => void timers.delete(id as number),
    },
    async advance(ms: number) {
      now += ms;
      for (const [id, timer] of [...timers]) if (timer.at <= now) (timers.delete(id), timer.run());
      await Promise.resolve();
    },
  };
}

describe("CpuBudget", () => {
  test("a quiet budget admits at once; spent, jobs wait for the refill in arrival order", async () => {
    const time = manual();
    const budget = new CpuBudget(100, 50, time.now, time.timers); // 100 ms of CPU a second, 50 saved up
    await budget.acquire();
    budget.charge(80); // 50 - 80 = -30: the next job waits 300 ms
    const order: string[] = [];
    const first = budget.acquire().then(() => order.push("first"));
    const second = budget.acquire().then(() => order.push("second"));
    await time.advance(299);
    expect(order).toEqual([]);
    await time.advance(2);
    await first;
    expect(order).toEqual(["first"]);
    // The second waits for what the running first will cost (80 ms, as jobs so far): 0.8 s more.
    await time.advance(500);
    expect(order).toEqual(["first"]);
    budget.charge(80);
    await time.advance(1700);
    await second;
    expect(order).toEqual(["first", "second"]);
  });

  test("jobs let in on spare CPU cost the bucket nothing: when other work returns, the next login starts at once", async () => {
    const time = manual();
    let spare = true;
    const budget = new CpuBudget(100, 50, time.now, time.timers, () => spare);
    for (let i = 0; i < 20; i++) {
      const onSpare = await budget.acquire();
      budget.charge(40, onSpare);
    }
    spare = false;
    expect(await budget.acquire()).toBe(false); // on budget, without waiting: the bucket is still full
    budget.charge(40);
    budget.charge(40); // misuse aside, debt is bounded by one burst
    let started = false;
    void budget.acquire().then(() => (started = true));
    await time.advance(1000);
    expect(started).toBe(true);
  });

  test("over any long stretch, admitted CPU time stays within rate × time + burst + one job", async () => {
    const time = manual();
    const budget = new CpuBudget(200, 100, time.now, time.timers);
    let spent = 0;
    const worker = async () => {
      for (;;) {
        await budget.acquire();
        await time.advance(25);
        budget.charge(25);
        spent += 25;
        if (time.now() >= 10_000) return;
      }
    };
    await Promise.race([Promise.all([worker(), worker()]), (async () => { for (let i = 0; i < 20_000 && time.now() < 10_000; i++) await time.advance(1); })()]);
    expect(spent).toBeLessThanOrEqual(200 * 10 + 100 + 2 * 25);
    expect(spent).toBeGreaterThan(200 * 10 * 0.8);
  });
});

/** Hashes back to back for 1.5 s at 10% of one core (100 ms of CPU a second, 50 saved up). */
async function flood(busyEventLoop: boolean) {
  const hasher = new PasswordHasher({ memoryKiB: 8192, timeCost: 1, concurrency: 1, queueMax: 100, cpuPercent: 10 });
  // Other requests, as the event loop sees them: 8 ms of work in every 10.
  const spin = busyEventLoop
    ? setInterval(() => {
        const end = performance.now() + 8;
        while (performance.now() < end);
      }, 10)
    : undefined;
  try {
    const started = performance.now();
    let hashes = 0;
    while (performance.now() - started < 1500) {
      await Promise.all(Array.from({ length: 4 }, () => hasher.hash(`password ${hashes++}`)));
    }
    return { seconds: (performance.now() - started) / 1000, spent: hasher.cpuMsSpent, perHash: hasher.cpuMsSpent / hashes };
  } finally {
    clearInterval(spin);
    hasher.close();
  }
}

test("with the event loop busy, a flood of hashes is held to its CPU share (HASH_CPU_PERCENT); it used to take all it could", async () => {
  const { seconds, spent, perHash } = await flood(true);
  // The flood wanted more than its share (it ran back to back), and got no more than rate × time + burst + one job.
  expect(spent).toBeGreaterThan(50);
  expect(spent).toBeLessThanOrEqual(100 * seconds + 50 + 4 * perHash);
}, 20_000);

test("with the event loop idle, the budget does not hold hashing back (work-conserving)", async () => {
  const { seconds, spent } = await flood(false);
  expect(spent).toBeGreaterThan(100 * seconds + 50 + 100);
}, 20_000);

const threadNices = (): number[] => threadIds().flatMap((tid) => threadPriority(tid)?.nice ?? []);

test("a hashing thread runs at the nice value its pool was given, whatever the environment says", async () => {
  const before = threadNices().filter((n) => n === 7).length;
  const previous = process.env.HASH_THREAD_NICE;
  process.env.HASH_THREAD_NICE = "12";
  const pool = new HashPool(1, { nice: 7 });
  try {
    expect(await pool.run({ op: "verify", password: "x", hash: "not a hash" })).toBe(false);
    expect(threadNices().filter((n) => n === 7).length).toBe(before + 1);
    expect(threadNices()).not.toContain(12);
  } finally {
    pool.close();
    if (previous === undefined) delete process.env.HASH_THREAD_NICE;
    else process.env.HASH_THREAD_NICE = previous;
  }
});

test("a closed pool refuses new jobs instead of sending them to terminated threads", async () => {
  const pool = new HashPool(1);
  pool.close();
  expect(pool.run({ op: "verify", password: "x", hash: "not a hash" })).rejects.toThrow("closed");
});
