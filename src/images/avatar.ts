// The default avatar of an account without a picture (issue 11.4): its initials in white on a colour
// derived from the user id, as SVG in which no user text can become markup; PNG is avatar-png.ts.
import { initials } from "./initials.ts";

/**
 * For the route serving the SVG: nothing may load or run, and no page may frame it. The SVG uses
 * presentation attributes only, so it needs no style-src at all; `sandbox` also disables script
 * should a browser ever treat it as a document.
 */
export const AVATAR_CSP = "default-src 'none'; sandbox; frame-ancestors 'none'";

/** Headers to send with the SVG besides caching: its type, the CSP, and no type sniffing. */
export const AVATAR_SVG_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "Content-Type": "image/svg+xml; charset=utf-8",
  "Content-Security-Policy": AVATAR_CSP,
  "X-Content-Type-Options": "nosniff",
});

export const DEFAULT_AVATAR_SIZE = 128;
/** WCAG 2.x AA for normal text; every background we make meets it against white. */
export const MIN_CONTRAST = 4.5;

export type Rgb = readonly [number, number, number];

const channel = (c: number): number => {
  const s = c / 255;
  return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
};

/** WCAG relative luminance of an sRGB colour. */
export function luminance([r, g, b]: Rgb): number {
  return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
}

/** WCAG contrast ratio of two colours, 1 to 21. */
export function contrast(a: Rgb, b: Rgb): number {
  const [high, low] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (high + 0.05) / (low + 0.05);
}

function hsl(h: number, s: number, l: number): Rgb {
  const k = (n: number) => (n + h / 30) % 12;
  const a = s * Math.min(l, 1 - l);
  const f = (n: number) => Math.round(255 * (l - a * Math.max(-1, Math.min(k(n) - 3, 9 - k(n), 1))));
  return [f(0), f(8), f(4)];
}

const WHITE: Rgb = [255, 255, 255];

/**
 * A background for `userId`: the hue from a hash of the id (so neighbouring ids differ), then the
 * lightest shade from 45% down whose contrast with white is at least 4.5 plus a margin for rounding.
 */
export function avatarColour(userId: number | string): Rgb {
  const digest = Buffer.from(new Bun.CryptoHasher("sha256").update(`avatar:${userId}`).digest());
  const hue = digest.readUInt16BE(0) % 360;
  const saturation = 0.45 + (digest[2]! % 25) / 100;
  for (let lightness = 0.45; lightness > 0.1; lightness -= 0.01) {
    const rgb = hsl(hue, saturation, lightness);
    if (contrast(rgb, WHITE) >= MIN_CONTRAST + 0.1) return rgb;
  }
  return [40, 40, 40]; // unreachable for these saturations; a safe dark grey all the same
}

export const hex = (rgb: Rgb): string => `#${rgb.map((c) => c.toString(16).padStart(2, "0")).join("")}`;

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Text safe as XML character data and inside attribute quotes alike. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

// A head and shoulders, for names with no usable initial: fixed markup, no user text at all.
const NEUTRAL_FIGURE =
  '<circle cx="64" cy="50" r="22" fill="#ffffff"/><path d="M24 112c4-24 20-36 40-36s36 12 40 36z" fill="#ffffff"/>';

export type SvgAvatar = { svg: string; initials: string; background: string };

/**
 * The SVG avatar. The template is fixed; the only user-derived part is the escaped initials inside
 * the one <text> element, and the only other variable is the colour we computed. `size` is an
 * integer the caller has validated; the drawing itself is a 128-unit viewBox.
 */
export function svgAvatar(userId: number | string, name: string, size = DEFAULT_AVATAR_SIZE): SvgAvatar {
  if (!Number.isInteger(size) || size < 16 || size > 1024) throw new TypeError(`bad avatar size ${size}`);
  const text = initials(name);
  const background = hex(avatarColour(userId));
  const count = [...new Intl.Segmenter(undefined, { granularity: "grapheme" }).segment(text)].length;
  const fontSize = count > 1 ? 52 : 64;
  const body = text
    ? `<text x="64" y="64" dy="0.35em" text-anchor="middle" fill="#ffffff" font-family="system-ui,-apple-system,'Segoe UI',Roboto,'Noto Sans',sans-serif" font-size="${fontSize}" font-weight="600">${escapeXml(text)}</text>`
    : NEUTRAL_FIGURE;
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 128 128">` +
    `<rect width="128" height="128" fill="${background}"/>${body}</svg>`;
  return { svg, initials: text, background };
}
