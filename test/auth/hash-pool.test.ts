// The hashing threads take their CPU priority from their parent (config → pool → workerData) and
// read no environment themselves: HASH_THREAD_NICE is read once, by src/config.ts.
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { HashPool } from "../../src/auth/hash-pool.ts";

// Field 19 of /proc/<pid>/task/<tid>/stat is the nice value; the name in parentheses may hold spaces.
const threadNices = (): number[] =>
  readdirSync("/proc/self/task").flatMap((tid) => {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
      return [Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16])];
    } catch {
      return [];
    }
  });

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
