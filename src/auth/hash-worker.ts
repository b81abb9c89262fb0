// A password-hashing thread: sets its own CPU priority (HASH_THREAD_NICE) and reports the CPU time each
// job took, which the pool's budget is charged (src/auth/cpu-budget.ts), so hashing gets a bounded share.
import { dlopen, ptr } from "bun:ffi";
import { readlinkSync } from "node:fs";
import { setPriority } from "node:os";
import { workerData } from "node:worker_threads";
import { schedstatMs } from "./cpu-budget.ts";

declare const self: Worker;

export type HashJob =
  | { id: number; op: "hash"; password: string; memoryCost: number; timeCost: number }
  | { id: number; op: "verify"; password: string; hash: string };
/** `cpuMs`: this thread's own CPU time for the job, which the hashing budget is charged (src/auth/cpu-budget.ts). */
export type HashReply = { id: number; ok: true; value: string | boolean; cpuMs: number } | { id: number; ok: false; error: string; cpuMs: number };
/** A thread's first message: its Linux thread id, for the pool's pacer (src/auth/hash-pacer.ts); absent elsewhere. */
export type HashThreadReady = { tid?: number };
/** What the parent hands each thread at start (the thread reads no environment of its own). */
export type HashWorkerData = { nice?: number };

// The nice value comes from the pool (src/auth/password.ts says why 19 by default); absent, no renice.
const { nice } = (workerData ?? {}) as HashWorkerData;

const tid = ((): number | undefined => {
  try {
    return Number(readlinkSync("/proc/thread-self").split("/").pop());
  } catch {
    return undefined; // not Linux
  }
})();

// sched_setattr(2)'s system call number; glibc has no wrapper for it.
const SCHED_SETATTR: Partial<Record<string, number>> = { x64: 314, arm64: 274 };
const SCHED_IDLE = 5;

/**
 * Linux's SCHED_IDLE for this thread: it runs only when nothing else on the core wants to, and a
 * waking event loop takes the core back at once. The pacer (src/auth/hash-pacer.ts) gives it its share.
 */
function idlePolicy(): boolean {
  const call = SCHED_SETATTR[process.arch];
  if (call === undefined) return false;
  try {
    const libc = dlopen("libc.so.6", { syscall: { args: ["i64", "i64", "ptr", "i64"], returns: "i64" } });
    // struct sched_attr (56 bytes): size, policy, flags, nice, priority, runtime, deadline, period, util.
    const attr = new DataView(new ArrayBuffer(56));
    attr.setUint32(0, 56, true);
    attr.setUint32(4, SCHED_IDLE, true);
    attr.setInt32(16, 19, true);
    const ok = Number(libc.symbols.syscall(call, 0, ptr(new Uint8Array(attr.buffer)), 0)) === 0;
    libc.close();
    return ok;
  } catch {
    return false; // not glibc, or not allowed
  }
}

if (nice !== undefined && tid !== undefined) {
  try {
    // At 19 the lowest class Linux has; otherwise setpriority() on a thread id renices this thread only.
    if (nice < 19 || !idlePolicy()) setPriority(tid, nice);
  } catch {
    // Not allowed: hashing still runs off the event loop, just at normal priority.
  }
}
postMessage({ tid } satisfies HashThreadReady);

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
  const fromSchedstat = schedstatMs("/proc/thread-self/schedstat");
  if (fromSchedstat !== undefined) return fromSchedstat;
  const { user, system } = process.threadCpuUsage();
  return (user + system) / 1000;
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
