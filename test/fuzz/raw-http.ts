// HTTP/1.1 over a bare socket, for what fetch will not send: lying or doubled Content-Length,
// broken chunking, malformed request lines and headers. Collects every response until close/idle.
import type { Rng } from "./seed.ts";

export type RawPlan = {
  bytes: string; // latin1, with the fuzzer's placeholders still in it
  complete: boolean; // false when the request deliberately stops short: silence is then allowed
  notes: string[];
};

export type RawResponse = { status: number; headers: Headers; body: Buffer };
export type RawOutcome = { responses: RawResponse[]; closed: boolean; timedOut: boolean; received: Buffer };

/** Sends `bytes`, waits for a close or for `idleMs` of silence after data, at most `timeoutMs`. */
export function exchange(port: number, bytes: Buffer, timeoutMs: number, idleMs = 150): Promise<RawOutcome> {
  return new Promise((resolve) => {
    let received = Buffer.alloc(0);
    let settled = false;
    let idle: Timer | undefined;
    let socket: { end(): void } | undefined;
    const finish = (closed: boolean, timedOut: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(overall);
      clearTimeout(idle);
      socket?.end();
      resolve({ responses: parseResponses(received), closed, timedOut, received });
    };
    const overall = setTimeout(() => finish(false, true), timeoutMs);
    Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        open(s) {
          socket = s;
          s.write(bytes);
        },
        data(_, chunk) {
          received = Buffer.concat([received, chunk]);
          clearTimeout(idle);
          idle = setTimeout(() => finish(false, false), idleMs);
        },
        close: () => finish(true, false),
        error: () => finish(true, false),
      },
    }).catch(() => finish(true, false));
  });
}

/** Every complete response in `buf` (1xx included); stops at the first incomplete one. */
export function parseResponses(buf: Buffer): RawResponse[] {
  const out: RawResponse[] = [];
  let at = 0;
  while (at < buf.length) {
    const end = buf.indexOf("\r\n\r\n", at);
    if (end < 0) break;
    const [statusLine, ...lines] = buf.toString("latin1", at, end).split("\r\n");
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine!)?.[1]);
    const headers = new Headers();
    for (const line of lines) headers.append(line.slice(0, line.indexOf(":")).trim(), line.slice(line.indexOf(":") + 1).trim());
    let bodyEnd = end + 4;
    if (status >= 200 && headers.has("content-length")) bodyEnd += Number(headers.get("content-length"));
    else if (status >= 200 && /chunked/i.test(headers.get("transfer-encoding") ?? "")) {
      const last = buf.indexOf("\r\n0\r\n\r\n", end + 2);
      if (last < 0) break;
      bodyEnd = last + 7;
    } else if (status >= 200 && headers.get("connection") === "close") bodyEnd = buf.length;
    if (!Number.isFinite(status) || bodyEnd > buf.length) break;
    out.push({ status, headers, body: buf.subarray(end + 4, bodyEnd) });
    at = bodyEnd;
  }
  return out;
}

/** A malformed (or oddly framed) request to `path`, built around a small JSON body. */
export function rawPlan(rng: Rng, method: string, path: string, body: string): RawPlan {
  const notes: string[] = [];
  const pick = <T>(name: string, options: Array<[string, T]>): T => {
    const [label, value] = rng.pick(options);
    notes.push(`${name}: ${label}`);
    return value;
  };
  const line = pick("request line", [
    ["valid", `${method} ${path} HTTP/1.1`],
    ["HTTP/1.0", `${method} ${path} HTTP/1.0`],
    ["HTTP/2.0", `${method} ${path} HTTP/2.0`],
    ["HTTP/9.9", `${method} ${path} HTTP/9.9`],
    ["no version", `${method} ${path}`],
    ["lower-case method", `${method.toLowerCase()} ${path} HTTP/1.1`],
    ["unknown method", `${rng.pick(["FOO", "CONNECT", "TRACE", "G\u00e9T", "GET/"])} ${path} HTTP/1.1`],
    ["absolute form", `${method} http://127.0.0.1${path} HTTP/1.1`],
    ["asterisk", `${method} * HTTP/1.1`],
    ["spaces in target", `${method} ${path}/a b HTTP/1.1`],
    ["high bytes in target", `${method} ${path}\u00ff\u0080 HTTP/1.1`],
    ["long target", `${method} ${path}?${"a".repeat(rng.pick([8000, 70_000]))} HTTP/1.1`],
    ["double spaces", `${method}  ${path}  HTTP/1.1`],
  ]);
  const headers = ["Host: 127.0.0.1", "Authorization: Bearer @@TOKEN@@", "Content-Type: application/json"];
  const extra = pick("header", [
    ["none", []],
    ["no colon", ["NoColonHere"]],
    ["space before colon", ["X-A : b"]],
    ["obs-fold", ["X-A: b", " folded"]],
    ["NUL in value", ["X-A: a\u0000b"]],
    ["high bytes", ["X-A: \u00e9\u00ff"]],
    ["empty name", [": x"]],
    ["bad name", ["X(A): b"]],
    ["second Host", ["Host: other"]],
    ["second Content-Type", ["Content-Type: text/plain"]],
    ["many", Array.from({ length: 150 }, (_, i) => `X-H${i}: ${i}`)],
    ["huge value", [`X-A: ${"a".repeat(rng.pick([4000, 20_000]))}`]],
    ["Expect 100-continue", ["Expect: 100-continue"]],
    ["upgrade", ["Connection: Upgrade", "Upgrade: websocket"]],
  ]);
  let complete = true;
  const framing = pick("framing", [
    ["exact length", [`Content-Length: ${Buffer.byteLength(body, "latin1")}`]],
    ["no length", []],
    ["shorter length", [`Content-Length: ${Math.max(0, body.length - 3)}`]],
    ["non-numeric", ["Content-Length: abc"]],
    ["negative", ["Content-Length: -1"]],
    ["plus sign", [`Content-Length: +${body.length}`]],
    ["hex", [`Content-Length: 0x${body.length.toString(16)}`]],
    ["two different", [`Content-Length: ${body.length}`, `Content-Length: ${body.length + 1}`]],
    ["two same", [`Content-Length: ${body.length}`, `Content-Length: ${body.length}`]],
    ["list", [`Content-Length: ${body.length}, ${body.length}`]],
    ["enormous", ["Content-Length: 99999999999999999999999"]],
    ["chunked", ["Transfer-Encoding: chunked"]],
    ["chunked and length", ["Transfer-Encoding: chunked", `Content-Length: ${body.length}`]],
    ["gzip, chunked", ["Transfer-Encoding: gzip, chunked"]],
    ["chunked, gzip", ["Transfer-Encoding: chunked, gzip"]],
  ]);
  let payload = body;
  if (framing.some((h) => /chunked/i.test(h))) {
    payload = pick("chunks", [
      ["valid", `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`],
      ["bad size", `zz\r\n${body}\r\n0\r\n\r\n`],
      ["huge size", `ffffffffffffffffff\r\n${body}\r\n0\r\n\r\n`],
      ["extension", `${body.length.toString(16)};x="y"\r\n${body}\r\n0\r\n\r\n`],
      ["size too small", `1\r\n${body}\r\n0\r\n\r\n`],
      ["no CRLF after data", `${body.length.toString(16)}\r\n${body}0\r\n\r\n`],
    ]);
  }
  if (rng.chance(0.08)) {
    // Stops short of what it announced: the server may wait, and that is not a hang.
    payload = payload.slice(0, rng.int(payload.length));
    complete = false;
    notes.push("cut short");
  }
  const lineEnd = rng.chance(0.05) ? "\n" : "\r\n";
  if (lineEnd === "\n") notes.push("bare LF line ends");
  let bytes = [line, ...headers, ...extra, ...framing].join(lineEnd) + lineEnd + lineEnd + payload;
  if (rng.chance(0.05)) {
    bytes = rng.pick(["\u0016\u0003\u0001\u0002\u0000\u0001\u0000\u0001\u00fc\u0003\u0003", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "\r\n\r\n\r\n", "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGARBAGE\r\n\r\n"]);
    notes.push(`replaced: ${JSON.stringify(bytes.slice(0, 20))}`);
  }
  return { bytes, complete, notes };
}
