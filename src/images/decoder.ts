// Runs one decode in a child process (this same file, run as a script) under a wall-clock budget
// and kills it past that: the one way to stop a codec busy with a kind of bomb no pre-check knows.
import { CodedError } from "../core.ts";
import type { VariantSet } from "./variants.ts";

/** Exit codes the parent reads: 0 with the JPEG on stdout, or one of these with a codec code on stderr. */
export const DECODE_FAILED = 3;
export const DECODE_OVERTIME = 4;

/** How a picture is re-encoded: at most `maxPixels` decoded, the longest side capped at `maxSide`, JPEG at `quality`. */
export type Encoding = { maxPixels: number; maxSide: number; quality: number };

/** The source decoded once (EXIF orientation applied), its longest side capped, as JPEG: the profile picture, and a set's full size. */
export const cappedJpeg = (source: Uint8Array, { maxPixels, maxSide, quality }: Encoding) =>
  new Bun.Image(source, { maxPixels, autoOrient: true }).resize(maxSide, maxSide, { fit: "inside", withoutEnlargement: true }).jpeg({ quality });

export type DecodeArgs = Encoding & {
  budgetMs: number;
  /** Square variant sides: when present the child writes a whole variant set (variants.ts), not one JPEG. */
  variants?: number[];
};

// In a compiled binary the child is the binary itself: main.ts hands `image-decode` to runDecodeChild.
const COMPILED = import.meta.url.startsWith("file:///$bunfs/");
const CHILD = new URL(import.meta.url).pathname;

/** The re-encoded JPEG, or image_too_large / invalid_image; past `budgetMs` the child is killed: image_too_complex. */
export function decodeInChild(source: Uint8Array, args: DecodeArgs): Promise<Uint8Array> {
  return runChild(source, { ...args, variants: undefined });
}

/** The whole variant set (variants.ts) made in the child, under the same budget and with the same errors. */
export async function variantsInChild(source: Uint8Array, args: DecodeArgs & { variants: number[] }): Promise<VariantSet> {
  // Imported here, not at the top: the child is this same file, and its plain decode needs none of it.
  const { decodeVariantSet } = await import("./variants.ts");
  return decodeVariantSet(await runChild(source, args));
}

async function runChild(source: Uint8Array, args: DecodeArgs): Promise<Uint8Array> {
  const command = COMPILED ? [process.execPath, "image-decode"] : [process.execPath, CHILD];
  const child = Bun.spawn([...command, JSON.stringify(args)], {
    stdin: source,
    stdout: "pipe",
    stderr: "pipe",
    env: {}, // the decoder needs no secrets, so it gets none
  });
  let overtime = false;
  const timer = setTimeout(() => {
    overtime = true;
    child.kill("SIGKILL");
  }, args.budgetMs);
  try {
    const [output, errors, exitCode] = await Promise.all([
      new Response(child.stdout).bytes(),
      new Response(child.stderr).text(),
      child.exited,
    ]);
    if (overtime) {
      throw new CodedError("image_too_complex", `The image could not be decoded within ${args.budgetMs} ms.`);
    }
    if (exitCode === 0 && output.byteLength > 0) return output;
    if (exitCode === DECODE_FAILED) throw imageError(Object.assign(new Error(`image decoder: ${errors}`), { code: errors.trim() }));
    throw new Error(`image decoder exited with ${exitCode ?? child.signalCode}: ${errors.slice(0, 200)}`);
  } finally {
    clearTimeout(timer);
  }
}

/** A codec's error as ours: its pixel limit is image_too_large, a file it cannot read invalid_image; anything else is a bug. */
export function imageError(err: unknown): unknown {
  switch ((err as { code?: unknown } | null)?.code) {
    case "ERR_IMAGE_TOO_MANY_PIXELS":
      return new CodedError("image_too_large", "The image has too many pixels.", { cause: err });
    case "ERR_IMAGE_DECODE_FAILED":
    case "ERR_IMAGE_UNKNOWN_FORMAT":
      return new CodedError("invalid_image", "The image could not be decoded.", { cause: err });
    default:
      return err;
  }
}

// The child's side. A process of its own, because a codec stuck in a hostile file can be stopped
// only by killing it (issue 9.1): it reads one image on stdin and writes the profile JPEG on stdout.
/** Runs one decode from stdin to stdout; arguments come as one JSON argv entry. */
export async function runDecodeChild(argv: string[]): Promise<number> {
  const { budgetMs, variants, ...encoding } = JSON.parse(argv.at(-1)!) as DecodeArgs;
  // Should the parent be gone, its timer is too: the decode still ends here, on this one.
  setTimeout(() => process.exit(DECODE_OVERTIME), budgetMs + 1000).unref();
  const input = await Bun.stdin.bytes();
  try {
    if (variants) {
      // Loaded only here, so the single-JPEG decode starts no slower than before.
      const { encodeVariantSet, makeVariants } = await import("./variants.ts");
      await Bun.write(Bun.stdout, encodeVariantSet(await makeVariants(input, { ...encoding, sizes: variants })));
      return 0;
    }
    await Bun.write(Bun.stdout, await cappedJpeg(input, encoding).bytes());
    return 0;
  } catch (err) {
    process.stderr.write(String((err as { code?: unknown } | null)?.code ?? "ERR_UNKNOWN"));
    return DECODE_FAILED;
  }
}

if (import.meta.main) process.exit(await runDecodeChild(process.argv));
