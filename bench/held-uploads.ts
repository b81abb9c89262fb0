// Issue 14.2's attack, measured: N uploads of 5 MiB from a few accounts, each sending all but its
// last bytes and then waiting. Reports how many are held, how fast the rest are refused, and the
// service's peak RSS (VmHWM). Point it at another checkout's src/main.ts to compare.
// Usage: bun bench/held-uploads.ts [main.ts=./src/main.ts] [uploads=200] [accounts=20]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { heldUpload, procMiB } from "../test/helpers/held-upload.ts";
import { Client } from "../test/helpers/server.ts";

const main = resolve(process.argv[2] ?? "src/main.ts");
const uploads = Number(process.argv[3] ?? 200);
const accounts = Number(process.argv[4] ?? 20);
const dir = mkdtempSync(join(tmpdir(), "held-uploads-"));
const proc = Bun.spawn([process.execPath, main], {
  cwd: dir,
  env: { PATH: process.env.PATH ?? "", PORT: "0", HOST: "127.0.0.1", RATE_LIMITS: "off", ACCESS_LOG: "false", ARGON2_MEMORY_KIB: "1024", ARGON2_TIME_COST: "1" },
  stdout: "pipe",
  stderr: "inherit",
});
try {
  let output = "";
  const reader = proc.stdout.getReader();
  let port: string | undefined;
  while (port === undefined) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`service exited: ${output}`);
    output += new TextDecoder().decode(value);
    port = /"listening","url":"http:\/\/[^:]+:(\d+)"/.exec(output)?.[1];
  }
  void (async () => { while (!(await reader.read()).done); })();
  const url = `http://127.0.0.1:${port}`;
  const client = new Client(url);
  const users = await Promise.all(Array.from({ length: accounts }, () => client.signUp()));
  const before = procMiB(proc.pid, "VmRSS");
  const held = [];
  for (let i = 0; i < uploads; i += 8) {
    const wave = Array.from({ length: Math.min(8, uploads - i) }, (_, k) => heldUpload(url, "/me/upload-image", users[(i + k) % accounts]!.token, 5 * 1024 * 1024));
    held.push(...wave);
    await Promise.all(wave.map((h) => Promise.race([h.answer, h.sent])));
  }
  await Bun.sleep(500);
  const answers = await Promise.all(held.map((h) => Promise.race([h.answer, Bun.sleep(10).then(() => "pending" as const)])));
  const times = answers.flatMap((a) => (a !== "pending" && a?.status === 503 ? [a.ms] : [])).sort((a, b) => a - b);
  const q = (p: number) => (times.length ? times[Math.min(times.length - 1, Math.floor(times.length * p))]!.toFixed(1) : "-");
  console.log(JSON.stringify({
    main,
    uploads,
    held: answers.filter((a) => a === "pending").length,
    refused_503_seen: times.length,
    closed_before_answer_read: answers.filter((a) => a === undefined).length,
    ms_503: { p50: q(0.5), p95: q(0.95), max: q(1) },
    rss_before_mib: Math.round(before),
    vmhwm_mib: Math.round(procMiB(proc.pid, "VmHWM")),
  }));
  held.forEach((h) => h.close());
} finally {
  proc.kill("SIGKILL");
  await proc.exited;
  rmSync(dir, { recursive: true, force: true });
}
