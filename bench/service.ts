// The service as its own process for the proof scripts (load, crash, million) and their test: the
// real src/main.ts in production mode over a temp directory, stopped by SIGTERM or killed by SIGKILL.
import { closeSync, mkdirSync, openSync, readFileSync } from "node:fs";
import { cpus } from "node:os";
import { join, resolve } from "node:path";
import { startSmtpSink, type SmtpSink } from "../test/helpers/smtp.ts";
import { freePort } from "./lib.ts";

// Production wants a mail server: one sink per benchmark process takes every verification mail.
let sink: Promise<SmtpSink> | undefined;

export const MAIN = resolve(import.meta.dir, "../src/main.ts");

export type ServiceOptions = {
  /** Holds app.db, static/ and data/; reused as is, so a restart sees what the last run left. */
  dir: string;
  jwtSecret: string;
  /** `taskset -c <cpus>` in front of bun (taskset execs, so the pid is still bun's). */
  cpus?: string;
  /** Extra environment on top of the production settings below. */
  env?: Record<string, string>;
  /** Where stdout (the access log) and stderr go; appended to across restarts. */
  logFile?: string;
};

export type Service = {
  pid: number;
  url: string;
  proc: Bun.Subprocess;
  /** SIGTERM, then the exit code (SIGKILL and -1 if it has not exited within `timeoutMs`). */
  stop(timeoutMs?: number): Promise<number>;
  /** SIGKILL, at once: the crash under test. Resolves once the process is gone. */
  kill(): Promise<void>;
};

export const databaseFile = (dir: string) => join(dir, "app.db");
export const pictureFolder = (dir: string) => join(dir, "static", "profile");

export async function startService(options: ServiceOptions): Promise<Service> {
  const { dir } = options;
  mkdirSync(dir, { recursive: true });
  const port = freePort();
  const url = `http://127.0.0.1:${port}`;
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: process.env.HOME ?? dir,
    NODE_ENV: "production",
    JWT_SECRET: options.jwtSecret,
    HOST: "127.0.0.1",
    PORT: String(port),
    PUBLIC_BASE_URL: url,
    DATABASE_URL: `sqlite://${databaseFile(dir)}`,
    STATIC_DIR: join(dir, "static"),
    DATA_DIR: join(dir, "data"),
    RATE_LIMITS: "off",
    SMTP_URL: (await (sink ??= startSmtpSink())).url,
    ...options.env,
  };
  const cmd = options.cpus ? ["taskset", "-c", options.cpus, process.execPath, MAIN] : [process.execPath, MAIN];
  // Opened for appending, so one file keeps the output of every restart.
  const fd = options.logFile ? openSync(options.logFile, "a") : undefined;
  const proc = Bun.spawn(cmd, { cwd: dir, env, stdin: "ignore", stdout: fd ?? "ignore", stderr: fd ?? "ignore" });
  if (fd !== undefined) closeSync(fd);

  const deadline = performance.now() + 20_000;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      throw new Error(`service exited (${proc.exitCode ?? proc.signalCode}) before answering; see ${options.logFile ?? "its output"}`);
    }
    try {
      const res = await fetch(`${url}/healthz`);
      await res.arrayBuffer();
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (performance.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error(`service at ${url} did not answer /healthz within 20 s`);
    }
    await Bun.sleep(10);
  }
  if (!/^Name:\s*bun/m.test(readFileSync(`/proc/${proc.pid}/status`, "utf8"))) {
    proc.kill("SIGKILL");
    throw new Error(`pid ${proc.pid} is not the bun process`);
  }

  return {
    pid: proc.pid,
    url,
    proc,
    async stop(timeoutMs = 15_000) {
      proc.kill("SIGTERM");
      const timedOut = Bun.sleep(timeoutMs).then(() => "timeout" as const);
      if ((await Promise.race([proc.exited, timedOut])) === "timeout") {
        proc.kill("SIGKILL");
        await proc.exited;
        return -1;
      }
      return proc.exitCode ?? -1;
    },
    async kill() {
      proc.kill("SIGKILL");
      await proc.exited;
    },
  };
}

/** A random 64-character secret, like bench/run.sh gives the service. */
export function randomSecret(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(48))).toString("base64");
}

// ---------------------------------------------------------------------------------------------
// CPU accounting: how busy the machine was, and how much of that was neither the server nor us.
// ---------------------------------------------------------------------------------------------
const TICKS_PER_SECOND = 100; // USER_HZ on Linux

function machineBusyTicks(): number {
  const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!;
  const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
  return user! + nice! + system! + irq! + softirq! + steal!;
}

/**
 * utime + stime of a whole process (all its threads), in ticks; 0 once it is gone. For "self", also
 * cutime + cstime: children we have waited for (wrk) count as the load generator.
 */
function processTicks(pid: number | "self"): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ").map(Number);
    return fields[11]! + fields[12]! + (pid === "self" ? fields[13]! + fields[14]! : 0);
  } catch {
    return 0;
  }
}

export type CpuMark = { at: number; busy: number; server: number; self: number; serverPid: number };

export function cpuMark(serverPid: number): CpuMark {
  return { at: performance.now(), busy: machineBusyTicks(), server: processTicks(serverPid), self: processTicks("self"), serverPid };
}

/** Percent of one core over the window: the server, this load generator, and everything else. */
export function cpuSince(mark: CpuMark): { server: number; client: number; other: number } {
  const seconds = (performance.now() - mark.at) / 1000;
  const pct = (ticks: number) => Math.round((ticks / TICKS_PER_SECOND / seconds) * 100);
  const server = processTicks(mark.serverPid) - mark.server;
  const self = processTicks("self") - mark.self;
  const busy = machineBusyTicks() - mark.busy;
  return { server: pct(server), client: pct(self), other: Math.max(0, pct(busy - server - self)) };
}

/** One line about the machine for reports. */
export function machineLine(): string {
  const cpu = readFileSync("/proc/cpuinfo", "utf8").match(/model name\s*:\s*(.*)/)?.[1] ?? "unknown CPU";
  const memKiB = Number(readFileSync("/proc/meminfo", "utf8").match(/MemTotal:\s*(\d+)/)?.[1] ?? 0);
  return `${cpus().length} cores (${cpu}), ${(memKiB / 1048576).toFixed(1)} GiB RAM, bun ${Bun.version}, load average ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`;
}
