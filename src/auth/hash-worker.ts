// A password-hashing thread. It lowers its own CPU priority first, so while logins queue up the
// event loop (every other request) still gets the core; the hashing takes whatever is left.
import { readlinkSync } from "node:fs";
import { setPriority } from "node:os";

declare const self: Worker;

export type HashJob =
  | { id: number; op: "hash"; password: string; memoryCost: number; timeCost: number }
  | { id: number; op: "verify"; password: string; hash: string };
export type HashReply = { id: number; ok: true; value: string | boolean } | { id: number; ok: false; error: string };

// Nice 10 gives two hashing threads about a fifth of a saturated core: logins keep moving during a
// flood while every other request keeps most of the CPU. HASH_THREAD_NICE tunes it (0 to 19).
const NICE = Math.min(19, Math.max(0, Number(process.env.HASH_THREAD_NICE ?? 10) || 0));

try {
  // On Linux a thread id is a valid target for setpriority(): this renices this thread only.
  const tid = Number(readlinkSync("/proc/thread-self").split("/").pop());
  setPriority(tid, NICE);
} catch {
  // Not Linux, or not allowed: hashing still runs off the event loop, just at normal priority.
}

self.onmessage = (event: MessageEvent<HashJob>) => {
  const job = event.data;
  let reply: HashReply;
  try {
    const value =
      job.op === "hash"
        ? Bun.password.hashSync(job.password, { algorithm: "argon2id", memoryCost: job.memoryCost, timeCost: job.timeCost })
        : (() => {
            try {
              return Bun.password.verifySync(job.password, job.hash);
            } catch {
              return false; // an unreadable stored hash is a failed check, not an error
            }
          })();
    reply = { id: job.id, ok: true, value };
  } catch (err) {
    reply = { id: job.id, ok: false, error: err instanceof Error ? err.message : String(err) };
  }
  postMessage(reply);
};
