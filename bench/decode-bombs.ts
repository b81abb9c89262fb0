// How long each hostile or large image holds a decode slot (issue 9.1): each file is run alone
// through an ImageProcessor with one slot, so its wall time is its hold time. Point it at another
// checkout's src/ to compare before and after; --skip-slow leaves out the file that takes minutes without a budget.
// Usage: [IMAGE_MAX_PIXELS=25000000] [IMAGE_DECODE_TIMEOUT_MS=1500] bun bench/decode-bombs.ts [src-dir=./src] [--skip-slow]
import { resolve } from "node:path";
import { progressiveScanBomb, solidPng } from "../test/fixtures/bombs.ts";
import { png } from "../test/fixtures/images.ts";

const src = resolve(process.argv[2] && !process.argv[2].startsWith("--") ? process.argv[2] : "src");
const skipSlow = process.argv.includes("--skip-slow");
const { ImageProcessor } = (await import(`${src}/images/process.ts`)) as typeof import("../src/images/process.ts");
// The service's defaults (extra fields are ignored by older code).
const images = new ImageProcessor({
  maxSide: 1024, maxPixels: Number(process.env.IMAGE_MAX_PIXELS ?? 25_000_000), quality: 85, concurrency: 1, queueMax: 32,
  decodeTimeoutMs: Number(process.env.IMAGE_DECODE_TIMEOUT_MS ?? 1500), decodeMemoryBytes: 160 * 1024 * 1024, uploadsInFlight: 16, uploadsPerUser: 2,
});

const camera = await new Bun.Image(png(6000, 4000, { seed: 5 })).png({ compressionLevel: 1 }).bytes();
const files: Array<[string, () => Uint8Array | Promise<Uint8Array>, boolean]> = [
  ["issue 9.1 bomb: 6000×6000, 2,000 AC scans", () => progressiveScanBomb(6000, 6000, 2000), false],
  ["5000×5000, 2,000 AC scans", () => progressiveScanBomb(5000, 5000, 2000), false],
  // Minutes without a bound: left out by --skip-slow.
  ["5 MiB of scans: 5000×5000, 100,000 AC scans", () => progressiveScanBomb(5000, 5000, 100_000), true],
  ["5000×5000, 63 AC scans (passes the pre-check)", () => progressiveScanBomb(5000, 5000, 63), false],
  ["restart after every block, 5000×5000", () => progressiveScanBomb(5000, 5000, 1, { restartInterval: 1 }), false],
  ["solid PNG 5000×5000 in 1-byte IDAT chunks", () => solidPng(5000, 5000, { chunkBytes: 1 }), false],
  ["solid PNG 5000×5000 (25 MP)", () => solidPng(5000, 5000), false],
  ["camera JPEG 6000×4000 baseline", () => new Bun.Image(camera).jpeg({ quality: 90 }).bytes(), false],
  ["camera JPEG 6000×4000 progressive", () => new Bun.Image(camera).jpeg({ quality: 90, progressive: true }).bytes(), false],
];
for (const [name, make, slow] of files) {
  if (slow && skipSlow) continue;
  const bytes = await make();
  const started = performance.now();
  let outcome: string;
  try {
    outcome = `ok, ${(await images.toProfileJpeg(bytes)).byteLength} bytes out`;
  } catch (err) {
    outcome = (err as { code?: string }).code ?? String(err);
  }
  const ms = performance.now() - started;
  console.log(`${name.padEnd(50)} ${(bytes.byteLength / 1024).toFixed(0).padStart(6)} KiB  ${ms.toFixed(0).padStart(7)} ms  ${outcome}`);
}
