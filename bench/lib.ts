// Small helpers shared by the bench clients (they run as the load generator, on core 1).
import { readFileSync } from "node:fs";

export const MIB = 1024 * 1024;

/** A number from the environment (how the proof scripts take their knobs), or `fallback` when unset. */
export const envNumber = (name: string, fallback: number): number => (process.env[name] ? Number(process.env[name]) : fallback);

export function die(message: string): never {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(1);
}

/** A port that was free a moment ago on 127.0.0.1 (the kernel picks it). */
export function freePort(): number {
  const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = listener.port;
  listener.stop(true);
  return port;
}

/** kB values from /proc/<pid>/status, e.g. VmRSS and VmHWM; undefined if the process is gone. */
export function procStatus(pid: number): Record<string, number> | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return undefined;
  }
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const m = /^(Vm\w+|Threads):\s+(\d+)/.exec(line);
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

/** Polls GET <base>/healthz until 200, or dies after `timeoutMs`. */
export async function waitHealthy(base: string, timeoutMs = 20_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(`${base}/healthz`);
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    if (performance.now() > deadline) die(`${base}/healthz did not answer 200 within ${timeoutMs} ms`);
    await Bun.sleep(10);
  }
}

/**
 * Registers and logs in; returns the access token. The benchmark always starts from an empty
 * database, so anything but 201 (409 included: a reused database) is an error.
 */
export async function userToken(base: string, email: string, password: string, name = "Bench User"): Promise<string> {
  const reg = await fetch(`${base}/register`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ name, email, password }),
  });
  const regBody = await reg.text();
  if (reg.status !== 201) die(`register ${email}: ${reg.status} ${regBody} (the benchmark expects a fresh database)`);
  const login = await fetch(`${base}/login`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email, password }),
  });
  const loginBody = (await login.json()) as { access_token?: string };
  if (login.status !== 200 || !loginBody.access_token) die(`login ${email}: ${login.status} ${JSON.stringify(loginBody)}`);
  return loginBody.access_token;
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}
