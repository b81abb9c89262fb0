// The default avatar of issue 11.4: Unicode-aware initials, a deterministic background that white text
// can be read on, an SVG into which no name can inject markup, and a PNG drawn without a text engine.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { drawable, FONT, pngAvatar } from "../../src/images/avatar-png.ts";
import { AVATAR_CSP, AVATAR_SVG_HEADERS, avatarColour, contrast, escapeXml, hex, MIN_CONTRAST, svgAvatar } from "../../src/images/avatar.ts";
import { initials } from "../../src/images/initials.ts";
import { decodePng } from "../../src/images/square.ts";

describe("initials", () => {
  test.each([
    ["Émile Zola", "ÉZ"],
    ["émile zola", "ÉZ"],
    ["E\u0301mile Zola", "ÉZ"], // decomposed input is composed first
    ["Ada Lovelace Byron King", "AK"],
    ["Madonna", "M"],
    ["  padded   name  ", "PN"],
    ["(Bob) 'the' smith", "BS"],
    ["山田 太郎", "山"],
    ["김민준", "김"],
    ["Ελένη Παπαδοπούλου", "ΕΠ"],
    ["дмитрий шостакович", "ДШ"],
    ["محمد علي", "م\u200Cع"],
    ["דוד בן גוריון", "דג"],
    ["👩‍💻 Ada", "👩‍💻A"],
    ["🦊", "🦊"],
    ["🇫🇷 Jean", "🇫🇷J"],
    ["ßtraße x", "ßX"],
    ["\u202Eevil \u2066name", "EN"],
    ["", ""],
    ["   \t\n ", ""],
    ["!!! ---", ""],
    ["\u0000\u0007", ""],
  ])("%p → %p", (name, expected) => {
    expect(initials(name)).toBe(expected);
  });

  test("a ZWJ emoji is one grapheme, and a Zalgo stack is cut to its base", () => {
    expect([...new Intl.Segmenter().segment(initials("👨‍👩‍👧‍👦"))]).toHaveLength(1);
    expect(initials(`e${"\u0301".repeat(40)} z`)).toBe("ÉZ");
  });

  test("bounded output for any input: at most two initials plus a joiner, no control or bidi character", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 400 }), (name) => {
        const text = initials(name);
        expect([...new Intl.Segmenter().segment(text)].filter((s) => s.segment !== "\u200C").length).toBeLessThanOrEqual(2);
        expect(text).not.toMatch(/[\p{Cc}\p{Cs}\u202A-\u202E\u2066-\u2069\u200E\u200F]/u);
        expect(text.length).toBeLessThanOrEqual(2 * 16 + 1);
      }),
      { numRuns: 500 },
    );
  });
});

describe("background colour", () => {
  test("deterministic, varied, and ≥ 4.5:1 against white for every id", () => {
    expect(avatarColour(42)).toEqual(avatarColour(42));
    expect(avatarColour("42")).toEqual(avatarColour(42));
    const colours = new Set<string>();
    for (let id = 1; id <= 3000; id++) {
      const colour = avatarColour(id);
      expect(contrast(colour, [255, 255, 255])).toBeGreaterThanOrEqual(MIN_CONTRAST);
      colours.add(hex(colour));
    }
    expect(colours.size).toBeGreaterThan(300);
    expect(contrast([0, 0, 0], [255, 255, 255])).toBeCloseTo(21, 5);
    expect(contrast([119, 119, 119], [255, 255, 255])).toBeCloseTo(4.48, 2); // WCAG's known borderline grey
  });
});

const TEMPLATE_ELEMENTS = ["svg", "rect", "text"];
const ATTRIBUTES: Record<string, string[]> = {
  svg: ["xmlns", "width", "height", "viewbox"],
  rect: ["width", "height", "fill"],
  text: ["x", "y", "dy", "text-anchor", "fill", "font-family", "font-size", "font-weight"],
  circle: ["cx", "cy", "r", "fill"],
  path: ["d", "fill"],
};

/** Every element and attribute in the document, as an HTML parser (lol-html) sees them. */
async function parse(svg: string) {
  const elements: { tag: string; attributes: string[] }[] = [];
  let text = "";
  let inText = false;
  await new HTMLRewriter()
    .on("*", {
      element(el) {
        elements.push({ tag: el.tagName, attributes: [...el.attributes].map(([name]) => name) });
        inText = el.tagName === "text";
        if (!el.selfClosing && el.tagName === "text") el.onEndTag(() => void (inText = false));
      },
      text(chunk) {
        if (inText) text += chunk.text;
      },
    })
    .transform(new Response(svg))
    .text();
  return { elements, text };
}

const unescape = (text: string) =>
  text.replace(/&(amp|lt|gt|quot|#39);/g, (_, e: string) => ({ amp: "&", lt: "<", gt: ">", quot: '"', "#39": "'" })[e]!);

const hostile = fc.oneof(
  fc.string({ unit: "binary", maxLength: 200 }),
  fc.string({ unit: "grapheme", maxLength: 60 }),
  fc
    .array(fc.constantFrom("<", ">", "&", '"', "'", "<script>", "</text>", "<![CDATA[", "]]>", "&amp;", "&#x3C;", "<!--", "\u202E", "onload=", " ", "É", "x", "👩‍💻", "\u0000"), { maxLength: 30 })
    .map((parts) => parts.join("")),
);

describe("SVG avatar", () => {
  test("the fixed template: one <text> with the escaped initials, the id's colour, a size", async () => {
    const { svg, initials: text, background } = svgAvatar(7, "Émile Zola", 64);
    expect(text).toBe("ÉZ");
    expect(background).toBe(hex(avatarColour(7)));
    expect(svg).toStartWith('<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 128 128">');
    const parsed = await parse(svg);
    expect(parsed.elements.map((e) => e.tag)).toEqual(TEMPLATE_ELEMENTS);
    expect(parsed.text).toBe("ÉZ");
    expect(() => svgAvatar(7, "x", 10_000)).toThrow(TypeError);
  });

  test("a name with no usable initial gets the neutral figure and no text at all", async () => {
    const parsed = await parse(svgAvatar(7, " \u202E ").svg);
    expect(parsed.elements.map((e) => e.tag)).toEqual(["svg", "rect", "circle", "path"]);
    expect(parsed.text).toBe("");
  });

  test("escapeXml leaves nothing that can open a tag, an entity or an attribute", () => {
    expect(escapeXml(`<a href="x" title='y'>&amp;</a>`)).toBe("&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;");
  });

  test("property: escapeXml alone keeps any text as one text node (the defence if initials ever let '<' through)", async () => {
    await fc.assert(
      fc.asyncProperty(hostile, async (text) => {
        const parsed = await parse(`<svg><text x="1">${escapeXml(text)}</text></svg>`);
        expect(parsed.elements.map((e) => e.tag)).toEqual(["svg", "text"]);
        expect(unescape(escapeXml(text))).toBe(text);
        expect(escapeXml(text)).not.toMatch(/[<>"']/);
      }),
      { numRuns: 400 },
    );
  });

  test("property: no name can add an element, an attribute or markup", async () => {
    await fc.assert(
      fc.asyncProperty(hostile, fc.integer({ min: 1, max: 1e9 }), async (name, id) => {
        const { svg, initials: text } = svgAvatar(id, name);
        const parsed = await parse(svg);
        const tags = parsed.elements.map((e) => e.tag);
        expect(tags).toEqual(text ? TEMPLATE_ELEMENTS : ["svg", "rect", "circle", "path"]);
        for (const { tag, attributes } of parsed.elements) expect(attributes).toEqual(ATTRIBUTES[tag]!);
        // The character data between <text …> and </text> is exactly the escaped initials.
        const body = svg.match(/<text [^>]*>([^<]*)<\/text>/)?.[1] ?? "";
        expect(body).not.toMatch(/[<>"']|&(?!(amp|lt|gt|quot|#39);)/);
        expect(unescape(body)).toBe(text);
        expect(parsed.text).toBe(body);
        expect(svg.match(/</g)!.length).toBe(5);
      }),
      { numRuns: 400 },
    );
  });

  test("a strict CSP and headers for the route", () => {
    expect(AVATAR_CSP).toContain("default-src 'none'");
    expect(AVATAR_CSP).not.toContain("script-src");
    expect(AVATAR_CSP).not.toContain("unsafe");
    expect(AVATAR_SVG_HEADERS["Content-Security-Policy"]).toBe(AVATAR_CSP);
    expect(AVATAR_SVG_HEADERS["X-Content-Type-Options"]).toBe("nosniff");
  });
});

describe("PNG avatar", () => {
  const whiteAt = (pixels: ReturnType<typeof decodePng>, x: number, y: number) =>
    [0, 1, 2].every((c) => pixels.data[(y * pixels.width + x) * pixels.channels + c] === 255);
  const whiteCount = (pixels: ReturnType<typeof decodePng>) => {
    let n = 0;
    for (let y = 0; y < pixels.height; y++) for (let x = 0; x < pixels.width; x++) if (whiteAt(pixels, x, y)) n++;
    return n;
  };
  const lit = (letter: string) => [...FONT[letter]!.matchAll(/../g)].reduce((n, [h]) => n + [...parseInt(h!, 16).toString(2)].filter((b) => b === "1").length, 0);

  test("the font: 36 glyphs of seven 5-bit rows", () => {
    expect(Object.keys(FONT)).toHaveLength(36);
    for (const rows of Object.values(FONT)) {
      expect(rows).toMatch(/^[0-9A-F]{14}$/);
      for (const row of rows.match(/../g)!) expect(parseInt(row, 16)).toBeLessThan(32);
    }
  });

  test("initials drawn from the font on the id's colour, readable by Bun.Image", async () => {
    const { png, drawn, letters } = pngAvatar(5, "Émile Zola", 128);
    expect([drawn, letters]).toEqual(["initials", "EZ"]);
    expect(await new Bun.Image(png).metadata()).toEqual({ width: 128, height: 128, format: "png" });
    const pixels = decodePng(png);
    const [r, g, b] = avatarColour(5);
    expect([...pixels.data.subarray(0, 3)]).toEqual([r, g, b]);
    // Two 5×7 glyphs scaled to 128·0.55/11 = 6 px blocks: exactly their lit cells are white.
    expect(whiteCount(pixels)).toBe((lit("E") + lit("Z")) * 36);
  });

  test("initials the font cannot draw (other scripts, emoji, nothing) get the neutral figure", () => {
    for (const name of ["山田 太郎", "محمد", "🦊", "", "Zoë 🦊"]) {
      const avatar = pngAvatar(5, name, 64);
      expect(avatar.drawn).toBe("figure");
      expect(whiteCount(decodePng(avatar.png))).toBeGreaterThan(64 * 64 * 0.1);
    }
    expect(drawable("É")).toBe("E");
    expect(drawable("Ø")).toBeUndefined(); // not a base letter plus a mark: no glyph
    expect(drawable("7")).toBe("7");
  });

  test("different names and ids give different pictures; the same ones the same bytes", () => {
    expect(pngAvatar(1, "Ada Lovelace").png).toEqual(pngAvatar(1, "Ada Lovelace").png);
    expect(pngAvatar(1, "Ada Lovelace").png).not.toEqual(pngAvatar(1, "Alan Turing").png);
    expect(pngAvatar(1, "Ada Lovelace").png).not.toEqual(pngAvatar(2, "Ada Lovelace").png);
    expect(() => pngAvatar(1, "A", 8)).toThrow(TypeError);
  });
});
