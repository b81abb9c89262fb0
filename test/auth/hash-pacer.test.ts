// The pacer: while hashing threads at the lowest priority are starved, the event loop pauses in turns of
// at most 1 ms so they get their share; where they get CPU anyway it never pauses. Then the real thing on one core.
import { describe, expect, test } from "bun:test";
import { HashPacer } from "../../src/auth/hash-pacer.ts";

/**
 * A pacer on a clock moved by hand (or the real one), with threads whose CPU time the test sets; a
 * pause gives them the CPU unless another process would take it.
 */
function paced(share: number, { threadsRunDuringPause = true, realTime = false } = {}) {
  let now = 0;
  let threadCpu = 0;
  const pauses: number[] = [];
  const pacer = new HashPacer(share, (tid) => (tid === 42 ? threadCpu : undefined), {
    now: () => (realTime ? performance.now() : now),
    pause: (ms) => {
      pauses.push(ms);
      now += ms;
      if (threadsRunDuringPause) threadCpu += ms;
    },
  });
  return {
    pacer,
    pauses,
    /** The event loop works `ms` while the threads get `got` of CPU; then the pacer takes its turn. */
    turn(ms: number, got = 0) {
      now += ms;
      threadCpu += got;
      pacer.turn();
    },
  };
}

describe("HashPacer", () => {
  test("starved threads: past one slow tick's worth owed, the loop pauses 1 ms per 1 ms of work, the 50% share", () => {
    const { pacer, pauses, turn } = paced(0.5);
    pacer.watch(42);
    pacer.begin();
    for (let i = 0; i < 10; i++) turn(1); // 5 ms owed: what a 10 ms tick could still bring
    expect(pauses).toEqual([]);
    turn(1);
    expect(pauses).toEqual([1]);
    for (let i = 0; i < 5; i++) turn(1);
    expect(pauses).toEqual([1, 1, 1, 1, 1, 1]);
    turn(5); // a long stretch of work still pauses only 1 ms: no request waits longer
    expect(pauses.at(-1)).toBe(1);
    pacer.end();
  });

  test("a smaller share pauses in proportion: owed d past the threshold pauses d / (1 − share)", () => {
    const { pacer, pauses, turn } = paced(0.2);
    pacer.watch(42);
    pacer.begin();
    for (let i = 0; i < 10; i++) turn(1); // 2 ms owed = 0.2 × 10 ms: nothing yet
    expect(pauses).toEqual([]);
    turn(0.5); // 0.1 more: 0.125 ms
    expect(pauses[0]).toBeCloseTo(0.125, 6);
    pacer.end();
  });

  test("threads on another core cause no pause, though their CPU time shows only at each 4 ms tick", () => {
    const { pacer, pauses, turn } = paced(0.5);
    pacer.watch(42);
    pacer.begin();
    for (let i = 0; i < 40; i++) turn(1, i % 4 === 3 ? 4 : 0);
    for (let i = 0; i < 40; i++) turn(1, 0.6); // and seen smoothly
    expect(pauses).toEqual([]);
    pacer.end();
  });

  test("a pause that went to another process stops the pausing for 10 turns", () => {
    const { pacer, pauses, turn } = paced(0.5, { threadsRunDuringPause: false });
    pacer.watch(42);
    pacer.begin();
    for (let i = 0; i < 11; i++) turn(1);
    expect(pauses).toEqual([1]);
    for (let i = 0; i < 10; i++) turn(1); // the threads got nothing of that pause: back off
    expect(pauses).toEqual([1]);
    for (let i = 0; i < 11; i++) turn(1); // then owed builds up again from nothing
    expect(pauses).toEqual([1, 1]);
    pacer.end();
  });

  test("it looks only while a job runs and a watched thread exists; unreadable threads are not watched", async () => {
    const { pacer, pauses } = paced(0.5, { realTime: true });
    pacer.watch(7); // unreadable (not Linux, or gone): ignored
    pacer.begin();
    await Bun.sleep(30);
    expect(pauses).toEqual([]); // no thread to watch: no timer
    pacer.watch(42); // the thread's id arrives while the job runs: the pacer starts
    await Bun.sleep(40);
    expect(pauses.length).toBeGreaterThan(0);
    pacer.end();
    const after = pauses.length;
    await Bun.sleep(30);
    expect(pauses.length).toBe(after); // the last job ended: no more turns
    pacer.end(); // an extra end is harmless
  });

  test("a closed pool's pacer stops for good: jobs killed mid-run never leave the event loop pausing", async () => {
    const { pacer, pauses } = paced(0.5, { realTime: true });
    pacer.watch(42);
    pacer.begin(); // a job that will never report back
    pacer.close();
    await Bun.sleep(30);
    expect(pauses).toEqual([]);
    pacer.begin(); // a job begun after close: no thread is watched any more
    await Bun.sleep(30);
    expect(pauses).toEqual([]);
  });
});

type FloodReport = { hashes: number; wallMs: number; hashCpuMs: number; pausedMs: number; longestGapMs: number; idleThreads: number };

async function flood(cores: string, env: Record<string, string> = {}): Promise<FloodReport> {
  const child = Bun.spawn(["taskset", "-c", cores, process.execPath, `${import.meta.dir}/paced-flood.ts`], {
    env: { ...process.env, ...env },
    stdout: "pipe",
    stderr: "inherit",
  });
  const out = await new Response(child.stdout).text();
  expect(await child.exited).toBe(0);
  return JSON.parse(out.trim().split("\n").pop()!);
}

test("on one core with the event loop busy, idle-class hashing threads get their 50% share through pauses", async () => {
  const report = await flood("0");
  expect(report.idleThreads).toBeGreaterThanOrEqual(2); // the pool's threads run as SCHED_IDLE
  expect(report.pausedMs).toBeGreaterThan(0.2 * report.wallMs); // the loop paused for them
  // Their share: 50% of the core, give or take what a noisy machine does to 1.5 s.
  expect(report.hashCpuMs / report.wallMs).toBeGreaterThan(0.3);
  expect(report.hashCpuMs / report.wallMs).toBeLessThan(0.7);
  expect(report.hashes).toBeGreaterThanOrEqual(5);
}, 20_000);


test("with a second core the hashing threads run there and the event loop hardly pauses", async () => {
  const report = await flood("0,1");
  expect(report.hashCpuMs / report.wallMs).toBeGreaterThan(0.6); // a core of their own, more than the share
  expect(report.pausedMs).toBeLessThan(0.1 * report.wallMs); // on one core it is ~0.45
}, 20_000);
