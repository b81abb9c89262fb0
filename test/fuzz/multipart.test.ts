// Properties of the multipart reader behind /me/upload-image: what an encoder writes parses back
// to the same names and bytes, and whatever else arrives is parts or a 4xx HttpError, quickly.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { parseMultipart, readMultipartFile } from "../../src/http/body.ts";
import { HttpError } from "../../src/http/problem.ts";
import { runs } from "./seed.ts";

const encoder = new TextEncoder();
const bytesOf = (text: string) => encoder.encode(text);
const sameBytes = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

/** Sequences a multipart parser has to look past, spliced into names, values and contents. */
const TRICKY = ["\r\n", "\r\n\r\n", "--", "\r\n--", "------WebKitFormBoundary", '"', ";", "=", "; filename=x", '; name="image"', "%22", "é", "🙂"];
const trickyText = (unit: fc.Arbitrary<string>) =>
  fc.array(fc.oneof(fc.string({ unit, maxLength: 6 }), fc.constantFrom(...TRICKY)), { maxLength: 6 }).map((p) => p.join(""));
const trickyBytes = fc
  .array(fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.constantFrom(...TRICKY).map(bytesOf)), { maxLength: 8 })
  .map((chunks) => new Uint8Array(Buffer.concat(chunks)));

/** How the WHATWG encoder writes a filename: CR, LF and quotes percent-encoded, nothing else. */
const filenameOnTheWire = (name: string) => name.replaceAll("\r", "%0D").replaceAll("\n", "%0A").replaceAll('"', "%22");
/** A field name's line breaks are made CRLF first, as entry values' are. */
const onTheWire = (name: string) => filenameOnTheWire(name.replace(/\r\n|\r|\n/g, "\r\n"));

async function encode(form: FormData) {
  const response = new Response(form);
  const contentType = response.headers.get("content-type")!; // read first: Bun drops it once consumed
  return { body: new Uint8Array(await response.arrayBuffer()), boundary: /boundary=(.+)$/.exec(contentType)![1]!, contentType };
}

/** The parse, or the HttpError it threw; any other exception fails the property. */
function parsed(body: Uint8Array, boundary: string) {
  const started = performance.now();
  try {
    return parseMultipart(body, boundary);
  } catch (err) {
    if (err instanceof HttpError && err.status === 400) return err;
    throw new Error(`parseMultipart threw ${String(err)}`, { cause: err });
  } finally {
    expect(performance.now() - started).toBeLessThan(1000); // a loop that stops advancing shows here first
  }
}

describe("what FormData encodes parses back", () => {
  // The WHATWG encoder leaves a backslash as it is, while this parser reads quoted-pairs as RFC 2183
  // allows (a\"b), so a name or filename with a backslash is the one thing that does not round-trip.
  const name = trickyText(fc.constantFrom(..."abcXYZ09 -_.,:;=?'()[]{}<>@%\t\r\n\"é😀")).filter((s) => !s.includes("\\"));
  const entry = fc.oneof(
    fc.record({ kind: fc.constant("file" as const), name, filename: name, bytes: trickyBytes, type: fc.constantFrom("", "image/jpeg", "IMAGE/PNG", "application/x-thing") }),
    fc.record({ kind: fc.constant("text" as const), name, value: trickyText(fc.constantFrom(..."ab \r\n\"é😀-")) }),
  );

  test("names, filenames and bytes survive, in order; readMultipartFile finds the first of a name", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(entry, { minLength: 1, maxLength: 8 }), fc.nat(), async (entries, pick) => {
        const form = new FormData();
        for (const e of entries) {
          if (e.kind === "file") form.append(e.name, new Blob([e.bytes], { type: e.type }), e.filename);
          else form.append(e.name, e.value);
        }
        const { body, boundary, contentType } = await encode(form);
        const parts = parsed(body, boundary);
        if (parts instanceof HttpError) throw new Error(`a FormData body was refused: ${parts.detail}`);

        expect(parts.map((p) => p.name)).toEqual(entries.map((e) => onTheWire(e.name)));
        entries.forEach((e, i) => {
          const part = parts[i]!;
          if (e.kind === "file") {
            expect(part.filename).toBe(filenameOnTheWire(e.filename));
            expect(part.contentType).toBe(e.type.toLowerCase() || "application/octet-stream");
            expect(sameBytes(part.data, e.bytes)).toBe(true);
          } else {
            expect(part.filename).toBeUndefined();
            expect(sameBytes(part.data, bytesOf(e.value.replace(/\r\n|\r|\n/g, "\r\n")))).toBe(true);
          }
        });

        const wanted = onTheWire(entries[pick % entries.length]!.name);
        const request = new Request("http://fuzz/upload", { method: "POST", headers: { "Content-Type": contentType }, body });
        const file = await readMultipartFile(request, [wanted], body.byteLength);
        expect(sameBytes(file!.data, parts.find((p) => p.name === wanted)!.data)).toBe(true);
      }),
      runs(400),
    );
  });
});

describe("what RFC 2046 allows, written by hand, parses back", () => {
  const BCHARS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=? ";
  const boundary = fc.string({ unit: fc.constantFrom(...BCHARS), minLength: 1, maxLength: 70 }).filter((b) => !b.endsWith(" "));
  const quotedName = fc.string({ unit: fc.constantFrom(..."ab;= \"\\é-"), maxLength: 10 });
  const part = fc.record({
    name: quotedName,
    data: trickyBytes,
    dispositionCase: fc.constantFrom("Content-Disposition: form-data", "content-disposition:FORM-DATA", "CONTENT-DISPOSITION :  Form-Data"),
    extraHeader: fc.constantFrom("", "\r\nContent-Type: image/png", "\r\nX-Extra: ; name=\"not-this\""),
    padding: fc.constantFrom("", " ", "\t ", "  "),
  });

  test("any boundary, quoted-pair names, header case, transport padding, preamble and epilogue", async () => {
    await fc.assert(
      fc.asyncProperty(boundary, fc.array(part, { minLength: 1, maxLength: 6 }), fc.constantFrom("", "preamble\r\n", "\r\n"), fc.string({ maxLength: 20 }), fc.boolean(), async (b, parts, preamble, epilogue, quote) => {
        const delimiter = `--${b}`;
        fc.pre(parts.every((p) => !Buffer.from(p.data).includes(`\r\n${delimiter}`)));
        const chunks: Uint8Array[] = [bytesOf(preamble)];
        for (const p of parts) {
          const escaped = p.name.replace(/["\\]/g, "\\$&");
          chunks.push(bytesOf(`${delimiter}${p.padding}\r\n${p.dispositionCase}; name="${escaped}"${p.extraHeader}\r\n\r\n`), p.data, bytesOf("\r\n"));
        }
        chunks.push(bytesOf(`${delimiter}--${epilogue}`));
        const body = new Uint8Array(Buffer.concat(chunks));

        const result = parsed(body, b);
        if (result instanceof HttpError) throw new Error(`a valid body was refused: ${result.detail}`);
        expect(result.map((p) => p.name)).toEqual(parts.map((p) => p.name));
        result.forEach((got, i) => expect(sameBytes(got.data, parts[i]!.data)).toBe(true));

        const needsQuotes = /[^A-Za-z0-9'+_.-]/.test(b);
        const header = `multipart/form-data; boundary=${needsQuotes || quote ? `"${b}"` : b}`;
        const request = new Request("http://fuzz/upload", { method: "POST", headers: { "Content-Type": header }, body });
        const file = await readMultipartFile(request, [parts[0]!.name], body.byteLength);
        expect(sameBytes(file!.data, parts[0]!.data)).toBe(true);
      }),
      runs(400),
    );
  });
});

describe("anything else is parts or a 4xx, never another exception or a hang", () => {
  const INTERESTING = [0x0d, 0x0a, 0x2d, 0x22, 0x3b, 0x3d, 0x5c, 0x20, 0x00, 0xff];
  type Mutation = (body: Uint8Array, boundary: string, at: number, n: number) => Uint8Array;
  const cat = (...parts: Array<Uint8Array | string>) => new Uint8Array(Buffer.concat(parts.map((p) => (typeof p === "string" ? bytesOf(p) : p))));
  const MUTATIONS: Record<string, Mutation> = {
    flip: (b, _, at, n) => { const c = b.slice(); if (c.length) c[at % c.length]! ^= 1 << (n % 8); return c; },
    interesting: (b, _, at, n) => { const c = b.slice(); if (c.length) c[at % c.length] = INTERESTING[n % INTERESTING.length]!; return c; },
    insert: (b, bd, at, n) => { const i = at % (b.length + 1); const s = [...TRICKY, `--${bd}`, `\r\n--${bd}--`, `\r\n--${bd}\r\n`][n % (TRICKY.length + 3)]!; return cat(b.subarray(0, i), s, b.subarray(i)); },
    delete: (b, _, at, n) => { const i = at % (b.length + 1); return cat(b.subarray(0, i), b.subarray(i + (n % 64))); },
    duplicate: (b, _, at, n) => { const i = at % (b.length + 1); return cat(b.subarray(0, i + (n % 200)), b.subarray(i)); },
    truncate: (b, _, at) => b.subarray(0, at % (b.length + 1)),
  };
  const mutation = fc.tuple(fc.constantFrom(...Object.keys(MUTATIONS)), fc.nat(), fc.nat());
  const seedForm = fc.array(fc.tuple(fc.constantFrom("image", "other", ""), trickyBytes), { minLength: 0, maxLength: 4 });
  const boundaryGiven = fc.oneof(
    fc.constant("same"),
    fc.constant("prefix"),
    fc.string({ unit: "binary", minLength: 1, maxLength: 70 }),
    fc.constantFrom("-", "--", "\r\n", "b", ".*", "(", "\\", "é"),
  );

  test("mutated FormData bodies, under the real boundary or another", async () => {
    await fc.assert(
      fc.asyncProperty(seedForm, fc.array(mutation, { minLength: 1, maxLength: 4 }), boundaryGiven, async (entries, mutations, given) => {
        const form = new FormData();
        for (const [name, bytes] of entries) form.append(name, new Blob([bytes]), "f.jpg");
        const { body: original, boundary } = await encode(form);
        let body: Uint8Array = original;
        for (const [name, at, n] of mutations) body = MUTATIONS[name]!(body, boundary, at, n);
        const b = given === "same" ? boundary : given === "prefix" ? boundary.slice(0, -3) : given;
        const result = parsed(body, b);
        if (result instanceof HttpError) return;
        expect(result.length).toBeLessThanOrEqual(33);
        for (const part of result) expect(part.data.buffer).toBe(body.buffer); // slices of the body, never copies
      }),
      runs(1500),
    );
  });

  const soup = fc
    .array(fc.oneof(fc.constantFrom("--b", "--b--", "\r\n", "\r\n\r\n", "Content-Disposition: form-data", '; name="image"', "; filename=", " ", ":", "x"), fc.string({ maxLength: 4 })), { maxLength: 30 })
    .map((tokens) => bytesOf(tokens.join("")));

  test("token soups and random bytes", () => {
    fc.assert(
      fc.property(fc.oneof(soup, fc.uint8Array({ maxLength: 500 })), (body) => void parsed(body, "b")),
      runs(3000),
    );
  });

  test("readMultipartFile: any Content-Type, body and limit → a part, nothing, or a 400/413/415", async () => {
    const contentType = fc.oneof(
      fc.array(fc.constantFrom("multipart/form-data", "Multipart/Form-Data", "text/plain", ";", " ", "boundary=", "boundary=b", 'boundary="b"', '"', "charset=utf-8", "b"), { maxLength: 6 }).map((p) => p.join("")),
      fc.string({ unit: "binary-ascii", maxLength: 80 }).filter((s) => !/[\r\n\0]/.test(s)),
    );
    await fc.assert(
      fc.asyncProperty(contentType, fc.oneof(soup, trickyBytes), fc.nat(600), async (type, body, limit) => {
        const request = new Request("http://fuzz/upload", { method: "POST", headers: { "Content-Type": type }, body });
        try {
          await readMultipartFile(request, ["image"], limit);
        } catch (err) {
          if (!(err instanceof HttpError) || ![400, 413, 415].includes(err.status)) throw err;
        }
      }),
      runs(1500),
    );
  });
});
