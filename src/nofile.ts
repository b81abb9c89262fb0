// At start, a warning when the open-files limit is too low for a public service: every connection
// holds a descriptor, and at the limit Bun spins on a failing accept() while new clients hang.
import { readFileSync } from "node:fs";
import type { Logger } from "./log.ts";

/** Below this many descriptors, some thousand idle connections are enough to reach the limit. */
export const SAFE_NOFILE = 4096;

/** The hard `nofile` limit (Bun raises the soft one to it by itself), or undefined where unknown. */
export function hardNofile(limits = "/proc/self/limits"): number | undefined {
  try {
    const line = readFileSync(limits, "utf8").split("\n").find((l) => l.startsWith("Max open files"));
    const hard = line?.trim().split(/\s+/)[4];
    return hard === undefined || hard === "unlimited" ? undefined : Number(hard);
  } catch {
    return undefined; // not Linux: nothing to say
  }
}

export function warnIfLowNofile(log: Logger, hard = hardNofile()): void {
  if (hard === undefined || hard >= SAFE_NOFILE) return;
  log.warn(`open-files limit (nofile) is ${hard}, below ${SAFE_NOFILE}: at the limit new clients hang and the process spins`, {
    nofile: hard,
    safe_floor: SAFE_NOFILE,
    fix: "raise the hard limit: `ulimit -Hn 65536` before starting, LimitNOFILE=65536 (systemd), `docker run --ulimit nofile=65536:65536`, or `ulimits: nofile:` in compose",
  });
}
