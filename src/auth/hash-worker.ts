// A password-hashing thread: sets its own CPU priority (HASH_THREAD_NICE) and reports the CPU time each
// job took, which the pool's budget is charged (src/auth/cpu-budget.ts), so hashing gets a bounded share.
import { readFileSync, readlinkSync } from "node:fs";
import { setPriority } from "node:os";
import { workerData } from "node:worker_threads";

declare const self: Worker;

export type HashJob =
  | { id: number; op: "hash"; password: string; memoryCost: number; timeCost: number }
  | { id: number; op: "verify"; password: string; hash: string };
/** `cpuMs`: this thread's own CPU time for the job, which the hashing budget is charged (src/auth/cpu-budget.ts). */
export type HashReply = { id: number; ok: true; value: string | boolean; cpuMs: number } | { id: number; ok: false; error: string; cpuMs: number };
/** What the parent hands each thread at start (the thread reads no environment of its own). */
export type HashWorkerData = { nice?: number };

// The nice value comes from the pool (src/auth/password.ts says why 0 by default); absent, no renice.
const { nice } = (workerData ?? {}) as HashWorkerData;

if (nice !== undefined) {
  try {
    // On Linux a thread id is a valid target for setpriority(): this renices this thread only.
    const tid = Number(readlinkSync("/proc/thread-self").split("/").pop());
    setPriority(tid, nice);
  } catch {
    // Not Linux, or not allowed: hashing still runs off the event loop, just at normal priority.
  }
}

const utf8 = new TextEncoder();

function verify(password: string, hash: string): boolean {
  try {
    // bcrypt reads only a password's first 72 bytes: passlib and every other implementation drop
    // the rest, while Bun hashes a longer password with SHA-512 first. We never write bcrypt, so
    // each such hash came from one of those apps and is checked the way they made it.
    const bytes = utf8.encode(password);
    if (hash.startsWith("$2") && bytes.length > 72) return Bun.password.verifySync(bytes.subarray(0, 72), hash);
    return Bun.password.verifySync(password, hash);
  } catch {
    return false; // an unreadable stored hash is a failed check, not an error
  }
}

// Linux's schedstat counts this thread's time on a CPU in nanoseconds; getrusage (threadCpuUsage)
// counts in scheduler ticks, and most hashes take less than one.
const threadCpuMs = (): number => {
  try {
    return Number(readFileSync("/proc/thread-self/schedstat", "utf8").split(" ")[0]) / 1e6;
  } catch {
    const { user, system } = process.threadCpuUsage();
    return (user + system) / 1000;
  }
};

self.onmessage = (event: MessageEvent<HashJob>) => {
  const job = event.data;
  const started = threadCpuMs();
  let reply: HashReply;
  try {
    const value =
      job.op === "hash"
        ? Bun.password.hashSync(job.password, { algorithm: "argon2id", memoryCost: job.memoryCost, timeCost: job.timeCost })
        : verify(job.password, job.hash);
    reply = { id: job.id, ok: true, value, cpuMs: threadCpuMs() - started };
  } catch (err) {
    reply = { id: job.id, ok: false, error: err instanceof Error ? err.message : String(err), cpuMs: threadCpuMs() - started };
  }
  postMessage(reply);
};
