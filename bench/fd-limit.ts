// Issue 14.4's measurement: the service under `ulimit -n 1024` held by 1,100 idle TCP connections.
// Each second: the server's CPU (from /proc, over the wall time since the last sample), how many of
// the held connections it has closed, and a /healthz probe on a fresh connection (3 s timeout).
// Bounded to HOLD_S seconds. MODE=silent: connect and send nothing; MODE=keepalive: one request each,
// then idle. Other variables (IDLE_TIMEOUT_SECONDS, …) pass through to the server; MAIN picks the entry.
//   bun bench/fd-limit.ts        MODE=keepalive IDLE_TIMEOUT_SECONDS=3 bun bench/fd-limit.ts
import { connect, type Socket } from "node:net";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const CONNECTIONS = Number(process.env.CONNECTIONS ?? 1100);
const HOLD_S = Number(process.env.HOLD_S ?? 16);
const NOFILE = Number(process.env.NOFILE ?? 1024);
const MODE = process.env.MODE ?? "silent";
const main = process.env.MAIN ?? resolve(import.meta.dir, "../src/main.ts");
const dir = mkdtempSync(join(tmpdir(), "fd-limit-"));

const proc = Bun.spawn(["sh", "-c", `ulimit -n ${NOFILE} && exec "$0" "$1"`, process.execPath, main], {
  cwd: dir,
  env: { ...process.env, PORT: "0", HOST: "127.0.0.1", ACCESS_LOG: "off" },
  stdout: "pipe",
  stderr: "inherit",
});
const reader = proc.stdout.getReader();
let out = "";
let port = 0;
while (!port) {
  const { done, value } = await reader.read();
  if (done) throw new Error(`exited: ${out}`);
  out += new TextDecoder().decode(value);
  port = Number(/"msg":"listening","url":"http:\/\/[^:]+:(\d+)"/.exec(out)?.[1] ?? 0);
}
const warning = out.split("\n").find((l) => l.includes('"nofile"'));
console.log(`main=${main} mode=${MODE} connections=${CONNECTIONS} nofile=${NOFILE} IDLE_TIMEOUT_SECONDS=${process.env.IDLE_TIMEOUT_SECONDS ?? "(unset)"}`);
console.log(warning ? `start-up warning: ${JSON.parse(warning).msg}` : "start-up warning: none");

const cpuTicks = () => readFileSync(`/proc/${proc.pid}/stat`, "utf8").split(") ")[1]!.split(" ").slice(11, 13).map(Number).reduce((a, b) => a + b);

async function healthz(): Promise<string> {
  const started = performance.now();
  try {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(3000), headers: { Connection: "close" } });
    return `${res.status} ${Math.round(performance.now() - started)}ms`;
  } catch (err) {
    return `timeout ${Math.round(performance.now() - started)}ms (${(err as Error).name})`;
  }
}

console.log(`healthz before: ${await healthz()}`);
const sockets: Socket[] = [];
let closedByServer = 0;
const t0 = performance.now();
for (let i = 0; i < CONNECTIONS; i++) {
  const s = connect(port, "127.0.0.1", () => {
    if (MODE === "keepalive") s.write("GET /healthz HTTP/1.1\r\nHost: bench\r\n\r\n");
  });
  s.on("data", () => {});
  s.on("error", () => {});
  s.on("close", () => closedByServer++);
  sockets.push(s);
}

const probes: string[] = [];
let probing = true;
void (async () => {
  while (probing) {
    const at = ((performance.now() - t0) / 1000).toFixed(1);
    probes.push(`t=${at}s healthz ${await healthz()}`);
    await Bun.sleep(1000);
  }
})();

let lastTicks = cpuTicks();
let lastAt = performance.now();
const cpu: number[] = [];
for (let second = 1; second <= HOLD_S; second++) {
  await Bun.sleep(1000);
  const ticks = cpuTicks();
  const now = performance.now();
  const pct = Math.round(((ticks - lastTicks) / 100 / ((now - lastAt) / 1000)) * 100);
  cpu.push(pct);
  lastTicks = ticks;
  lastAt = now;
  console.log(`t=${((now - t0) / 1000).toFixed(1)}s cpu=${pct}% closed_by_server=${closedByServer}/${CONNECTIONS}`);
}
probing = false;
console.log(probes.join("\n"));
for (const s of sockets) s.destroy();
await Bun.sleep(500);
console.log(`healthz after release: ${await healthz()}`);
proc.kill("SIGKILL");
await proc.exited;
rmSync(dir, { recursive: true, force: true });
