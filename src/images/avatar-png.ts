// The default avatar as PNG (`format=png`): Bun.Image can neither draw text nor read SVG, so initials
// are drawn from a built-in 5×7 bitmap font of A–Z and 0–9; anything else gets the neutral figure.
import { avatarColour, DEFAULT_AVATAR_SIZE } from "./avatar.ts";
import { graphemes, initials } from "./initials.ts";
import { encodePng } from "./square.ts";

// Seven rows of five bits per glyph, top row first, as two hex digits a row.
export const FONT: Readonly<Record<string, string>> = {
  A: "0E11111F111111", B: "1E11111E11111E", C: "0E11101010110E", D: "1C12111111121C",
  E: "1F10101E10101F", F: "1F10101E101010", G: "0E11101711110F", H: "1111111F111111",
  I: "0E04040404040E", J: "0702020202120C", K: "11121418141211", L: "1010101010101F",
  M: "111B1515111111", N: "11111915131111", O: "0E11111111110E", P: "1E11111E101010",
  Q: "0E11111115120D", R: "1E11111E141211", S: "0F10100E01011E", T: "1F040404040404",
  U: "1111111111110E", V: "11111111110A04", W: "1111111515150A", X: "11110A040A1111",
  Y: "1111110A040404", Z: "1F01020408101F", "0": "0E11131519110E", "1": "040C040404040E",
  "2": "0E11010204081F", "3": "1F02040201110E", "4": "02060A121F0202",
  "5": "1F101E0101110E", "6": "0608101E11110E", "7": "1F010204080808", "8": "0E11110E11110E", "9": "0E11110F01020C",
};

/**
 * The letter our font would draw for an initial: the base letter of a Latin one ("É" → "E", its
 * accent lost), itself for A–Z and 0–9, undefined for everything else (other scripts, emoji).
 */
export function drawable(initial: string): string | undefined {
  const base = initial.normalize("NFD").replace(/\p{M}/gu, "");
  return base.length === 1 && FONT[base] ? base : undefined;
}

function glyphBit(letter: string, row: number, column: number): boolean {
  const bits = parseInt(FONT[letter]!.slice(row * 2, row * 2 + 2), 16);
  return ((bits >> (4 - column)) & 1) === 1;
}

type Canvas = { size: number; data: Uint8Array };

function fill(canvas: Canvas, x: number, y: number): void {
  if (x < 0 || y < 0 || x >= canvas.size || y >= canvas.size) return;
  canvas.data.fill(255, (y * canvas.size + x) * 3, (y * canvas.size + x) * 3 + 3);
}

/** The letters, centred, each 5×7 cell scaled to a block of `scale` pixels with one blank column between. */
function drawLetters(canvas: Canvas, letters: string[]): void {
  const { size } = canvas;
  const columns = letters.length * 6 - 1;
  const scale = Math.max(1, Math.floor((size * 0.55) / Math.max(columns, 7 * 1.6)));
  const left = Math.floor((size - columns * scale) / 2);
  const top = Math.floor((size - 7 * scale) / 2);
  letters.forEach((letter, index) => {
    for (let row = 0; row < 7; row++) {
      for (let column = 0; column < 5; column++) {
        if (!glyphBit(letter, row, column)) continue;
        const x0 = left + (index * 6 + column) * scale;
        const y0 = top + row * scale;
        for (let dy = 0; dy < scale; dy++) for (let dx = 0; dx < scale; dx++) fill(canvas, x0 + dx, y0 + dy);
      }
    }
  });
}

/** The same head and shoulders as the SVG's, in the same 128-unit coordinates. */
function drawFigure(canvas: Canvas): void {
  const unit = canvas.size / 128;
  for (let y = 0; y < canvas.size; y++) {
    for (let x = 0; x < canvas.size; x++) {
      const [u, v] = [(x + 0.5) / unit, (y + 0.5) / unit];
      const head = (u - 64) ** 2 + (v - 50) ** 2 <= 22 ** 2;
      const shoulders = v >= 76 && v <= 112 && ((u - 64) / 40) ** 2 + ((v - 112) / 36) ** 2 <= 1;
      if (head || shoulders) fill(canvas, x, y);
    }
  }
}

export type PngAvatar = { png: Uint8Array; drawn: "initials" | "figure"; letters: string };

/**
 * The PNG avatar: the initials when our font can draw every one of them, else the neutral figure
 * (never a partial pair). Same background as the SVG for the same id.
 */
export function pngAvatar(userId: number | string, name: string, size = DEFAULT_AVATAR_SIZE): PngAvatar {
  if (!Number.isInteger(size) || size < 16 || size > 1024) throw new TypeError(`bad avatar size ${size}`);
  const [r, g, b] = avatarColour(userId);
  const canvas: Canvas = { size, data: new Uint8Array(size * size * 3) };
  // One pixel, then doubling copies: a loop of per-pixel sets took ~6 ms of a 512-px avatar's ~28.
  canvas.data.set([r, g, b], 0);
  for (let filled = 3; filled < canvas.data.length; filled *= 2) canvas.data.copyWithin(filled, 0, Math.min(filled, canvas.data.length - filled));
  const letters = graphemes(initials(name)).filter((g) => g !== "\u200C").map(drawable);
  const ok = letters.length > 0 && letters.every((l): l is string => l !== undefined);
  if (ok) drawLetters(canvas, letters as string[]);
  else drawFigure(canvas);
  const png = encodePng({ width: size, height: size, colourType: 2, channels: 3, data: canvas.data }, 9);
  return { png, drawn: ok ? "initials" : "figure", letters: ok ? letters.join("") : "" };
}
