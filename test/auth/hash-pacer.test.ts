// The pacer: while hashing threads at the lowest priority are starved, the event loop pauses in turns of
// at most 1 ms so they get their share; where they get CPU anyway it never pauses. Then the real thing on one core.
import { describe, expect, test } from "bun:test";
import { HashPacer } from "../../src/auth/hash-pacer.ts";

/** A pacer on a clock moved by hand, with threads whose CPU time the test sets; pauses give them CPU. */
function paced(share: number, { threadsRunDuringPause = true } = {}) {
  let now = 0;
  let threadCpu = 0;
  const pauses: number[] = [];
  const pacer = new HashPacer(share, (tid) => (tid === 42 ? threadCpu : undefined), {
    now: () => now,
    pause: (ms) => {
      pauses.push(ms);
      now += ms;
      if (threadsRunDuringPause) threadCpu += ms;
    },
  });
  return {
    pacer,
    pauses,
    /** The event loop works `ms` while the threads get `got` of CPU. */
    work(ms: number, got = 0) {
      now += ms;
      threadCpu += got;
    },
  };
}

describe("HashPacer", () => {
  test("starved threads get a pause that makes up their share: work w at share s pauses s·w/(1−s), at most 1 ms", () => {
    const half = paced(0.5);
    half.pacer.watch(42);
    half.pacer.begin();
    half.work(0.6);
    half.pacer.turn();
    expect(half.pauses).toEqual([0.6]);
    half.work(3); // a long stretch of work still pauses only 1 ms: no request waits longer
    half.pacer.turn();
    expect(half.pauses).toEqual([0.6, 1]);
    half.pacer.end();

    const fifth = paced(0.2);
    fifth.pacer.watch(42);
    fifth.pacer.begin();
    fifth.work(2);
    fifth.pacer.turn();
    expect(fifth.pauses[0]).toBeCloseTo(0.5, 6); // (0.2 · 2) / 0.8: the threads get 0.5 of 2.5 ms
    fifth.pacer.end();
  });

  test("threads that got their share (an idle loop, another core) cause no pause", () => {
    const { pacer, pauses, work } = paced(0.5);
    pacer.watch(42);
    pacer.begin();
    for (let i = 0; i < 10; i++) {
      work(1, 0.6);
      pacer.turn();
    }
    expect(pauses).toEqual([]);
    // Owed less than 0.1 ms: a pause would cost more than it gives.
    work(1, 0.45);
    pacer.turn();
    expect(pauses).toEqual([]);
    pacer.end();
  });

  test("a pause is the threads' turn: the next window starts after it, so the share is not paid twice", () => {
    const { pacer, pauses, work } = paced(0.5);
    pacer.watch(42);
    pacer.begin();
    work(1);
    pacer.turn();
    pacer.turn(); // at once after the pause: nothing more is owed
    expect(pauses).toEqual([1]);
    pacer.end();
  });

  test("it looks only while a job runs and a watched thread exists, and threads it cannot read are not watched", async () => {
    const { pacer, pauses, work } = paced(0.5);
    pacer.watch(7); // unreadable (not Linux, or gone): ignored
    pacer.begin();
    work(5);
    await Bun.sleep(5);
    expect(pauses).toEqual([]); // no thread to watch: no timer
    pacer.watch(42); // the thread's id arrives while the job runs: the pacer starts
    work(1);
    await Bun.sleep(20);
    expect(pauses.length).toBeGreaterThan(0);
    pacer.end();
    const after = pauses.length;
    work(5);
    await Bun.sleep(20);
    expect(pauses.length).toBe(after); // the last job ended: no more turns
    pacer.end(); // an extra end is harmless
  });
});

type FloodReport = { hashes: number; wallMs: number; hashCpuMs: number; pausedMs: number; longestGapMs: number; idleThreads: number };

async function floodOnOneCore(env: Record<string, string> = {}): Promise<FloodReport> {
  const child = Bun.spawn(["taskset", "-c", "0", process.execPath, `${import.meta.dir}/paced-flood.ts`], {
    env: { ...process.env, ...env },
    stdout: "pipe",
    stderr: "inherit",
  });
  const out = await new Response(child.stdout).text();
  expect(await child.exited).toBe(0);
  return JSON.parse(out.trim().split("\n").pop()!);
}

test("on one core with the event loop busy, idle-class hashing threads get their 50% share through pauses", async () => {
  const report = await floodOnOneCore();
  expect(report.idleThreads).toBeGreaterThanOrEqual(2); // the pool's threads run as SCHED_IDLE
  expect(report.pausedMs).toBeGreaterThan(0.2 * report.wallMs); // the loop paused for them
  // Their share: 50% of the core, give or take what a noisy machine does to 1.5 s.
  expect(report.hashCpuMs / report.wallMs).toBeGreaterThan(0.3);
  expect(report.hashCpuMs / report.wallMs).toBeLessThan(0.7);
  expect(report.hashes).toBeGreaterThanOrEqual(5);
}, 20_000);

test("a closed pool's pacer stops: jobs killed mid-run never leave the event loop pausing", async () => {
  const { pacer, pauses, work } = paced(0.5);
  pacer.watch(42);
  pacer.begin(); // a job that will never report back
  pacer.stop();
  work(5);
  await Bun.sleep(20);
  expect(pauses).toEqual([]);
  pacer.watch(42);
  pacer.forget(42); // its last thread gone: no turns either
  work(5);
  await Bun.sleep(20);
  expect(pauses).toEqual([]);
});
