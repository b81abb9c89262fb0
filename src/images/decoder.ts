// Runs one decode in a child process (src/images/decode-child.ts) under a wall-clock budget and
// kills it past that: the one way to stop a codec busy with a kind of bomb no pre-check knows.
import { HttpError } from "../http/problem.ts";
import { DECODE_FAILED, type DecodeArgs } from "./decode-child.ts";
import { decodeVariantSet, type VariantSet } from "./variants.ts";

// In a compiled binary the child is the binary itself: main.ts hands `image-decode` to runDecodeChild.
const COMPILED = import.meta.url.startsWith("file:///$bunfs/");
const CHILD = new URL("./decode-child.ts", import.meta.url).pathname;

/** The re-encoded JPEG, or a 413/422 HttpError; past `budgetMs` the child is killed and it is 422 image_too_complex. */
export function decodeInChild(source: Uint8Array, args: DecodeArgs): Promise<Uint8Array> {
  return runChild(source, { ...args, variants: undefined });
}

/** The whole variant set (variants.ts) made in the child, under the same budget and with the same errors. */
export async function variantsInChild(source: Uint8Array, args: DecodeArgs & { variants: number[] }): Promise<VariantSet> {
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
      throw new HttpError("image_too_complex", `The image could not be decoded within ${args.budgetMs} ms.`);
    }
    if (exitCode === 0 && output.byteLength > 0) return output;
    if (exitCode === DECODE_FAILED) throw imageError(Object.assign(new Error(`image decoder: ${errors}`), { code: errors.trim() }));
    throw new Error(`image decoder exited with ${exitCode ?? child.signalCode}: ${errors.slice(0, 200)}`);
  } finally {
    clearTimeout(timer);
  }
}

/** A codec's error in HTTP terms: its pixel limit is 413, a file it cannot read is 422; anything else is ours. */
export function imageError(err: unknown): unknown {
  switch ((err as { code?: unknown } | null)?.code) {
    case "ERR_IMAGE_TOO_MANY_PIXELS":
      return new HttpError("image_too_large", "The image has too many pixels.", { cause: err });
    case "ERR_IMAGE_DECODE_FAILED":
    case "ERR_IMAGE_UNKNOWN_FORMAT":
      return new HttpError("invalid_image", "The image could not be decoded.", { cause: err });
    default:
      return err;
  }
}
