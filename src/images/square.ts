// Centre-crops a PNG made by Bun.Image to a square, by hand: Bun.Image (1.4.5) cannot crop, and square
// variants must be cropped, not squashed. It goes back as a BMP (no deflate), so the crop is a memcpy.

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
// Channels per colour type, 8-bit only: grey, RGB, grey+alpha, RGBA. Bun.Image writes RGBA.
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 4: 2, 6: 4 };

// Bun's own deflate, not node:zlib: loading that module costs a decode child some 15 ms of CPU.
// Bun.deflateSync speaks raw DEFLATE, so the two-byte zlib header and the Adler-32 are ours.
function adler32(bytes: Uint8Array): number {
  let a = 1;
  let b = 0;
  for (let at = 0; at < bytes.length; ) {
    const end = Math.min(bytes.length, at + 5552); // the most bytes before b can overflow 2^32
    for (; at < end; at++) {
      a += bytes[at]!;
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}

function zlibDeflate(raw: Uint8Array, level: number): Uint8Array {
  const body = Bun.deflateSync(raw as Uint8Array<ArrayBuffer>, { level: level as 0 });
  const out = new Uint8Array(2 + body.length + 4);
  out.set([0x78, 0x01]);
  out.set(body, 2);
  new DataView(out.buffer).setUint32(2 + body.length, adler32(raw));
  return out;
}

const zlibInflate = (data: Uint8Array): Uint8Array => Bun.inflateSync(data.subarray(2, data.length - 4) as Uint8Array<ArrayBuffer>);

export type Pixels = { width: number; height: number; colourType: number; channels: number; data: Uint8Array };

/** Unfiltered 8-bit pixels of a non-interlaced PNG; anything else is a TypeError (we only read our own). */
export function decodePng(png: Uint8Array): Pixels {
  if (!SIGNATURE.every((b, i) => png[i] === b)) throw new TypeError("not a PNG");
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  let width = 0;
  let height = 0;
  let colourType = -1;
  const idat: Uint8Array[] = [];
  for (let at = 8; at + 12 <= png.length; ) {
    const length = view.getUint32(at);
    const type = String.fromCharCode(...png.subarray(at + 4, at + 8));
    const data = png.subarray(at + 8, at + 8 + length);
    if (type === "IHDR") {
      width = view.getUint32(at + 8);
      height = view.getUint32(at + 12);
      if (data[8] !== 8 || data[12] !== 0) throw new TypeError("only 8-bit, non-interlaced PNGs are read");
      colourType = data[9]!;
    } else if (type === "IDAT") idat.push(data);
    else if (type === "IEND") break;
    at += 12 + length;
  }
  const channels = CHANNELS[colourType];
  if (!channels || width === 0 || height === 0) throw new TypeError(`unsupported PNG (colour type ${colourType})`);
  const raw = zlibInflate(idat.length === 1 ? idat[0]! : Buffer.concat(idat));
  const stride = width * channels;
  if (raw.length < height * (stride + 1)) throw new TypeError("PNG image data is short");
  const data = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const row = data.subarray(y * stride, (y + 1) * stride);
    if (filter === 0) {
      row.set(line); // what Bun.Image writes at compressionLevel 0: a plain copy, no per-byte loop
      continue;
    }
    const up = y > 0 ? data.subarray((y - 1) * stride, y * stride) : new Uint8Array(stride);
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? row[x - channels]! : 0;
      const b = up[x]!;
      const c = x >= channels ? up[x - channels]! : 0;
      let predictor = 0;
      if (filter === 1) predictor = a;
      else if (filter === 2) predictor = b;
      else if (filter === 3) predictor = (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        predictor = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      } else if (filter !== 0) throw new TypeError(`bad PNG filter ${filter}`);
      row[x] = (line[x]! + predictor) & 0xff;
    }
  }
  return { width, height, colourType, channels, data };
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, Bun.hash.crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** A PNG of 8-bit pixels, filter 0; level 0 (stored) suits intermediates that are read once and dropped. */
export function encodePng({ width, height, colourType, channels, data }: Pixels, level = 0): Uint8Array {
  const stride = width * channels;
  const raw = new Uint8Array(height * (stride + 1));
  for (let y = 0; y < height; y++) raw.set(data.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  const header = new Uint8Array(13);
  new DataView(header.buffer).setUint32(0, width);
  new DataView(header.buffer).setUint32(4, height);
  header.set([8, colourType, 0, 0, 0], 8);
  return Buffer.concat([
    Uint8Array.from(SIGNATURE),
    chunk("IHDR", header),
    chunk("IDAT", zlibDeflate(raw, level)),
    chunk("IEND", new Uint8Array(0)),
  ]);
}

const BMP_HEADER = 14 + 108; // file header + BITMAPV4HEADER, which can name the channel order

/**
 * The largest centred square of 8-bit RGBA pixels as a top-down 32-bit BMP whose bit fields say
 * "R, G, B, A in memory order", so rows are copied as they are. Bun.Image decodes it (BMP is one of
 * its read-only formats). With an odd surplus the extra pixel is cut on the right/bottom.
 */
export function centreSquareBmp(image: Pixels): Uint8Array {
  if (image.channels !== 4) return encodePng(centreSquare(image));
  const side = Math.min(image.width, image.height);
  const left = (image.width - side) >> 1;
  const top = (image.height - side) >> 1;
  const out = new Uint8Array(BMP_HEADER + side * side * 4);
  const view = new DataView(out.buffer);
  out.set([0x42, 0x4d]); // "BM"
  view.setUint32(2, out.length, true);
  view.setUint32(10, BMP_HEADER, true);
  view.setUint32(14, 108, true);
  view.setInt32(18, side, true);
  view.setInt32(22, -side, true); // negative: rows top-down, as in the PNG
  view.setUint16(26, 1, true);
  view.setUint16(28, 32, true);
  view.setUint32(30, 3, true); // BI_BITFIELDS
  view.setUint32(34, side * side * 4, true);
  [0x000000ff, 0x0000ff00, 0x00ff0000, 0xff000000].forEach((mask, i) => view.setUint32(54 + 4 * i, mask, true));
  view.setUint32(70, 0x73524742, true); // "sRGB" colour space
  for (let y = 0; y < side; y++) {
    const from = ((top + y) * image.width + left) * 4;
    out.set(image.data.subarray(from, from + side * 4), BMP_HEADER + y * side * 4);
  }
  return out;
}

/** The largest centred square of the image; with an odd surplus the extra pixel is cut on the right/bottom. */
export function centreSquare(image: Pixels): Pixels {
  const side = Math.min(image.width, image.height);
  const left = (image.width - side) >> 1;
  const top = (image.height - side) >> 1;
  const { channels } = image;
  const data = new Uint8Array(side * side * channels);
  for (let y = 0; y < side; y++) {
    const from = ((top + y) * image.width + left) * channels;
    data.set(image.data.subarray(from, from + side * channels), y * side * channels);
  }
  return { ...image, width: side, height: side, data };
}
