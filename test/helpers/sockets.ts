// Raw TCP and HTTP/1.1 over bare sockets, for what fetch will not do: lie about a body's length, keep
// writing after an early answer, hang up before the answer, or hold a connection open to time it.
import { connect, type Socket } from "node:net";

const MiB = 1024 * 1024;

export type RawReply = { status: number; headers: Headers; body: string; elapsedMs: number };

/**
 * Speaks HTTP/1.1 over a bare socket, for what fetch will not send (a Content-Length that lies
 * about the body). Writes the head and `bodyStart`, then waits for a complete response or close.
 */
export function rawRequest(url: string, head: string[], bodyStart = "", timeoutMs = 5000): Promise<RawReply> {
  const { hostname, port } = new URL(url);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let received = Buffer.alloc(0);
    const timer = setTimeout(() => finish(new Error(`no complete response in ${timeoutMs} ms; got ${JSON.stringify(received.toString("latin1"))}`)), timeoutMs);
    function parse(): RawReply | undefined {
      const end = received.indexOf("\r\n\r\n");
      if (end < 0) return undefined;
      const [statusLine, ...lines] = received.toString("latin1", 0, end).split("\r\n");
      const headers = new Headers();
      for (const line of lines) headers.append(line.slice(0, line.indexOf(":")).trim(), line.slice(line.indexOf(":") + 1).trim());
      const body = received.subarray(end + 4);
      const length = headers.get("content-length");
      if (length !== null && body.byteLength < Number(length)) return undefined;
      return { status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine!)?.[1]), headers, body: body.toString("utf8"), elapsedMs: performance.now() - started };
    }
    function finish(result: RawReply | Error) {
      clearTimeout(timer);
      socket.destroy();
      if (result instanceof Error) reject(result);
      else resolve(result);
    }
    socket.on("connect", () => socket.write(`${head.join("\r\n")}\r\n\r\n${bodyStart}`));
    socket.on("data", (data: Buffer) => {
      received = Buffer.concat([received, data]);
      const reply = parse();
      // A response without Content-Length ends when the server closes the connection.
      if (reply && reply.headers.has("content-length")) finish(reply);
    });
    socket.on("close", () => finish(parse() ?? new Error(`connection closed; got ${JSON.stringify(received.toString("latin1"))}`)));
    socket.on("error", (err) => finish(err));
  });
}

/** Resolves true when `socket` drains, false if it stays blocked for `ms` or closes. */
export function drained(socket: Socket, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (value: boolean) => {
      clearTimeout(timer);
      socket.off("drain", onDrain);
      socket.off("close", onClose);
      resolve(value);
    };
    const onDrain = () => done(true);
    const onClose = () => done(false);
    const timer = setTimeout(() => done(false), ms);
    socket.once("drain", onDrain);
    socket.once("close", onClose);
  });
}

/**
 * A client that does not stop when answered early: sends `head` and a body framed as `framing`
 * (chunked, or one declared Content-Length of `total`), writing 1 MiB at a time until `total`,
 * the connection closes, or the server stops reading (a write stays blocked for 1 s).
 * Returns how much the server let through and the status it answered.
 */
export async function pushBody(url: string, head: string[], prefix: string, total: number, framing: "chunked" | "content-length") {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  let received = "";
  let ended = false;
  socket.on("data", (data: Buffer) => (received += data.toString("latin1")));
  socket.on("close", () => (ended = true));
  socket.on("error", () => (ended = true));
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  const chunked = framing === "chunked";
  const frame = (bytes: Buffer) => (chunked ? Buffer.concat([Buffer.from(`${bytes.byteLength.toString(16)}\r\n`), bytes, Buffer.from("\r\n")]) : bytes);
  const lengthHeader = chunked ? "Transfer-Encoding: chunked" : `Content-Length: ${prefix.length + total}`;
  const chunk = frame(Buffer.alloc(MiB, 0x41));
  socket.write(`${[...head, lengthHeader].join("\r\n")}\r\n\r\n`);
  socket.write(frame(Buffer.from(prefix)));
  let written = 0;
  const deadline = performance.now() + 15_000;
  while (written < total && !ended && performance.now() < deadline) {
    written += MiB;
    if (!socket.write(chunk) && !(await drained(socket, 1000))) break;
  }
  socket.destroy();
  return { written, status: Number(/^HTTP\/1\.1 (\d{3})/.exec(received)?.[1]) };
}

/** Opens a connection, sends `sent`, reads whatever comes; resolves with it and the ms until the server closes it. */
export function closedAfter(url: string, sent: string, limitMs: number): Promise<{ ms: number; received: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let received = "";
    const socket = connect(Number(port), hostname, () => socket.write(sent));
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`still open after ${limitMs} ms (sent ${JSON.stringify(sent.slice(0, 20))})`));
    }, limitMs);
    socket.on("data", (data: Buffer) => (received += data.toString("latin1")));
    socket.on("error", () => {});
    socket.on("close", () => {
      clearTimeout(timer);
      resolve({ ms: performance.now() - started, received });
    });
  });
}

/** Sends one whole request and hangs up without reading: the client never sees the answer. */
export async function sendAndHangUp(url: string, request: string): Promise<void> {
  const { hostname, port } = new URL(url);
  const socket = await Bun.connect({ hostname, port: Number(port), socket: { data() {} } });
  socket.write(request);
  socket.end();
}
