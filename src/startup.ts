// What the entry point checks and says around a start: the open-files limit, the container's
// healthcheck command, and a failed start's reason in one line an operator can act on.
import { readFileSync } from "node:fs";
import { portFrom, redactUrl, type Config } from "./config.ts";
import { isUnavailable } from "./store/index.ts";
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

/**
 * Every connection holds a descriptor, and at the limit Bun spins on a failing accept() while new
 * clients hang: a public service warns at start when the limit is that low.
 */
export function warnIfLowNofile(log: Logger, hard = hardNofile()): void {
  if (hard === undefined || hard >= SAFE_NOFILE) return;
  log.warn(`open-files limit (nofile) is ${hard}, below ${SAFE_NOFILE}: at the limit new clients hang and the process spins`, {
    nofile: hard,
    safe_floor: SAFE_NOFILE,
    fix: "raise the hard limit: `ulimit -Hn 65536` before starting, LimitNOFILE=65536 (systemd), `docker run --ulimit nofile=65536:65536`, or `ulimits: nofile:` in compose",
  });
}

/** `profile-service healthcheck`: asks /healthz over loopback and exits 0 or 1, so a distroless image needs no curl. */
export async function healthcheck(port: number = portFrom()): Promise<number> {
  try {
    const reply = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(3000) });
    return reply.status === 200 ? 0 : 1;
  } catch {
    return 1;
  }
}

/** Why the start failed, naming what the operator gave (`config`, once read) and what to change. */
export function startFailureReason(err: unknown, config: Config | undefined): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (isUnavailable(err)) return `cannot reach the database at ${redactUrl(config?.databaseUrl ?? "")} (${code})`;
  if (code === "EADDRINUSE") {
    const where = `${config?.host ?? "127.0.0.1"}:${config?.port ?? 8000}`;
    return `address in use: something already listens on ${where}; stop it or choose another PORT (REUSE_PORT=true shares the port on purpose)`;
  }
  return err instanceof Error ? err.message : String(err);
}
