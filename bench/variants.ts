// Cost of issue 11's variant set against today's single re-encode: CPU per upload and peak memory of
// the decode children, 16 at once, for a 5 MiB photo-like JPEG and bench/uploads.ts's 5 MiB noise JPEG.
// Usage: bun bench/variants.ts [parallel=16] [out.json|-] [sizes=64,128,256,512]
import { DEFAULT_VARIANT_SIZES, decodeVariantSet, storedObjects } from "../src/images/variants.ts";
import { noiseJpeg, photoLike } from "../test/fixtures/images.ts";
import { MIB, procStatus } from "./lib.ts";

const parallel = Number(process.argv[2] ?? 16);
const outPath = process.argv[3] === "-" ? undefined : process.argv[3];
const sizes = process.argv[4] ? process.argv[4].split(",").map(Number) : [...DEFAULT_VARIANT_SIZES];
const CHILD = new URL("../src/images/decoder.ts", import.meta.url).pathname;
// The service's defaults (src/config.ts): IMAGE_MAX_SIDE 1024, JPEG_QUALITY 85, 25 MP.
const BASE = { maxPixels: 25_000_000, maxSide: 1024, quality: 85, budgetMs: 60_000 };

type Run = { cpuMs: number; maxRssMiB: number; outputBytes: number; objects: number };

// The kernel's ru_maxrss of a spawned child starts from its parent's (exec keeps it), so each child's
// own VmHWM is read from /proc every few ms instead; the sum of live children's VmRSS is the together-peak.
const live = new Map<number, number>(); // pid → highest VmHWM seen, KiB
let togetherPeakKiB = 0;
const sampler = setInterval(() => {
  let sum = 0;
  for (const pid of live.keys()) {
    const status = procStatus(pid);
    if (!status?.VmHWM) continue;
    live.set(pid, Math.max(live.get(pid)!, status.VmHWM));
    sum += status.VmRSS ?? 0;
  }
  togetherPeakKiB = Math.max(togetherPeakKiB, sum);
}, 5);

/** One decode child as decoder.ts starts it, with its own CPU time (from the kernel) and peak RSS. */
async function decode(source: Uint8Array, variants: boolean): Promise<Run> {
  const args = variants ? { ...BASE, variants: sizes } : BASE;
  const child = Bun.spawn([process.execPath, CHILD, JSON.stringify(args)], { stdin: source, stdout: "pipe", stderr: "pipe", env: {} });
  live.set(child.pid, 0);
  const [output, errors, code] = await Promise.all([new Response(child.stdout).bytes(), new Response(child.stderr).text(), child.exited]);
  const hwmKiB = live.get(child.pid)!;
  live.delete(child.pid);
  if (code !== 0) throw new Error(`decode child exited ${code}: ${errors}`);
  const usage = child.resourceUsage()!;
  const objects = variants ? storedObjects(decodeVariantSet(output)).length : 1;
  const stored = variants ? storedObjects(decodeVariantSet(output)).reduce((n, o) => n + o.bytes.length, 0) : output.length;
  return { cpuMs: Number(usage.cpuTime.total) / 1000, maxRssMiB: hwmKiB / 1024, outputBytes: stored, objects };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** `parallel` children at once, as with IMAGE_CONCURRENCY=parallel and no memory budget: the worst case. */
async function round(source: Uint8Array, variants: boolean) {
  togetherPeakKiB = 0;
  const started = performance.now();
  const runs = await Promise.all(Array.from({ length: parallel }, () => decode(source, variants)));
  const wallMs = performance.now() - started;
  return {
    mode: variants ? "variant set" : "single JPEG",
    uploadsPerSecond: +(parallel / (wallMs / 1000)).toFixed(1),
    cpuMsPerUploadMedian: +median(runs.map((r) => r.cpuMs)).toFixed(0),
    childPeakRssMiBMax: +Math.max(...runs.map((r) => r.maxRssMiB)).toFixed(1),
    childrenTogetherPeakRssMiB: +(togetherPeakKiB / 1024).toFixed(0),
    storedBytes: runs[0]!.outputBytes,
    objects: runs[0]!.objects,
  };
}

const inputs: [string, Uint8Array][] = [
  ["photo-like", await photoLike(5 * MIB)],
  ["noise (bench/uploads.ts)", await noiseJpeg(0.97 * 5 * MIB)],
];
console.log(`${parallel} children at once; variant sizes ${sizes.join(", ")}`);
const results = [];
for (const [name, source] of inputs) {
  await decode(source, false); // warm the page cache and the child's first start
  for (const variants of [false, true]) {
    const r = { input: name, inputBytes: source.length, ...(await round(source, variants)) };
    results.push(r);
    console.log(JSON.stringify(r));
  }
  const [single, set] = results.slice(-2) as [(typeof results)[0], (typeof results)[0]];
  console.log(
    `${name}: CPU per upload ×${(set.cpuMsPerUploadMedian / single.cpuMsPerUploadMedian).toFixed(2)} (bar ≤ 2), ` +
      `child peak ${single.childPeakRssMiBMax} → ${set.childPeakRssMiBMax} MiB, stored ${(set.storedBytes / MIB).toFixed(2)} MiB ` +
      `of ${(source.length / MIB).toFixed(2)} MiB input (${set.objects} objects)`,
  );
}
clearInterval(sampler);
console.log(`bench process VmHWM ${((procStatus(process.pid)?.VmHWM ?? 0) / 1024).toFixed(0)} MiB`);
if (outPath) await Bun.write(outPath, JSON.stringify(results, null, 2));
