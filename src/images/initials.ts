// A display name's initials for the generated default avatar (issue 11.4), by grapheme, not by code
// unit: "Émile Zola" → "ÉZ", a ZWJ emoji stays whole, and no control or bidi character gets through.

// Names longer than this are cut before segmenting: the initials come from the first and last words
// anyone reads, and the work per request stays bounded whatever was stored.
const MAX_NAME = 256;
// A grapheme longer than this is a stack of combining marks ("Zalgo"); its first code point is kept.
const MAX_GRAPHEME = 16;

const segmenter = new Intl.Segmenter(undefined, { granularity: "grapheme" });

// What an initial may start with: a letter, a digit, or a pictograph (emoji, flags).
const INITIAL = /^[\p{L}\p{N}\p{Extended_Pictographic}\p{Regional_Indicator}]/u;
// Scripts whose names are written without spaces and whose glyphs are wide: one initial is enough.
const WIDE = /^[\p{Script=Han}\p{Script=Hangul}\p{Script=Hiragana}\p{Script=Katakana}]/u;
const ARABIC = /^\p{Script=Arabic}/u;
// Anything XML 1.0 may not carry, plus controls and format characters other than ZWJ/ZWNJ and variation selectors.
const UNSAFE = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]|[\p{Cc}\p{Co}\p{Cs}]|(?![\u200C\u200D\u{E0020}-\u{E007F}])\p{Cf}/gu;

/** The first grapheme of `word` that can be an initial, made safe and uppercased where the script has case. */
function firstInitial(word: string): string | undefined {
  for (const { segment } of segmenter.segment(word)) {
    if (!INITIAL.test(segment)) continue;
    let grapheme = segment.replace(UNSAFE, "");
    if (grapheme.length > MAX_GRAPHEME) grapheme = String.fromCodePoint(grapheme.codePointAt(0)!);
    const upper = grapheme.toUpperCase();
    // "ß" would become "SS": an uppercase form that is no longer one grapheme is not used.
    return [...segmenter.segment(upper)].length === 1 ? upper : grapheme;
  }
  return undefined;
}

/**
 * One or two graphemes: the first of the first word and the first of the last word; one-word names
 * and names in Han, Hangul or kana give one. An empty result means "no usable initial" (blank,
 * punctuation only, controls only): the renderers then draw their neutral figure.
 */
export function initials(name: string): string {
  const words = name.normalize("NFC").slice(0, MAX_NAME).split(/[\s\p{Z}]+/u);
  const found: string[] = [];
  for (const word of words) {
    const initial = firstInitial(word);
    if (initial !== undefined) found.push(initial);
  }
  if (found.length === 0) return "";
  const first = found[0]!;
  if (found.length === 1 || WIDE.test(first)) return first;
  const last = found.at(-1)!;
  // Two Arabic letters side by side would join into one cursive word; a ZWNJ keeps them initials.
  return ARABIC.test(first) && ARABIC.test(last) ? `${first}\u200C${last}` : first + last;
}

/** Each grapheme of a string, for renderers that draw initials one at a time. */
export function graphemes(text: string): string[] {
  return [...segmenter.segment(text)].map((s) => s.segment);
}
