// Turns untrusted upload bytes into a clean JPEG, bounding each cost (bodies in flight, pixels, decode
// work, memory, time) before paying it; re-encoding drops EXIF/GPS, ICC and bytes smuggled after the image.
import { CodedError } from "../core.ts";
import { Semaphore } from "../util/semaphore.ts";
import { complexity } from "./complexity.ts";
import { decodeInChild, imageError, variantsInChild, type Encoding } from "./decoder.ts";
import { jpegWithoutIcc, jpegWithoutMetadata, pngWithoutIcc, webpWithoutIcc } from "./metadata.ts";
import { DEFAULT_VARIANT_SIZES, type VariantSet } from "./variants.ts";

export type ImagePolicy = Encoding & {
  concurrency: number;
  queueMax: number;
  /** Wall-clock budget of one decode; past it the decoder is killed (422 image_too_complex). */
  decodeTimeoutMs: number;
  /** What the decodes running at once may use together, as estimated by decodeMemory. */
  decodeMemoryBytes: number;
  uploadsInFlight: number;
  uploadsPerUser: number;
  /** Square variant sides made at upload (IMAGE_VARIANT_SIZES); DEFAULT_VARIANT_SIZES when absent. */
  variantSizes?: readonly number[];
};

const MIB = 1024 * 1024;

/** What making the variants adds to a decode child's peak (the square crop and its re-encodes), measured ~10 MiB. */
export const VARIANT_MEMORY = 16 * MIB;


/**
 * Peak memory of one decoder process, from its header alone. Measured as VmHWM: the process itself
 * is 24 MiB under bun and 52 MiB as the compiled binary; then per pixel about 1.3 bytes for a
 * baseline JPEG (decoded at a reduced scale), 3.7 for a progressive one (every coefficient is kept)
 * and 5.2 for PNG, GIF and WebP (25 MP of PNG: 153 MiB under bun).
 */
export function decodeMemory(type: SniffedType, pixels: number, progressive: boolean): number {
  const perPixel = type !== "jpeg" ? 5.5 : progressive ? 4 : 1.5;
  return 56 * MIB + Math.ceil(pixels * perPixel);
}

// Decoding one very wide row costs far more than its pixel count suggests; no real photo needs more.
const MAX_DIMENSION = 16_384;

const WITHOUT_ICC: Partial<Record<SniffedType, (bytes: Uint8Array) => Uint8Array>> = {
  jpeg: jpegWithoutIcc,
  png: pngWithoutIcc,
  webp: webpWithoutIcc,
};
export type SniffedType = "jpeg" | "png" | "gif" | "webp";

const startsWith = (bytes: Uint8Array, prefix: number[], at = 0): boolean =>
  prefix.every((byte, i) => bytes[at + i] === byte);
const ascii = (text: string): number[] => [...text].map((c) => c.charCodeAt(0));

/** The accepted formats, recognised by content alone; anything else (SVG, HTML, BMP, …) is undefined. */
export function sniffImageType(bytes: Uint8Array): SniffedType | undefined {
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return "jpeg";
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return "png";
  if (startsWith(bytes, ascii("GIF87a")) || startsWith(bytes, ascii("GIF89a"))) return "gif";
  if (startsWith(bytes, ascii("RIFF")) && startsWith(bytes, ascii("WEBP"), 8)) return "webp";
  return undefined;
}

/**
 * libjpeg-turbo decodes a truncated JPEG without complaint (grey fill), so we check the structure
 * ourselves: marker segments up to the first scan, then an end-of-image marker after it. Inside
 * entropy-coded data 0xFF is always stuffed, so a bare FFD9 there can only be the real EOI.
 */
export function jpegIsComplete(bytes: Uint8Array): boolean {
  let at = 2;
  while (at + 4 <= bytes.length) {
    if (bytes[at] !== 0xff) return false;
    const marker = bytes[at + 1]!;
    if (marker === 0xff) {
      at++;
      continue;
    }
    const length = (bytes[at + 2]! << 8) | bytes[at + 3]!;
    if (length < 2) return false;
    if (marker === 0xda) {
      const scanStart = at + 2 + length;
      for (let i = scanStart; i + 1 < bytes.length; i++) {
        if (bytes[i] === 0xff && bytes[i + 1] === 0xd9) return true;
      }
      return false;
    }
    at += 2 + length;
  }
  return false;
}

/** Bun.Image decodes a GIF cut short inside its image data without complaint; a whole one ends in 0x3B. */
export function gifIsComplete(bytes: Uint8Array): boolean {
  let end = bytes.length - 1;
  while (end > 0 && bytes[end] === 0x00) end--; // some encoders pad after the trailer
  return bytes[end] === 0x3b;
}

export class ImageProcessor {
  private readonly gate: Semaphore;
  private readonly admission: UploadAdmission;

  constructor(private readonly policy: ImagePolicy) {
    this.gate = new Semaphore(policy.concurrency, policy.queueMax, policy.decodeMemoryBytes);
    this.admission = new UploadAdmission(policy.uploadsInFlight, policy.uploadsPerUser);
  }

  get queueDepth(): number {
    return this.gate.depth;
  }

  /** A place for one upload body, taken before it is read; throws 503 server_busy when none is free. */
  admit(userId: number): () => void {
    return this.admission.enter(userId);
  }

  /**
   * Returns the re-encoded JPEG (type judged by magic bytes, EXIF orientation applied, longest side
   * capped), or throws a CodedError (413/415/422 to clients) that says what was wrong.
   */
  async toProfileJpeg(input: Uint8Array): Promise<Uint8Array> {
    const { source, memory } = await this.admitDecode(input);
    const { maxSide, maxPixels, quality, decodeTimeoutMs } = this.policy;
    const jpeg = await this.gate.run(
      () => decodeInChild(source, { maxPixels, maxSide, quality, budgetMs: decodeTimeoutMs }),
      memory,
    );
    return jpegWithoutMetadata(jpeg);
  }

  /**
   * The whole picture set (variants.ts): the cleaned full JPEG, the square variants and the
   * placeholder, made in one decode child under the same checks, time budget and queue as a single
   * re-encode, priced at VARIANT_MEMORY more.
   */
  async toVariantSet(input: Uint8Array): Promise<VariantSet> {
    const { source, memory } = await this.admitDecode(input);
    const { maxSide, maxPixels, quality, decodeTimeoutMs } = this.policy;
    const variants = [...(this.policy.variantSizes ?? DEFAULT_VARIANT_SIZES)];
    return this.gate.run(
      () => variantsInChild(source, { maxPixels, maxSide, quality, budgetMs: decodeTimeoutMs, variants }),
      memory + VARIANT_MEMORY,
    );
  }

  /** Every check that needs no decode, then the decode's memory price; throws what the client is told. */
  private async admitDecode(input: Uint8Array): Promise<{ source: Uint8Array; memory: number }> {
    if (input.byteLength === 0) {
      throw new CodedError("validation_failed", "image: the file is empty", { errors: [{ field: "image", message: "the file is empty" }] });
    }
    const type = sniffImageType(input);
    if (!type) {
      throw new CodedError("unsupported_image_type", "The file is not a JPEG, PNG, GIF or WebP image.");
    }
    if ((type === "jpeg" && !jpegIsComplete(input)) || (type === "gif" && !gifIsComplete(input))) {
      throw new CodedError("invalid_image", `The ${type.toUpperCase()} image is truncated or corrupt.`);
    }
    const { tooComplex, progressive } = complexity(type, input);
    if (tooComplex) throw new CodedError("image_too_complex", tooComplex);
    // The ICC profile would be copied into our output unchecked: unbounded in size, and a place to
    // smuggle bytes. Colours are treated as sRGB instead.
    const source = WITHOUT_ICC[type]?.(input) ?? input;
    // The header alone, in this process: cheap, and it prices the decode before one is started.
    let header: { width: number; height: number };
    try {
      header = await new Bun.Image(source, { maxPixels: this.policy.maxPixels }).metadata();
    } catch (err) {
      throw imageError(err);
    }
    const { width, height } = header;
    if (width > MAX_DIMENSION || height > MAX_DIMENSION) {
      throw new CodedError("image_too_large", `Images may be at most ${MAX_DIMENSION} pixels on a side.`);
    }
    return { source, memory: decodeMemory(type, width * height, progressive) };
  }
}

// Bounds the upload bodies in flight, over all and per account, before a byte of a body is read:
// the decode queue bounds only bodies already read, so held uploads could fill memory (issue 14.2).
export class UploadAdmission {
  private total = 0;
  private readonly perUser = new Map<number, number>();

  constructor(
    readonly maxTotal: number,
    readonly maxPerUser: number,
  ) {}

  get inFlight(): number {
    return this.total;
  }

  /** Takes a place for `userId`'s upload and returns its release, or throws server_busy (503) at once when none is free. */
  enter(userId: number): () => void {
    const mine = this.perUser.get(userId) ?? 0;
    if (this.total >= this.maxTotal || mine >= this.maxPerUser) {
      const detail =
        mine >= this.maxPerUser
          ? `At most ${this.maxPerUser} uploads per account may be in progress at once; try again shortly.`
          : "Too many uploads are in progress; try again shortly.";
      throw new CodedError("server_busy", detail, { headers: { "Retry-After": "1" } });
    }
    this.total++;
    this.perUser.set(userId, mine + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total--;
      const left = (this.perUser.get(userId) ?? 1) - 1;
      if (left > 0) this.perUser.set(userId, left);
      else this.perUser.delete(userId);
    };
  }
}
