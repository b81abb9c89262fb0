// The work gate under image decoding and password hashing: slots, a bounded wait line, and a
// shared capacity that heavy jobs (a big decode's memory) are weighed against.
import { describe, expect, test } from "bun:test";
import { QueueFullError, Semaphore } from "../../src/util/semaphore.ts";

/** A job that records when it runs and ends when told to. */
function job(log: string[], name: string) {
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  return { run: async () => { log.push(`start ${name}`); await done; log.push(`end ${name}`); }, finish };
}
const tick = () => Bun.sleep(1);

describe("Semaphore", () => {
  test("at most `limit` jobs at once, the rest in arrival order, past `maxWaiting` refused", async () => {
    const gate = new Semaphore(2, 1);
    const log: string[] = [];
    const [a, b, c] = ["a", "b", "c"].map((n) => job(log, n));
    const runs = [gate.run(a!.run), gate.run(b!.run), gate.run(c!.run)];
    expect(gate.run(async () => {})).rejects.toBeInstanceOf(QueueFullError);
    await tick();
    expect(log).toEqual(["start a", "start b"]);
    expect(gate.depth).toBe(3);
    a!.finish();
    await tick();
    expect(log).toEqual(["start a", "start b", "end a", "start c"]);
    b!.finish();
    c!.finish();
    await Promise.all(runs);
    expect(gate.depth).toBe(0);
  });

  test("weights share the capacity: two that fit run together, a heavy one waits and then runs alone", async () => {
    const gate = new Semaphore(2, 10, 100);
    const log: string[] = [];
    const [light1, heavy, light2, light3] = ["light1", "heavy", "light2", "light3"].map((n) => job(log, n));
    const runs = [gate.run(light1!.run, 40), gate.run(heavy!.run, 500), gate.run(light2!.run, 40), gate.run(light3!.run, 40)];
    await tick();
    // light2 would fit beside light1, but the heavy job came first: no overtaking, so no starvation.
    expect(log).toEqual(["start light1"]);
    light1!.finish();
    await tick();
    expect(log).toEqual(["start light1", "end light1", "start heavy"]);
    heavy!.finish();
    await tick();
    expect(log.slice(3)).toEqual(["end heavy", "start light2", "start light3"]);
    light2!.finish();
    light3!.finish();
    await Promise.all(runs);
  });

  test("a waiting job whose client hangs up leaves the line and never runs; a running one is not touched", async () => {
    const gate = new Semaphore(1, 10);
    const log: string[] = [];
    const [a, b, c] = ["a", "b", "c"].map((n) => job(log, n));
    const gone = new AbortController();
    const runA = gate.run(a!.run, 0, gone.signal); // runs at once: the signal no longer matters
    const runB = gate.run(b!.run, 0, gone.signal);
    const runC = gate.run(c!.run);
    await tick();
    expect(gate.depth).toBe(3);
    gone.abort();
    expect(runB).rejects.toBeInstanceOf(QueueFullError);
    expect(gate.depth).toBe(2);
    a!.finish();
    await tick();
    expect(log).toEqual(["start a", "end a", "start c"]); // c moved up; b never started
    c!.finish();
    await Promise.all([runA, runC]);
    const d = job(log, "d");
    expect(gate.run(d.run, 0, AbortSignal.abort())).rejects.toBeInstanceOf(QueueFullError); // gone before it asked
    await tick();
    expect(log).not.toContain("start d");
    expect(gate.depth).toBe(0);
  });

  test("a job that throws gives its slot and its weight back", async () => {
    const gate = new Semaphore(1, 10, 10);
    await expect(gate.run(async () => { throw new Error("boom"); }, 10)).rejects.toThrow("boom");
    expect(await gate.run(async () => "ran", 10)).toBe("ran");
    expect(gate.depth).toBe(0);
  });
});
