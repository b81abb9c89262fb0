// Makes a profile picture's whole set of stored objects at upload, inside the decode child: the cleaned
// full-size JPEG, square centre-cropped WebP and JPEG variants, and a ThumbHash placeholder (issue 11).
import { cappedJpeg, type Encoding } from "./decoder.ts";
import { jpegWithoutMetadata } from "./metadata.ts";
import { centreSquareBmp, decodePng } from "./square.ts";

/**
 * Square sides made by default (IMAGE_VARIANT_SIZES). Not 512: measured on the whole upload
 * (bench/variant-uploads.sh), it takes a 5 MiB upload from ~1.3× today's CPU to ~1.9× and, on a
 * loaded machine, past the 1.5 s decode budget (422); 256 covers 128 CSS px at 2×.
 */
export const DEFAULT_VARIANT_SIZES: readonly number[] = Object.freeze([64, 128, 256]);

/** The full-size JPEG is encoded as the single profile JPEG is (decoder.ts); `sizes`: DEFAULT_VARIANT_SIZES when absent. */
export type VariantOptions = Encoding & { sizes?: readonly number[] };

export type ImageFormat = "jpeg" | "webp";

export type StoredImage = {
  format: ImageFormat;
  contentType: "image/jpeg" | "image/webp";
  /** Side of a square variant in pixels (what it really is, never more than the source); absent for the full image. */
  pixels?: number;
  /** First 16 hex digits of the SHA-256 of `bytes`: the object's name changes exactly when its content does. */
  hash: string;
  bytes: Uint8Array;
};

export type VariantSet = {
  /** The cleaned full-size JPEG's dimensions (oriented, longest side capped at maxSide). */
  width: number;
  height: number;
  /** ThumbHash rendering of the square crop as a data:image/png;base64 URL. */
  placeholder: string;
  full: StoredImage;
  /** Requested size → its WebP and JPEG; sizes above the source's square share the largest real one. */
  sizes: Record<string, { webp: StoredImage; jpeg: StoredImage }>;
};

/** The first 16 hex digits of the SHA-256: 64 bits, ample to keep one account's objects apart. */
export function contentHash(bytes: Uint8Array): string {
  return new Bun.CryptoHasher("sha256").update(bytes).digest("hex").slice(0, 16);
}

const EXTENSION: Record<ImageFormat, string> = { jpeg: "jpg", webp: "webp" };

/** Storage key of one object: `<userId>/<hash>-<pixels|full>.<ext>`; immutable, so cacheable for a year. */
export function objectName(userId: number | string, image: StoredImage): string {
  return `${userId}/${image.hash}-${image.pixels ?? "full"}.${EXTENSION[image.format]}`;
}

function stored(format: ImageFormat, bytes: Uint8Array, pixels?: number): StoredImage {
  // Our own encoder writes no EXIF/XMP today; stripping again keeps a codec update from leaking any.
  const clean = format === "jpeg" ? jpegWithoutMetadata(bytes) : bytes;
  const image: StoredImage = { format, contentType: `image/${format}`, hash: contentHash(clean), bytes: clean };
  if (pixels !== undefined) image.pixels = pixels;
  return image;
}

/** Checks a size list: positive integers up to 4096, at least one; misuse is a TypeError. */
export function validSizes(sizes: readonly number[]): number[] {
  if (sizes.length === 0) throw new TypeError("at least one variant size is needed");
  for (const size of sizes) {
    if (!Number.isInteger(size) || size < 1 || size > 4096) throw new TypeError(`bad variant size ${size}`);
  }
  return [...new Set(sizes)].sort((a, b) => a - b);
}

/**
 * Decodes `source` once (EXIF orientation applied, metadata dropped) and makes every object. Work is
 * sequential: a child gets one core's worth of the image budget. A size larger than the source's
 * square is not enlarged: it gets the largest square the source has (so its key still exists, and
 * the content hash makes it the same object as its neighbours').
 */
export async function makeVariants(source: Uint8Array, options: VariantOptions): Promise<VariantSet> {
  const sizes = validSizes(options.sizes ?? DEFAULT_VARIANT_SIZES);
  const { quality } = options;
  const decoded = cappedJpeg(source, options);
  const full = stored("jpeg", await decoded.bytes());
  const { width, height } = decoded;

  // The square is cut from the full JPEG scaled so its short side is the largest variant: the crop
  // then handles at most 512×(512·aspect) pixels, not the whole picture.
  const side = Math.min(width, height);
  const largest = Math.min(sizes.at(-1)!, side);
  const scaled = await new Bun.Image(full.bytes)
    .resize(Math.max(largest, Math.round((width * largest) / side)), Math.max(largest, Math.round((height * largest) / side)))
    .png({ compressionLevel: 0 })
    .bytes();
  const square = centreSquareBmp(decodePng(scaled));
  const placeholder = await new Bun.Image(square).placeholder();

  const made = new Map<number, { webp: StoredImage; jpeg: StoredImage }>();
  const result: VariantSet["sizes"] = {};
  for (const size of sizes) {
    const pixels = Math.min(size, largest);
    let pair = made.get(pixels);
    if (!pair) {
      const webp = await new Bun.Image(square).resize(pixels, pixels).webp({ quality }).bytes();
      const jpeg = await new Bun.Image(square).resize(pixels, pixels).jpeg({ quality }).bytes();
      pair = { webp: stored("webp", webp, pixels), jpeg: stored("jpeg", jpeg, pixels) };
      made.set(pixels, pair);
    }
    result[String(size)] = pair;
  }
  return { width, height, placeholder, full, sizes: result };
}

/** Every distinct object of a set, once each (capped sizes share objects). */
export function storedObjects(set: VariantSet): StoredImage[] {
  const all = [set.full, ...Object.values(set.sizes).flatMap((pair) => [pair.webp, pair.jpeg])];
  return [...new Map(all.map((image) => [`${image.hash}-${image.pixels}-${image.format}`, image])).values()];
}

/** The set as the row stores it (users.image_set): object names instead of bytes. */
export function storedSet(set: VariantSet, userId: number | string) {
  const sizes: Record<string, { webp: string; jpeg: string }> = {};
  for (const [size, pair] of Object.entries(set.sizes)) sizes[size] = { webp: objectName(userId, pair.webp), jpeg: objectName(userId, pair.jpeg) };
  return { full: objectName(userId, set.full), sizes, width: set.width, height: set.height, placeholder: set.placeholder };
}

// The set crosses from the child to its parent on stdout as one JSON header line and then the bytes.
type WireImage = Omit<StoredImage, "bytes" | "hash"> & { length: number };
type WireHeader = Omit<VariantSet, "full" | "sizes"> & { full: WireImage; sizes: Record<string, { webp: number; jpeg: number }>; objects: WireImage[] };

/** The set as bytes for the child's stdout. */
export function encodeVariantSet(set: VariantSet): Uint8Array {
  const objects = storedObjects(set);
  const wire = ({ bytes, hash: _, ...rest }: StoredImage): WireImage => ({ ...rest, length: bytes.length });
  const sizes: WireHeader["sizes"] = {};
  for (const [size, pair] of Object.entries(set.sizes)) {
    sizes[size] = { webp: objects.indexOf(pair.webp), jpeg: objects.indexOf(pair.jpeg) };
  }
  const header: WireHeader = { width: set.width, height: set.height, placeholder: set.placeholder, full: wire(set.full), sizes, objects: objects.map(wire) };
  return Buffer.concat([Buffer.from(JSON.stringify(header) + "\n"), ...objects.map((o) => o.bytes)]);
}

/** The set back from the child's stdout; hashes are recomputed here, so a name always matches its bytes. */
export function decodeVariantSet(data: Uint8Array): VariantSet {
  const newline = data.indexOf(0x0a);
  if (newline < 0) throw new Error("variant set: no header");
  const header = JSON.parse(new TextDecoder().decode(data.subarray(0, newline))) as WireHeader;
  let at = newline + 1;
  const objects = header.objects.map(({ length, ...rest }) => {
    const bytes = data.subarray(at, (at += length));
    if (bytes.length !== length) throw new Error("variant set: truncated");
    return { ...rest, hash: contentHash(bytes), bytes } as StoredImage;
  });
  if (at !== data.length) throw new Error("variant set: trailing bytes");
  const sizes: VariantSet["sizes"] = {};
  for (const [size, { webp, jpeg }] of Object.entries(header.sizes)) sizes[size] = { webp: objects[webp]!, jpeg: objects[jpeg]! };
  return { width: header.width, height: header.height, placeholder: header.placeholder, full: objects[0]!, sizes };
}
