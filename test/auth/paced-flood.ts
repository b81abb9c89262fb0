// Run by test/auth/hash-pacer.test.ts under `taskset -c 0`: hashes back to back for DURATION_MS while
// the event loop spins, so both want the one core; prints what hashing got and how long the loop waited.
import { SCHED_IDLE, threadIds, threadPriority } from "../helpers/threads.ts";
import { PasswordHasher } from "../../src/auth/password.ts";

const DURATION_MS = Number(process.env.DURATION_MS ?? 1500);
const threadNice = process.env.THREAD_NICE === undefined ? undefined : Number(process.env.THREAD_NICE);
const hasher = new PasswordHasher({ memoryKiB: 19456, timeCost: 2, concurrency: 1, queueMax: 10, threadNice, cpuPercent: 50 });
await hasher.hash("warm up"); // the threads report their ids before the flood

// The event loop's own work: 0.2 ms slices back to back, as a GET /me flood keeps it busy. The longest
// gap between two slices is what a request would have waited.
let longestGapMs = 0;
let last = performance.now();
let spinning = true;
const spin = () => {
  const started = performance.now();
  longestGapMs = Math.max(longestGapMs, started - last);
  while (performance.now() - started < 0.2);
  last = performance.now();
  if (spinning) setImmediate(spin);
};
setImmediate(spin);

const spentBefore = hasher.cpuMsSpent;
const pausedBefore = hasher.pacer.pausedMs;
const started = performance.now();
let hashes = 0;
while (performance.now() - started < DURATION_MS) {
  await hasher.hash(`password ${hashes++}`);
}
spinning = false;
const wallMs = performance.now() - started;

const policies = threadIds().map((tid) => threadPriority(tid)?.policy);
hasher.close();
console.log(JSON.stringify({
  hashes,
  wallMs,
  hashCpuMs: hasher.cpuMsSpent - spentBefore,
  pausedMs: hasher.pacer.pausedMs - pausedBefore,
  longestGapMs,
  idleThreads: policies.filter((p) => p === SCHED_IDLE).length,
}));
