// Reads request bodies under a byte limit, counting while reading, so a huge or endless body is
// refused after at most `limit` bytes instead of being buffered. Content types are checked first.
import { HttpError, validationFailed } from "./problem.ts";

export const JSON_LIMIT_BYTES = 64 * 1024;

export type JsonObject = Record<string, unknown>;

/** The media type without parameters, lower-cased; "" when absent. */
export function mediaType(req: Request): string {
  const header = req.headers.get("content-type") ?? "";
  return header.split(";", 1)[0]!.trim().toLowerCase();
}

function tooLarge(limit: number): HttpError {
  return new HttpError("payload_too_large", `Request body exceeds the limit of ${limit} bytes.`);
}

/**
 * Reads the whole body, refusing (without reading further) as soon as it passes `limit`. With a
 * Content-Length the bytes go straight into one buffer of that size, so a 5 MiB upload costs 5 MiB.
 */
export async function readLimited(req: Request, limit: number): Promise<Uint8Array> {
  const declaredHeader = req.headers.get("content-length");
  const declared = declaredHeader === null ? undefined : Number(declaredHeader);
  if (declared !== undefined && declared > limit) throw tooLarge(limit);
  if (req.body === null) return new Uint8Array(0);
  const reader = req.body.getReader();
  const preallocated = declared !== undefined && Number.isSafeInteger(declared) ? new Uint8Array(declared) : undefined;
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (total + value.byteLength > limit) throw tooLarge(limit);
      if (preallocated && total + value.byteLength <= preallocated.length) preallocated.set(value, total);
      else chunks.push(value);
      total += value.byteLength;
    }
  } catch (err) {
    // Refused for its size: leave the rest to the pipeline, which reads and drops it after answering
    // (discardBody) so the client, still sending, gets to read the 413 instead of a reset.
    if (err instanceof HttpError) {
      reader.releaseLock();
      throw err;
    }
    reader.cancel().catch(() => {});
    throw new HttpError("bad_request", "The request body could not be read.", { cause: err });
  }
  reader.releaseLock();
  if (preallocated && chunks.length === 0) return preallocated.subarray(0, total);
  if (preallocated) throw new HttpError("bad_request", "The request body is longer than its Content-Length.");
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
}

/**
 * Reads and drops what is left of a request body, at most `cap` bytes. True when the body ended
 * within the cap (nothing unread remains, so closing the connection cannot reset it), false when it
 * went past the cap, failed, or was already taken by a reader we cannot see the end of.
 */
export async function discardBody(req: Request, cap: number): Promise<boolean> {
  if (req.body === null) return true;
  if (req.body.locked) return false;
  const reader = req.body.getReader();
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return true;
      total += value.byteLength;
      if (total > cap) {
        reader.cancel().catch(() => {});
        return false;
      }
    }
  } catch {
    return false;
  }
}

function unsupported(expected: string): HttpError {
  return new HttpError("unsupported_media_type", `Content-Type must be ${expected}.`);
}

function parseJsonObject(bytes: Uint8Array): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    throw new HttpError("bad_request", "The request body is not valid JSON.");
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw validationFailed([{ field: "body", message: "must be a JSON object" }]);
  }
  return value as JsonObject;
}

export async function readJson(req: Request): Promise<JsonObject> {
  if (mediaType(req) !== "application/json") throw unsupported("application/json");
  return parseJsonObject(await readLimited(req, JSON_LIMIT_BYTES));
}

/** JSON, or the OAuth2 password form (`application/x-www-form-urlencoded`) that older clients send. */
export async function readJsonOrForm(req: Request): Promise<JsonObject> {
  const type = mediaType(req);
  if (type === "application/json") return readJson(req);
  if (type !== "application/x-www-form-urlencoded") {
    throw unsupported("application/json or application/x-www-form-urlencoded");
  }
  const text = new TextDecoder().decode(await readLimited(req, JSON_LIMIT_BYTES));
  return Object.fromEntries(new URLSearchParams(text));
}

export type FilePart = { filename: string | undefined; contentType: string | undefined; data: Uint8Array };

/**
 * Reads a multipart/form-data body (at most `limit` bytes) and returns the first of the named
 * fields that is present (clients name the file differently).
 * Parsing slices the one buffer we read, so a 5 MiB upload costs 5 MiB, not three copies of it.
 */
export async function readMultipartFile(req: Request, fields: readonly string[], limit: number): Promise<FilePart | undefined> {
  if (mediaType(req) !== "multipart/form-data") throw unsupported("multipart/form-data");
  const boundary = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;"]{1,70}))/i.exec(req.headers.get("content-type") ?? "");
  if (!boundary) throw new HttpError("bad_request", "multipart/form-data needs a boundary parameter.");
  const body = await readLimited(req, limit);
  const parts = parseMultipart(body, boundary[1] ?? boundary[2]!);
  for (const field of fields) {
    const part = parts.find((p) => p.name === field);
    if (part) return part;
  }
  return undefined;
}

type Part = FilePart & { name: string | undefined };

const malformed = () => new HttpError("bad_request", "The multipart body is malformed.");

export function parseMultipart(bytes: Uint8Array, boundary: string): Part[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: Part[] = [];
  let at = buf.indexOf(delimiter);
  if (at !== 0 && (at < 2 || buf[at - 1] !== 0x0a)) throw malformed();
  for (;;) {
    at += delimiter.length;
    if (buf[at] === 0x2d && buf[at + 1] === 0x2d) return parts; // closing "--boundary--"
    at = skipLinearWhitespace(buf, at);
    if (buf[at] !== 0x0d || buf[at + 1] !== 0x0a) throw malformed();
    const headerEnd = buf.indexOf("\r\n\r\n", at);
    if (headerEnd < 0 || headerEnd - at > 8192) throw malformed();
    const headers = parseHeaders(buf.toString("utf8", at + 2, headerEnd));
    const next = buf.indexOf(Buffer.concat([Buffer.from("\r\n"), delimiter]), headerEnd + 4);
    if (next < 0) throw malformed();
    const disposition = headers.get("content-disposition") ?? "";
    if (!/^form-data\b/i.test(disposition)) throw malformed();
    parts.push({
      name: dispositionParam(disposition, "name"),
      filename: dispositionParam(disposition, "filename"),
      contentType: headers.get("content-type"),
      data: bytes.subarray(headerEnd + 4, next),
    });
    if (parts.length > 32) throw new HttpError("bad_request", "Too many multipart fields.");
    at = next + 2;
  }
}

function skipLinearWhitespace(buf: Buffer, at: number): number {
  while (buf[at] === 0x20 || buf[at] === 0x09) at++;
  return at;
}

function parseHeaders(block: string): Map<string, string> {
  const headers = new Map<string, string>();
  for (const line of block.split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon <= 0) throw malformed();
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return headers;
}

// Read left to right, a quoted string at a time, so a name of "x; filename=y" is never a filename.
const DISPOSITION_PARAM = /;\s*([^\s=;"]+)=(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))|"(?:[^"\\]|\\.)*"?/g;

function dispositionParam(disposition: string, key: string): string | undefined {
  for (const [, name, quoted, token] of disposition.matchAll(DISPOSITION_PARAM)) {
    if (name?.toLowerCase() !== key) continue;
    return quoted !== undefined ? quoted.replace(/\\(.)/g, "$1") : token;
  }
  return undefined;
}
