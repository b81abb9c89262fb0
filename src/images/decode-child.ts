// The decoder's own process: reads one image on stdin, writes the profile JPEG on stdout. A process,
// because a codec stuck in a hostile file can be stopped only by killing it (issue 9.1).

/** Exit codes the parent reads: 0 with the JPEG on stdout, or one of these with a codec code on stderr. */
export const DECODE_FAILED = 3;
export const DECODE_OVERTIME = 4;

export type DecodeArgs = {
  maxPixels: number;
  maxSide: number;
  quality: number;
  budgetMs: number;
  /** Square variant sides: when present the child writes a whole variant set (variants.ts), not one JPEG. */
  variants?: number[];
};

/** Runs one decode from stdin to stdout; arguments come as one JSON argv entry. */
export async function runDecodeChild(argv: string[]): Promise<number> {
  const { maxPixels, maxSide, quality, budgetMs, variants } = JSON.parse(argv.at(-1)!) as DecodeArgs;
  // Should the parent be gone, its timer is too: the decode still ends here, on this one.
  setTimeout(() => process.exit(DECODE_OVERTIME), budgetMs + 1000).unref();
  const input = await Bun.stdin.bytes();
  try {
    if (variants) {
      // Loaded only here, so today's single-JPEG decode starts no slower than before.
      const { encodeVariantSet, makeVariants } = await import("./variants.ts");
      const set = await makeVariants(input, { maxPixels, maxSide, quality, sizes: variants });
      await Bun.write(Bun.stdout, encodeVariantSet(set));
      return 0;
    }
    const jpeg = await new Bun.Image(input, { maxPixels, autoOrient: true })
      .resize(maxSide, maxSide, { fit: "inside", withoutEnlargement: true })
      .jpeg({ quality })
      .bytes();
    await Bun.write(Bun.stdout, jpeg);
    return 0;
  } catch (err) {
    process.stderr.write(String((err as { code?: unknown } | null)?.code ?? "ERR_UNKNOWN"));
    return DECODE_FAILED;
  }
}

if (import.meta.main) process.exit(await runDecodeChild(process.argv));
