// This process's threads as Linux lists them: ids, and each one's nice value and scheduling policy,
// read from /proc/self/task/<tid>/stat (whose name field, in parentheses, may hold spaces).
import { readdirSync, readFileSync } from "node:fs";

export const SCHED_OTHER = 0;
export const SCHED_IDLE = 5;

export const threadIds = (): string[] => readdirSync("/proc/self/task");

/** Fields 19 (nice) and 41 (policy) of a thread's stat; undefined once the thread is gone. */
export function threadPriority(tid: string): { nice: number; policy: number } | undefined {
  try {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { nice: Number(fields[16]), policy: Number(fields[38]) };
  } catch {
    return undefined;
  }
}
