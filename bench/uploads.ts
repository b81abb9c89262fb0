// Upload load: 16 users upload a ~5 MiB noise JPEG at the same time (multipart field "image", bearer
// auth, one user per upload), 3 rounds back to back. Reports uploads/s, input MiB/s, per-upload
// latency, every non-200, and the server's memory from /proc/<pid>/status before and after.
// Usage: bun bench/uploads.ts <base-url> <server-pid> <out.json> [parallel=16] [rounds=3]
import { readFileSync } from "node:fs";
import { noiseJpeg } from "../test/fixtures/images.ts";
import { die, median, MIB, percentile, procStatus, userToken } from "./lib.ts";

const [base, pidArg, outPath, parallelArg, roundsArg] = process.argv.slice(2);
if (!base || !pidArg || !outPath) die("usage: uploads.ts <base-url> <server-pid> <out.json> [parallel] [rounds]");
const pid = Number(pidArg);
const parallel = Number(parallelArg ?? 16);
const rounds = Number(roundsArg ?? 3);
const MAX_UPLOAD_BYTES = 5 * MIB; // the service's default MAX_UPLOAD_BYTES

// The same deterministic image every run; shrink the target if the encoder overshoots the limit.
let target = 5 * MIB;
let image = await noiseJpeg(target);
while (image.byteLength > MAX_UPLOAD_BYTES) {
  target = Math.floor(target * 0.97);
  image = await noiseJpeg(target);
}

const password = "bench-upload-password";
const stamp = Date.now();
const tokens = await Promise.all(
  Array.from({ length: parallel }, (_, i) => userToken(base, `upload${i}.${stamp}@example.com`, password, `Uploader ${i}`)),
);

// Memory after setup (16 registrations + 16 logins), before any upload.
await Bun.sleep(500);
const before = procStatus(pid) ?? die(`no /proc/${pid}/status`);
// CPU of the server and of its decode children it has reaped (utime, stime, cutime, cstime), in ticks.
const cpuTicks = () => {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0);
};
const cpuBefore = cpuTicks();

// VmRSS sampled every 20 ms, the highest value seen per round (VmHWM only gives the overall peak).
let sampledMaxRssKiB = before.VmRSS ?? 0;
const roundMaxRssKiB: number[] = [];
const sampler = setInterval(() => {
  const s = procStatus(pid);
  if (!s?.VmRSS) return;
  if (s.VmRSS > sampledMaxRssKiB) sampledMaxRssKiB = s.VmRSS;
  const r = roundMaxRssKiB.length - 1;
  if (r >= 0 && s.VmRSS > roundMaxRssKiB[r]!) roundMaxRssKiB[r] = s.VmRSS;
}, 20);

const statuses: Record<string, number> = {};
const failures: string[] = [];
const latenciesMs: number[] = [];
const roundMs: number[] = [];

async function upload(token: string): Promise<void> {
  const form = new FormData();
  form.append("image", new Blob([image], { type: "image/jpeg" }), "noise.jpg");
  const started = performance.now();
  let status: string;
  try {
    const res = await fetch(`${base}/me/upload-image`, { method: "POST", headers: { Authorization: `Bearer ${token}` }, body: form });
    const text = await res.text();
    status = String(res.status);
    if (res.status !== 200 || !text.includes("image_url")) failures.push(`${res.status} ${text.slice(0, 200)}`);
  } catch (err) {
    status = "network-error";
    failures.push(String(err));
  }
  latenciesMs.push(performance.now() - started);
  statuses[status] = (statuses[status] ?? 0) + 1;
}

for (let r = 0; r < rounds; r++) {
  roundMaxRssKiB.push(procStatus(pid)?.VmRSS ?? 0);
  const started = performance.now();
  await Promise.all(tokens.map((token) => upload(token)));
  roundMs.push(performance.now() - started);
}
clearInterval(sampler);
await Bun.sleep(200);
const after = procStatus(pid) ?? die(`no /proc/${pid}/status after the uploads (did the server die?)`);
const cpuMs = ((cpuTicks() - cpuBefore) * 1000) / 100; // USER_HZ is 100 on Linux

const total = parallel * rounds;
const ok = statuses["200"] ?? 0;
const seconds = roundMs.reduce((a, b) => a + b, 0) / 1000;
const result = {
  image_bytes: image.byteLength,
  parallel,
  rounds,
  uploads: total,
  ok,
  non200: total - ok,
  statuses,
  failures: failures.slice(0, 5),
  seconds,
  round_ms: roundMs.map((ms) => Math.round(ms)),
  uploads_per_s: ok / seconds,
  input_mib_per_s: (ok * image.byteLength) / MIB / seconds,
  cpu_ms_per_upload: cpuMs / Math.max(1, parallel * rounds),
  latency_ms: { p50: median(latenciesMs), p99: percentile(latenciesMs, 99), max: Math.max(...latenciesMs) },
  rss_before_kib: before.VmRSS,
  hwm_before_kib: before.VmHWM,
  rss_after_kib: after.VmRSS,
  hwm_after_kib: after.VmHWM,
  sampled_max_rss_kib: sampledMaxRssKiB,
  round_max_rss_kib: roundMaxRssKiB,
};
await Bun.write(outPath, JSON.stringify(result, null, 2));
console.log(
  `uploads: ${ok}/${total} ok, ${result.uploads_per_s.toFixed(2)}/s, ${result.input_mib_per_s.toFixed(1)} MiB/s in, ` +
    `VmRSS before ${(before.VmRSS! / 1024).toFixed(1)} MiB, VmHWM after ${(after.VmHWM! / 1024).toFixed(1)} MiB, ` +
    `sampled peak ${(sampledMaxRssKiB / 1024).toFixed(1)} MiB, CPU ${result.cpu_ms_per_upload.toFixed(0)} ms/upload (server + decode children)`,
);
