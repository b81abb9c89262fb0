// Counts what multiplies a decoder's work beyond the pixel count, before any decoding: a small file
// with thousands of progressive scans or restart markers, or a PNG cut into myriad chunks (issue 9.1).

// Each progressive scan makes libjpeg walk every block of its component again (about 3 ms a scan
// at 25 MP here). Encoders write 3–12 scans (libjpeg's default script has 10, mozjpeg's ~12).
export const MAX_JPEG_SCANS = 64;
// Cameras restart once per MCU row (a few hundred per scan); a restart after every block of
// 25 MP would be some 400,000, each with its own decoder reset.
export const MAX_JPEG_RESTARTS = 65_536;
// libpng writes 8 KiB IDAT chunks (640 in 5 MiB); a file of empty chunks could have 400,000.
export const MAX_PNG_CHUNKS = 20_000;

export type JpegStructure = { scans: number; restarts: number; progressive: boolean };

/**
 * Walks every marker of a JPEG: segments by their length, entropy-coded data byte by byte (where
 * 0xFF is always followed by a stuffed 0x00, a restart or the next marker). Undefined when the
 * structure is broken; the decoder then says what is wrong.
 */
export function jpegStructure(bytes: Uint8Array): JpegStructure | undefined {
  const found: JpegStructure = { scans: 0, restarts: 0, progressive: false };
  let at = 2;
  while (at + 1 < bytes.length) {
    if (bytes[at] !== 0xff) return undefined;
    const marker = bytes[at + 1]!;
    if (marker === 0xff) {
      at++; // fill byte
      continue;
    }
    if (marker === 0xd9) return found; // end of image
    if (at + 3 >= bytes.length) return undefined;
    const length = (bytes[at + 2]! << 8) | bytes[at + 3]!;
    if (length < 2) return undefined;
    if (marker === 0xc2 || marker === 0xc6 || marker === 0xca || marker === 0xce) found.progressive = true;
    at += 2 + length;
    if (marker !== 0xda) continue;
    found.scans++;
    // Entropy-coded data runs to the next marker that is neither stuffing nor a restart.
    while (at + 1 < bytes.length) {
      if (bytes[at] !== 0xff) {
        at++;
        continue;
      }
      const next = bytes[at + 1]!;
      if (next === 0x00) at += 2;
      else if (next >= 0xd0 && next <= 0xd7) {
        found.restarts++;
        at += 2;
      } else break;
    }
  }
  return undefined;
}

/** How many chunks a PNG has, counted up to IEND or to where the chunk list stops making sense. */
export function pngChunkCount(png: Uint8Array): number {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  let count = 0;
  for (let at = 8; at + 12 <= png.length; count++) {
    at += 12 + view.getUint32(at);
  }
  return count;
}

export type Complexity = { tooComplex?: string; progressive: boolean };

/** Why a file would cost far more to decode than its size and pixel count suggest, if it would. */
export function complexity(type: string, bytes: Uint8Array): Complexity {
  if (type === "jpeg") {
    const jpeg = jpegStructure(bytes);
    const progressive = jpeg?.progressive ?? false;
    if (jpeg && jpeg.scans > MAX_JPEG_SCANS) {
      return { progressive, tooComplex: `The JPEG has ${jpeg.scans} scans; at most ${MAX_JPEG_SCANS} are accepted.` };
    }
    if (jpeg && jpeg.restarts > MAX_JPEG_RESTARTS) {
      return { progressive, tooComplex: `The JPEG has ${jpeg.restarts} restart markers; at most ${MAX_JPEG_RESTARTS} are accepted.` };
    }
    return { progressive };
  }
  if (type === "png") {
    const chunks = pngChunkCount(bytes);
    if (chunks > MAX_PNG_CHUNKS) return { progressive: false, tooComplex: `The PNG has ${chunks} chunks; at most ${MAX_PNG_CHUNKS} are accepted.` };
  }
  return { progressive: false };
}
