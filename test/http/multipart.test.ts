// The multipart/form-data parser behind /me/upload-image: what a real client encodes parses back
// byte for byte, and anything that is not a well-formed body is a 400, never a crash or a guess.
import { describe, expect, test } from "bun:test";
import { parseMultipart, readMultipartFile } from "../../src/http/body.ts";
import { HttpError } from "../../src/http/problem.ts";

const encoder = new TextEncoder();
const bytesOf = (text: string) => encoder.encode(text);
const textOf = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** Encodes `form` the way fetch would send it; returns the body and the boundary Bun chose. */
async function encode(form: FormData): Promise<{ body: Uint8Array; boundary: string; contentType: string }> {
  const response = new Response(form);
  const contentType = response.headers.get("content-type")!;
  const boundary = /boundary=(.+)$/.exec(contentType)![1]!;
  return { body: new Uint8Array(await response.arrayBuffer()), boundary, contentType };
}

/** Every byte value, plus the sequences a naive parser would trip on. */
function nastyBytes(): Uint8Array {
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  return new Uint8Array([...all, ...bytesOf("\r\n\r\n--\r\n-- \r\n"), ...all.reverse(), 0x0d, 0x0a]);
}

/** Runs `fn` and returns the HttpError it threw, failing the test if it threw anything else. */
function httpErrorFrom(fn: () => unknown): HttpError {
  try {
    fn();
  } catch (err) {
    if (err instanceof HttpError) return err;
    throw new Error(`expected an HttpError, got ${String(err)}`);
  }
  throw new Error("expected an HttpError, but parsing succeeded");
}

describe("parseMultipart: what FormData encodes parses back", () => {
  test("names, filenames, content types and exact file bytes (0x00-0xFF, CRLFs) survive", async () => {
    const file = nastyBytes();
    const form = new FormData();
    form.append("note", "héllo 🙂\r\nsecond line");
    form.append("image", new Blob([file], { type: "image/jpeg" }), "photo.jpg");
    form.append("empty", new Blob([], { type: "application/octet-stream" }), "empty.bin");
    const { body, boundary } = await encode(form);

    const parts = parseMultipart(body, boundary);

    expect(parts.map((p) => p.name)).toEqual(["note", "image", "empty"]);
    expect(parts.map((p) => p.filename)).toEqual([undefined, "photo.jpg", "empty.bin"]);
    expect(parts[1]!.contentType).toBe("image/jpeg");
    expect(textOf(parts[0]!.data)).toBe("héllo 🙂\r\nsecond line");
    expect(parts[1]!.data.byteLength).toBe(file.byteLength);
    expect(Buffer.from(parts[1]!.data).equals(Buffer.from(file))).toBe(true);
    expect(parts[2]!.data.byteLength).toBe(0);
  });

  test("a body that sits at an offset inside a larger buffer parses the same", async () => {
    const file = nastyBytes();
    const form = new FormData();
    form.append("image", new Blob([file]), "a.jpg");
    const { body, boundary } = await encode(form);
    const bigger = new Uint8Array(body.byteLength + 200).fill(0x58);
    bigger.set(body, 100);

    const parts = parseMultipart(bigger.subarray(100, 100 + body.byteLength), boundary);

    expect(parts).toHaveLength(1);
    expect(Buffer.from(parts[0]!.data).equals(Buffer.from(file))).toBe(true);
  });

  test("an empty form (only the closing delimiter) is no parts", () => {
    expect(parseMultipart(bytesOf("--b--\r\n"), "b")).toEqual([]);
  });
});

describe("parseMultipart: hand-written bodies that RFC 2046 allows", () => {
  const part = (boundary: string, value: string) =>
    `--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="x.jpg"\r\n\r\n${value}\r\n--${boundary}--\r\n`;

  test.each([
    ["a plain token", "simple-Boundary_0123"],
    ["characters that need quoting in the header", "gc0p4Jq0M:2Yt08jU534c0p'()+_,-./=? x"],
    ["the 70-character maximum", "b".repeat(70)],
  ])("boundary with %s", (_, boundary) => {
    const parts = parseMultipart(bytesOf(part(boundary, "payload")), boundary);
    expect(parts.map((p) => [p.name, p.filename, textOf(p.data)])).toEqual([["image", "x.jpg", "payload"]]);
  });

  test.each([
    ["a preamble ending in CRLF", (b: string) => `This is the preamble.\r\n${part(b, "v")}`],
    ["transport padding after a delimiter", (b: string) => part(b, "v").replace(`--${b}\r\n`, `--${b}  \t\r\n`)],
    ["an epilogue after the closing delimiter", (b: string) => `${part(b, "v")}epilogue, ignored`],
    ["unquoted disposition parameters, any case", (b: string) => `--${b}\r\ncontent-disposition: FORM-DATA; NAME=image; filename=x.jpg\r\n\r\nv\r\n--${b}--`],
  ])("%s", (_, build) => {
    const parts = parseMultipart(bytesOf(build("xyz")), "xyz");
    expect(parts.map((p) => [p.name, textOf(p.data)])).toEqual([["image", "v"]]);
  });

  test("a quoted filename with a backslash-escaped quote", () => {
    const body = `--b\r\nContent-Disposition: form-data; name="image"; filename="a \\"b\\".jpg"\r\n\r\nv\r\n--b--`;
    expect(parseMultipart(bytesOf(body), "b")[0]!.filename).toBe('a "b".jpg');
  });

  test("parameter-like text inside a quoted name is part of the name (found by test/fuzz)", async () => {
    const form = new FormData();
    form.append("x; filename=evil.sh; name=y", new Blob(["v"]), "real.jpg");
    const { body, boundary } = await encode(form);
    const [part] = parseMultipart(body, boundary);
    expect([part!.name, part!.filename]).toEqual(["x; filename=evil.sh; name=y", "real.jpg"]);
  });
});

describe("parseMultipart: malformed bodies are a 400", () => {
  const disposition = 'Content-Disposition: form-data; name="image"; filename="x.jpg"';

  test.each([
    ["an empty body", ""],
    ["a body that never mentions the boundary", `--other\r\n${disposition}\r\n\r\nv\r\n--other--\r\n`],
    ["garbage before the first boundary without CRLF", `garbage--b\r\n${disposition}\r\n\r\nv\r\n--b--\r\n`],
    ["a single byte before the first boundary", `x--b\r\n${disposition}\r\n\r\nv\r\n--b--\r\n`],
    ["a missing closing delimiter (data runs to the end)", `--b\r\n${disposition}\r\n\r\nv`],
    ["a missing closing delimiter (last delimiter lacks --)", `--b\r\n${disposition}\r\n\r\nv\r\n--b`],
    ["a delimiter that opens a part that never comes", `--b\r\n${disposition}\r\n\r\nv\r\n--b\r\n`],
    ["a part without Content-Disposition", "--b\r\nContent-Type: image/jpeg\r\n\r\nv\r\n--b--\r\n"],
    ["a part with no headers at all", "--b\r\n\r\nv\r\n--b--\r\n"],
    ["a disposition that is not form-data", '--b\r\nContent-Disposition: attachment; name="image"\r\n\r\nv\r\n--b--\r\n'],
    ["a header line without a colon", `--b\r\n${disposition}\r\nnot a header\r\n\r\nv\r\n--b--\r\n`],
    ["headers that never end", `--b\r\n${disposition}\r\nX-Filler: ${"a".repeat(10_000)}`],
    ["a header block over 8 KiB", `--b\r\n${disposition}\r\nX-Filler: ${"a".repeat(9000)}\r\n\r\nv\r\n--b--\r\n`],
    ["junk instead of CRLF after a delimiter", `--bjunk\r\n${disposition}\r\n\r\nv\r\n--b--\r\n`],
    ["more than 32 parts", `${`--b\r\nContent-Disposition: form-data; name="f"\r\n\r\nv\r\n`.repeat(40)}--b--\r\n`],
  ])("%s → 400", (_, body) => {
    const error = httpErrorFrom(() => parseMultipart(bytesOf(body), "b"));
    expect(error.status).toBe(400);
    expect(error.code).toBe("bad_request");
  });
});

describe("readMultipartFile: the boundary comes from the Content-Type header", () => {
  const request = (contentType: string, body: string) =>
    new Request("http://test/upload", { method: "POST", headers: { "Content-Type": contentType }, body });
  const body = (boundary: string) =>
    `--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="x.jpg"\r\nContent-Type: image/png\r\n\r\nPNG!\r\n--${boundary}--\r\n`;

  test.each([
    ["unquoted", "multipart/form-data; boundary=abc123", "abc123"],
    ["unquoted, no space, upper-case parameter", "Multipart/Form-Data;BOUNDARY=abc123", "abc123"],
    ["unquoted, after another parameter", "multipart/form-data; charset=utf-8; boundary=abc123", "abc123"],
    ["quoted", 'multipart/form-data; boundary="abc123"', "abc123"],
    ["quoted, with characters only quoting allows", 'multipart/form-data; boundary="a b:c=d?e"', "a b:c=d?e"],
  ])("%s boundary", async (_, contentType, boundary) => {
    const file = await readMultipartFile(request(contentType, body(boundary)), ["image"], 1024);
    expect(file?.filename).toBe("x.jpg");
    expect(file?.contentType).toBe("image/png");
    expect(textOf(file!.data)).toBe("PNG!");
  });

  test("a field that is not there is undefined, not an error", async () => {
    expect(await readMultipartFile(request("multipart/form-data; boundary=abc", body("abc")), ["avatar"], 1024)).toBeUndefined();
  });

  test.each([
    ["no boundary parameter", 400, "multipart/form-data"],
    ["an empty boundary", 400, "multipart/form-data; boundary="],
    ["an empty quoted boundary", 400, 'multipart/form-data; boundary=""'],
    ["another media type", 415, "application/json"],
  ] as const)("%s → %d", async (_, status, contentType) => {
    const error = await readMultipartFile(request(contentType, body("abc")), ["image"], 1024).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(HttpError);
    expect((error as HttpError).status).toBe(status);
  });

  test("a body over the limit → 413", async () => {
    const error = await readMultipartFile(request("multipart/form-data; boundary=abc", body("abc")), ["image"], 16).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(HttpError);
    expect((error as HttpError).status).toBe(413);
  });
});
