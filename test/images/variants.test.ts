// The variant set of issue 11.1: sizes, formats, no enlargement, stable content hashes, metadata gone,
// weight under the original's, and the same set when made in the decode child under its budget.
import { describe, expect, test } from "bun:test";
import { variantsInChild } from "../../src/images/decoder.ts";
import { centreSquare, centreSquareBmp, decodePng, encodePng } from "../../src/images/square.ts";
import {
  contentHash,
  DEFAULT_VARIANT_SIZES,
  decodeVariantSet,
  encodeVariantSet,
  makeVariants,
  objectName,
  storedObjects,
  storedSet,
  validSizes,
  type StoredImage,
} from "../../src/images/variants.ts";
import { hasExif, jpeg, photoLike, png } from "../fixtures/images.ts";

const OPTIONS = { maxPixels: 25_000_000, maxSide: 1024, quality: 85 };
// With 512 as well (IMAGE_VARIANT_SIZES can ask for it): the largest set, the heaviest case.
const WITH_512 = { ...OPTIONS, sizes: [64, 128, 256, 512] };
const JPEG_MAGIC = [0xff, 0xd8, 0xff];
const isJpeg = (b: Uint8Array) => JPEG_MAGIC.every((m, i) => b[i] === m);
const isWebp = (b: Uint8Array) =>
  new TextDecoder().decode(b.subarray(0, 4)) === "RIFF" && new TextDecoder().decode(b.subarray(8, 12)) === "WEBP";
const latin1 = (b: Uint8Array) => Buffer.from(b).toString("latin1");

async function dimensions(bytes: Uint8Array) {
  const { width, height, format } = await new Bun.Image(bytes).metadata();
  return { width, height, format };
}

describe("square.ts", () => {
  test("crops the centre of a PNG Bun.Image wrote, whatever filters it used", async () => {
    const source = await new Bun.Image(png(90, 40, { seed: 3 })).png().bytes();
    const pixels = decodePng(source);
    const square = centreSquare(pixels);
    expect([square.width, square.height]).toEqual([40, 40]);
    // Column 25 of the original is column 0 of the square, row by row.
    for (let y = 0; y < 40; y += 13) {
      const from = (y * 90 + 25) * pixels.channels;
      const to = y * 40 * square.channels;
      expect([...square.data.subarray(to, to + pixels.channels)]).toEqual([...pixels.data.subarray(from, from + pixels.channels)]);
    }
    expect(await dimensions(encodePng(square))).toEqual({ width: 40, height: 40, format: "png" });
  });

  test("the square as a BMP Bun.Image reads back pixel for pixel", async () => {
    const pixels = decodePng(await new Bun.Image(png(50, 90, { seed: 5 })).png({ compressionLevel: 0 }).bytes());
    expect(pixels.channels).toBe(4);
    const bmp = centreSquareBmp(pixels);
    expect(await dimensions(bmp)).toEqual({ width: 50, height: 50, format: "bmp" });
    const back = decodePng(await new Bun.Image(bmp).png({ compressionLevel: 0 }).bytes());
    expect(back.data).toEqual(centreSquare(pixels).data);
  });
});

describe("makeVariants", () => {
  test("every default size in WebP and JPEG, square, with the full image and a placeholder", async () => {
    const set = await makeVariants(await jpeg(1200, 800), OPTIONS);
    expect([set.width, set.height]).toEqual([1024, 683]);
    expect(await dimensions(set.full.bytes)).toEqual({ width: 1024, height: 683, format: "jpeg" });
    expect(Object.keys(set.sizes)).toEqual(DEFAULT_VARIANT_SIZES.map(String));
    for (const size of DEFAULT_VARIANT_SIZES) {
      const { webp, jpeg: jpg } = set.sizes[size]!;
      expect(isWebp(webp.bytes)).toBe(true);
      expect(isJpeg(jpg.bytes)).toBe(true);
      expect(await dimensions(webp.bytes)).toEqual({ width: size, height: size, format: "webp" });
      expect(await dimensions(jpg.bytes)).toEqual({ width: size, height: size, format: "jpeg" });
      expect([webp.contentType, jpg.contentType]).toEqual(["image/webp", "image/jpeg"]);
      expect(webp.pixels).toBe(size);
    }
    expect(set.placeholder).toStartWith("data:image/png;base64,");
    expect(set.placeholder.length).toBeLessThan(2500);
  });

  test("never enlarges: sizes above the source's square get its largest square, shared", async () => {
    const set = await makeVariants(await jpeg(200, 150), WITH_512);
    expect([set.width, set.height]).toEqual([200, 150]);
    expect(await dimensions(set.sizes["64"]!.webp.bytes)).toMatchObject({ width: 64, height: 64 });
    expect(await dimensions(set.sizes["128"]!.jpeg.bytes)).toMatchObject({ width: 128, height: 128 });
    for (const size of ["256", "512"]) {
      expect(await dimensions(set.sizes[size]!.webp.bytes)).toMatchObject({ width: 150, height: 150 });
      expect(set.sizes[size]!.jpeg.pixels).toBe(150);
    }
    expect(set.sizes["256"]!.webp).toBe(set.sizes["512"]!.webp);
    expect(storedObjects(set)).toHaveLength(1 + 3 * 2);
  });

  test("the size list is configuration: custom sizes are honoured, bad ones refused", async () => {
    const set = await makeVariants(png(300, 300), { ...OPTIONS, sizes: [32, 100] });
    expect(Object.keys(set.sizes)).toEqual(["32", "100"]);
    expect(await dimensions(set.sizes["100"]!.webp.bytes)).toMatchObject({ width: 100, height: 100 });
    expect(validSizes([512, 64, 64])).toEqual([64, 512]);
    for (const bad of [[], [0], [1.5], [5000]]) expect(() => validSizes(bad)).toThrow(TypeError);
  });

  test("hashes are deterministic, name their bytes, and make immutable names", async () => {
    const source = await jpeg(640, 480);
    const [a, b] = [await makeVariants(source, OPTIONS), await makeVariants(source, OPTIONS)];
    const hashes = (set: typeof a) => storedObjects(set).map((o) => o.hash);
    expect(hashes(a)).toEqual(hashes(b));
    for (const object of storedObjects(a)) {
      expect(object.hash).toMatch(/^[0-9a-f]{16}$/);
      expect(object.hash).toBe(contentHash(object.bytes));
    }
    expect(new Set(hashes(a)).size).toBe(storedObjects(a).length);
    expect(objectName(7, a.sizes["64"]!.webp)).toBe(`7/${a.sizes["64"]!.webp.hash}-64.webp`);
    expect(objectName(7, a.full)).toBe(`7/${a.full.hash}-full.jpg`);
    const other = await makeVariants(await jpeg(640, 480, { quality: 60 }), OPTIONS);
    expect(other.full.hash).not.toBe(a.full.hash);
  });

  test("orientation applied, EXIF and GPS gone from every object", async () => {
    const source = await jpeg(300, 200, { orientation: 6, gps: true, comment: "secret" });
    expect(hasExif(source)).toBe(true);
    const set = await makeVariants(source, OPTIONS);
    expect([set.width, set.height]).toEqual([200, 300]);
    for (const object of storedObjects(set)) {
      const text = latin1(object.bytes);
      if (object.format === "jpeg") expect(hasExif(object.bytes)).toBe(false);
      for (const marker of ["Exif", "EXIF", "XMP", "GPS", "secret"]) expect(text).not.toContain(marker);
    }
  });

  test("a 5 MiB photo-like upload: the variants together weigh less than the original", async () => {
    const original = await photoLike(5 * 1024 * 1024);
    expect(original.length).toBeGreaterThan(4 * 1024 * 1024);
    const set = await makeVariants(original, WITH_512);
    const total = storedObjects(set).reduce((n, o) => n + o.bytes.length, 0);
    expect(total).toBeLessThan(original.length);
    expect(set.sizes["512"]!.webp.bytes.length).toBeGreaterThan(5_000); // not compressed to nothing
  }, 30_000);
});

describe("the set across the child's stdout", () => {
  test("encode → decode keeps every object, shared ones still shared", async () => {
    const set = await makeVariants(await jpeg(300, 200), WITH_512);
    const back = decodeVariantSet(encodeVariantSet(set));
    expect(back.width).toBe(set.width);
    expect(back.placeholder).toBe(set.placeholder);
    expect(back.full.hash).toBe(set.full.hash);
    const summary = (o: StoredImage) => [o.format, o.pixels, o.hash, o.bytes.length];
    for (const size of Object.keys(set.sizes)) {
      expect(summary(back.sizes[size]!.webp)).toEqual(summary(set.sizes[size]!.webp));
      expect(summary(back.sizes[size]!.jpeg)).toEqual(summary(set.sizes[size]!.jpeg));
    }
    expect(back.sizes["256"]!.jpeg).toBe(back.sizes["512"]!.jpeg);
    expect(() => decodeVariantSet(encodeVariantSet(set).subarray(0, 500))).toThrow();
  });

  test("variantsInChild makes the same set in the decode child", async () => {
    const source = await jpeg(900, 700, { orientation: 8 });
    const args = { ...OPTIONS, budgetMs: 20_000, variants: [...DEFAULT_VARIANT_SIZES] };
    const fromChild = await variantsInChild(source, args);
    const here = await makeVariants(source, OPTIONS);
    expect(storedObjects(fromChild).map((o) => o.hash)).toEqual(storedObjects(here).map((o) => o.hash));
    const row = storedSet(fromChild, 9);
    expect(row.width).toBe(700);
    expect(row.sizes["128"]!.webp).toBe(`9/${fromChild.sizes["128"]!.webp.hash}-128.webp`);
  });

  test("a file the codec cannot read is the same 422 as today's path", async () => {
    const garbage = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 16, ...new Array(200).fill(7)]);
    const args = { ...OPTIONS, budgetMs: 20_000, variants: [64] };
    await expect(variantsInChild(garbage, args)).rejects.toMatchObject({ code: "invalid_image" });
  });

  test("past the budget the child is killed: 422 image_too_complex", async () => {
    const args = { ...OPTIONS, budgetMs: 1, variants: [...DEFAULT_VARIANT_SIZES] };
    await expect(variantsInChild(await jpeg(1200, 900), args)).rejects.toMatchObject({ code: "image_too_complex" });
  });
});
