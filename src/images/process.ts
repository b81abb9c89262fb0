// Turns untrusted upload bytes into a clean JPEG: the type is judged by magic bytes, pixel count is
// bounded before any pixels are allocated, EXIF orientation is applied, the longest side is capped,
// and re-encoding drops EXIF/GPS and anything smuggled after the image data.
import { HttpError, validationFailed } from "../http/problem.ts";
import { Semaphore } from "../util/semaphore.ts";
import { jpegWithoutIcc, jpegWithoutMetadata, pngWithoutIcc, webpWithoutIcc } from "./metadata.ts";

export type ImagePolicy = { maxSide: number; maxPixels: number; quality: number; concurrency: number; queueMax: number };

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

  constructor(private readonly policy: ImagePolicy) {
    this.gate = new Semaphore(policy.concurrency, policy.queueMax);
  }

  get queueDepth(): number {
    return this.gate.depth;
  }

  /** Returns the re-encoded JPEG, or throws a 413/415/422 HttpError that says what was wrong. */
  async toProfileJpeg(input: Uint8Array): Promise<Uint8Array> {
    if (input.byteLength === 0) {
      throw validationFailed([{ field: "image", message: "the file is empty" }]);
    }
    const type = sniffImageType(input);
    if (!type) {
      throw new HttpError("unsupported_image_type", "The file is not a JPEG, PNG, GIF or WebP image.");
    }
    if ((type === "jpeg" && !jpegIsComplete(input)) || (type === "gif" && !gifIsComplete(input))) {
      throw new HttpError("invalid_image", `The ${type.toUpperCase()} image is truncated or corrupt.`);
    }
    // The ICC profile would be copied into our output unchecked: unbounded in size, and a place to
    // smuggle bytes. Colours are treated as sRGB instead.
    const source = WITHOUT_ICC[type]?.(input) ?? input;
    const { maxSide, maxPixels, quality } = this.policy;
    return this.gate.run(async () => {
      try {
        const image = new Bun.Image(source, { maxPixels, autoOrient: true });
        const { width, height } = await image.metadata();
        if (width > MAX_DIMENSION || height > MAX_DIMENSION) {
          throw new HttpError("image_too_large", `Images may be at most ${MAX_DIMENSION} pixels on a side.`);
        }
        const jpeg = await image.resize(maxSide, maxSide, { fit: "inside", withoutEnlargement: true }).jpeg({ quality }).bytes();
        return jpegWithoutMetadata(jpeg);
      } catch (err) {
        throw imageError(err);
      }
    });
  }
}

function imageError(err: unknown): unknown {
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
