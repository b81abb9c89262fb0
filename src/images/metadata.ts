// Byte-level surgery on image containers, for what Bun.Image would otherwise carry across: the ICC
// profile (unbounded in size, and a free-form byte store) and any metadata segment in the output.

const ascii = (bytes: Uint8Array, at: number, text: string): boolean =>
  [...text].every((c, i) => bytes[at + i] === c.charCodeAt(0));

/** PNG without its iCCP chunk. Anything that is not a well-formed chunk list is left to the decoder. */
export function pngWithoutIcc(png: Uint8Array): Uint8Array {
  const keep: Uint8Array[] = [png.subarray(0, 8)];
  let dropped = false;
  let at = 8;
  while (at + 12 <= png.length) {
    const length = new DataView(png.buffer, png.byteOffset + at, 4).getUint32(0);
    const end = at + 12 + length;
    if (end > png.length) break;
    if (ascii(png, at + 4, "iCCP")) dropped = true;
    else keep.push(png.subarray(at, end));
    at = end;
  }
  if (!dropped) return png; // the common case costs no copy
  if (at < png.length) keep.push(png.subarray(at));
  return Buffer.concat(keep);
}

/** Walks JPEG marker segments up to the first scan; `keep` decides per segment. */
function filterJpegSegments(jpeg: Uint8Array, keep: (marker: number, data: Uint8Array) => boolean): Uint8Array {
  const out: Uint8Array[] = [jpeg.subarray(0, 2)];
  let dropped = false;
  let at = 2;
  while (at + 4 <= jpeg.length && jpeg[at] === 0xff) {
    const marker = jpeg[at + 1]!;
    if (marker === 0xff) {
      at++;
      continue;
    }
    if (marker === 0xda) break; // start of scan: the rest is image data
    const length = (jpeg[at + 2]! << 8) | jpeg[at + 3]!;
    const end = at + 2 + length;
    if (length < 2 || end > jpeg.length) break;
    if (keep(marker, jpeg.subarray(at + 4, end))) out.push(jpeg.subarray(at, end));
    else dropped = true;
    at = end;
  }
  if (!dropped) return jpeg; // the common case costs no copy
  out.push(jpeg.subarray(at));
  return Buffer.concat(out);
}

/** JPEG input without ICC_PROFILE (APP2) segments; EXIF stays so orientation can be applied. */
export const jpegWithoutIcc = (jpeg: Uint8Array): Uint8Array =>
  filterJpegSegments(jpeg, (marker, data) => !(marker === 0xe2 && ascii(data, 0, "ICC_PROFILE\0")));

/** Our output JPEG with only what decoding needs: every APPn but JFIF, and every comment, go. */
export const jpegWithoutMetadata = (jpeg: Uint8Array): Uint8Array =>
  filterJpegSegments(jpeg, (marker) => !((marker >= 0xe1 && marker <= 0xef) || marker === 0xfe));

/** WebP without its ICCP chunk, with the VP8X "has ICC" flag cleared and the RIFF size fixed. */
export function webpWithoutIcc(webp: Uint8Array): Uint8Array {
  if (!ascii(webp, 12, "VP8X")) return webp; // only the extended format can carry a profile
  const keep: Uint8Array[] = [];
  let at = 12;
  while (at + 8 <= webp.length) {
    const size = new DataView(webp.buffer, webp.byteOffset + at + 4, 4).getUint32(0, true);
    const end = Math.min(webp.length, at + 8 + size + (size & 1));
    if (ascii(webp, at, "VP8X") && size >= 1) {
      const chunk = Uint8Array.from(webp.subarray(at, end));
      chunk[8] = chunk[8]! & ~0x20;
      keep.push(chunk);
    } else if (!ascii(webp, at, "ICCP")) {
      keep.push(webp.subarray(at, end));
    }
    at = end;
  }
  const body = Buffer.concat(keep);
  const header = Buffer.from(webp.subarray(0, 12));
  header.writeUInt32LE(body.length + 4, 4);
  return Buffer.concat([header, body]);
}
