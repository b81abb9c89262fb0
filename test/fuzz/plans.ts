// What the request fuzzer sends: for each route and method in the app's own table, a valid request
// (with placeholders for the live session), then mutations of its method, path, headers and body.
import { resolve, type RouteTable } from "../../src/app.ts";
import type { Rng } from "./seed.ts";

/** Placeholders filled at send time, so a plan depends only on the seed, not on the live session. */
export const SLOT = { token: "@@TOKEN@@", refresh: "@@REFRESH@@", newEmail: "@@NEW_EMAIL@@", email: "@@EMAIL@@", user: "@@USER@@" } as const;

export type Plan = {
  target: string; // "POST /register": the table entry this plan started from
  method: string;
  path: string;
  headers: Array<[string, string]>;
  body?: Uint8Array;
  tokenEdit?: (token: string) => string;
  notes: string[]; // the mutations applied, for the failure report
};

export type Images = Record<string, Uint8Array>;

const encoder = new TextEncoder();
const bytesOf = (text: string) => encoder.encode(text);
const cat = (...parts: Array<Uint8Array | string>) => new Uint8Array(Buffer.concat(parts.map((p) => (typeof p === "string" ? bytesOf(p) : p))));

const WEIRD_TEXT = ["", " ", "\u0000", "\u202e", "\u200b", "\ud800", "e\u0301", "H\u0331", "🙂", "\\", '"', "</script>", "' OR 1=1 --", "%00", "\r\n", "İ"];
const WRONG_TYPES: unknown[] = [null, 0, -1, 1e308, 3.5, true, false, [], {}, [1, "a"], { a: { b: [] } }, "", " ", "x".repeat(300)];
const OBJECT_KEYS = ["name", "email", "password", "bio", "current_password", "refresh_token", "username", "grant_type", "__proto__", "constructor", "toString", "", "a".repeat(200)];

/** A valid JSON body for each route we know; anything new in the table gets an empty object. */
function seedJson(path: string, method: string): Record<string, unknown> | undefined {
  const known: Record<string, Record<string, unknown>> = {
    "POST /register": { name: "Fuzz User", email: SLOT.newEmail, password: "password123" },
    "POST /login": { email: SLOT.email, password: "password123" },
    "POST /token/refresh": { refresh_token: SLOT.refresh },
    "POST /logout": { refresh_token: SLOT.refresh },
    "PUT /me": { name: "Renamed", bio: "hello\nworld" },
  };
  if (known[`${method} ${path}`]) return structuredClone(known[`${method} ${path}`]);
  return ["POST", "PUT", "PATCH"].includes(method) ? {} : undefined;
}

function multipart(boundary: string, parts: Array<{ headers: string; data: Uint8Array }>): Uint8Array {
  return cat(...parts.flatMap((p) => [`--${boundary}\r\n${p.headers}\r\n\r\n`, p.data, "\r\n"]), `--${boundary}--\r\n`);
}

/** One JSON-body mutation, applied to the parsed seed; returns raw text when it must go beyond JSON. */
function mutateJson(rng: Rng, value: Record<string, unknown>, notes: string[]): Record<string, unknown> | string {
  const key = rng.chance(0.7) && Object.keys(value).length > 0 ? rng.pick(Object.keys(value)) : rng.pick(OBJECT_KEYS);
  const depth = rng.pick([50, 1000, 20_000]);
  const mutations: Array<[string, () => Record<string, unknown> | string]> = [
    ["wrong type", () => ({ ...value, [key]: rng.pick(WRONG_TYPES) })],
    ["weird text", () => ({ ...value, [key]: rng.text(1 + rng.int(6), WEIRD_TEXT) })],
    ["huge string", () => ({ ...value, [key]: "x".repeat(rng.pick([1000, 60_000, 70_000, 300_000])) })],
    ["deep nesting", () => JSON.stringify(value).replace(/}$/, `${Object.keys(value).length ? "," : ""}"${key}":${"[".repeat(depth)}${"]".repeat(depth)}}`)],
    ["field dropped", () => Object.fromEntries(Object.entries(value).filter(([k]) => k !== key))],
    ["field added", () => ({ ...value, [rng.pick(OBJECT_KEYS)]: rng.pick(WRONG_TYPES) })],
    ["proto key", () => `{"__proto__":{"admin":true},${JSON.stringify(value).slice(1)}`],
    ["duplicate key", () => `{"${key}":{},${JSON.stringify(value).slice(1)}`],
    ["not an object", () => rng.pick(["[]", '"str"', "1", "null", "true", "[{}]", ""])],
  ];
  const [name, apply] = rng.pick(mutations);
  notes.push(`json: ${name} (${key})`);
  return apply();
}

/** Byte-level damage to any body: truncation, invalid UTF-8, flipped bits, junk spliced in. */
function mutateBytes(rng: Rng, body: Uint8Array, notes: string[]): Uint8Array {
  const at = rng.int(body.length + 1);
  const mutations: Array<[string, () => Uint8Array]> = [
    ["truncate", () => body.slice(0, at)],
    ["invalid utf-8", () => cat(body.subarray(0, at), rng.pick([new Uint8Array([0xff]), new Uint8Array([0xc0, 0x80]), new Uint8Array([0xed, 0xa0, 0x80]), new Uint8Array([0x80])]), body.subarray(at))],
    ["bit flips", () => { const c = body.slice(); for (let i = 0; i < 1 + rng.int(8) && c.length; i++) c[rng.int(c.length)]! ^= 1 << rng.int(8); return c; }],
    ["junk", () => cat(body.subarray(0, at), rng.bytes(1 + rng.int(64)), body.subarray(at))],
    ["bom", () => cat(new Uint8Array([0xef, 0xbb, 0xbf]), body)],
    ["empty", () => new Uint8Array(0)],
  ];
  const [name, apply] = rng.pick(mutations);
  notes.push(`bytes: ${name} @${at}`);
  return apply();
}

/** An upload body: a real image (or a hostile one), possibly damaged, in a possibly broken envelope. */
function uploadBody(rng: Rng, images: Images, notes: string[]): { body: Uint8Array; contentType: string } {
  const kind = rng.pick(Object.keys(images));
  let image = images[kind]!;
  if (rng.chance(0.5)) {
    image = image.slice();
    const flips = 1 + rng.int(12);
    for (let i = 0; i < flips; i++) image[rng.int(image.length)] = rng.int(256);
    notes.push(`image ${kind}: ${flips} bytes replaced`);
  } else notes.push(`image ${kind}`);
  // Most envelopes are sound, so most requests reach the image decoder; the rest are broken on purpose.
  const broken = rng.chance(0.3);
  const boundary = broken ? rng.pick(["a", "b".repeat(70), "with space", "é", "--", "x\"y"]) : "fuzzboundary";
  const field = !broken || rng.chance(0.5) ? "image" : rng.pick(["avatar", "IMAGE", "", 'image"x']);
  const disposition = `Content-Disposition: form-data; name="${field}"; filename="x.png"\r\nContent-Type: image/png`;
  const partHeaders = !broken ? disposition : rng.pick([
    disposition,
    `Content-Disposition: form-data; name=${field}`,
    `content-disposition: attachment; name="${field}"`,
    "Content-Type: image/png",
    `${disposition}\r\nX-Filler: ${"a".repeat(9000)}`,
  ]);
  const parts = [{ headers: partHeaders, data: image }];
  const extra = broken ? rng.pick([0, 1, 40]) : 0;
  for (let i = 0; i < extra; i++) parts.unshift({ headers: `Content-Disposition: form-data; name="f${i}"`, data: bytesOf("v") });
  if (broken) notes.push(`envelope: boundary ${JSON.stringify(boundary)}, field ${JSON.stringify(field)}, ${extra} extra parts`);
  const quoted = /[^A-Za-z0-9'+_.-]/.test(boundary) || rng.chance(0.2);
  const headerBoundary = !broken || rng.chance(0.7) ? boundary : rng.pick(["other", "", boundary.slice(1), `${boundary}x`]);
  const contentType = broken && rng.chance(0.1) ? "multipart/form-data" : `multipart/form-data; boundary=${quoted ? `"${headerBoundary}"` : headerBoundary}`;
  return { body: multipart(boundary, parts), contentType };
}

const CONTENT_TYPES = ["", "text/plain", "application/json; charset=utf-16", "APPLICATION/JSON", "application/json, text/plain", "application/x-www-form-urlencoded", "multipart/form-data", "multipart/form-data; boundary=", "application/problem+json", "*/*", ";", "application/json;;;=", "\u00ff\u00fe"];
const PARAMS = ["0.jpg", "-1.jpg", "99999999999999999999.jpg", "1.JPG", "1.jpg%00", "..%2f..%2fetc%2fpasswd", "%2e%2e", "%", "%zz", "%c0%af", "%C3%A9.jpg", "1.jpg;x", "x".repeat(5000), "1.jpg?x=1", "%F0%9F%99%82"];
// fetch sends only methods it knows (it turns others into GET); raw-http.ts covers unknown ones.
const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PROPFIND", "get"];

/** Authorization header variants; the live token is edited at send time by a function drawn now. */
function authorization(rng: Rng, plan: Plan): void {
  const at = rng.int(1000);
  const char = rng.pick([..."Aa0-_.=+/ ", "é"]);
  const variants: Array<[string, string | undefined, ((t: string) => string)?]> = [
    ["none", undefined],
    ["bare word", "Bearer"],
    ["lower-case scheme", `bearer ${SLOT.token}`],
    ["tab", `Bearer\t${SLOT.token}`],
    ["two tokens", `Bearer ${SLOT.token} ${SLOT.token}`],
    ["basic", "Basic dXNlcjpwYXNzd29yZA=="],
    ["char replaced", `Bearer ${SLOT.token}`, (t) => t.slice(0, at % t.length) + char + t.slice((at % t.length) + 1)],
    ["truncated", `Bearer ${SLOT.token}`, (t) => t.slice(0, at % t.length)],
    ["alg none", `Bearer ${SLOT.token}`, (t) => `${Buffer.from('{"alg":"none"}').toString("base64url")}.${t.split(".")[1]}.`],
    ["huge", `Bearer ${"A".repeat(rng.pick([1000, 8000, 9000, 20_000]))}`],
    ["dots", `Bearer ${rng.pick(["..", "a.b.c", "a.b.c.d", "....."])}`],
  ];
  const [name, value, edit] = rng.pick(variants);
  plan.headers = plan.headers.filter(([k]) => k.toLowerCase() !== "authorization");
  if (value !== undefined) plan.headers.push(["Authorization", value]);
  plan.tokenEdit = edit;
  plan.notes.push(`auth: ${name}`);
}

/** The (route, method) pairs in the table; uploads count four times, having the most to parse. */
export function targets(routes: RouteTable): Array<{ path: string; method: string }> {
  const all = Object.entries(routes).flatMap(([path, value]) => Object.keys(resolve(routes, value)).map((method) => ({ path, method })));
  return all.flatMap((t) => (t.path.endsWith("upload-image") ? [t, t, t, t] : [t]));
}

export function plan(rng: Rng, target: { path: string; method: string }, images: Images): Plan {
  const { path: pattern, method } = target;
  const p: Plan = { target: `${method} ${pattern}`, method, path: pattern, headers: [["Authorization", `Bearer ${SLOT.token}`]], notes: [] };
  const json = seedJson(pattern, method);
  if (pattern.endsWith("upload-image")) {
    const upload = uploadBody(rng, images, p.notes);
    p.body = upload.body;
    p.headers.push(["Content-Type", upload.contentType]);
  } else if (json) {
    const value = rng.chance(0.8) ? mutateJson(rng, json, p.notes) : json;
    p.body = bytesOf(typeof value === "string" ? value : JSON.stringify(value));
    p.headers.push(["Content-Type", "application/json"]);
  }
  p.path = pattern.replace(/:[a-z]+/g, () => (rng.chance(0.3) ? `${SLOT.user}.jpg` : rng.pick(PARAMS)));
  if (p.body && rng.chance(0.25)) p.body = mutateBytes(rng, p.body, p.notes);
  if (rng.chance(0.15)) {
    const type = rng.pick(CONTENT_TYPES);
    p.headers = p.headers.filter(([k]) => k !== "Content-Type");
    if (type) p.headers.push(["Content-Type", type]);
    p.notes.push(`content-type: ${JSON.stringify(type)}`);
  }
  if (rng.chance(0.1)) {
    p.method = rng.pick(METHODS);
    p.notes.push(`method: ${p.method}`);
  }
  if (rng.chance(0.3)) authorization(rng, p);
  if (rng.chance(0.15)) {
    const [name, value] = rng.pick<[string, string]>([
      ["X-Request-Id", rng.pick(["", "x".repeat(500), "a b", "\u00e9\u00ff", "../../etc"])],
      ["Origin", rng.pick(["null", "http://evil.test", "http://allowed.test", "x".repeat(2000)])],
      ["If-None-Match", rng.pick(["*", '"x"', 'W/"', ",,,", "x".repeat(3000)])],
      ["X-Forwarded-For", rng.pick(["1.2.3.4, junk", ",,,", "::1", "x".repeat(3000), "1.2.3.4"])],
      ["Accept-Encoding", rng.pick(["gzip", "br, zstd", "identity;q=0", "x"])],
      ["Range", "bytes=0-1"],
      ["Access-Control-Request-Method", "DELETE"],
    ]);
    p.headers.push([name, value]);
    p.notes.push(`header: ${name}`);
  }
  if (rng.chance(0.05)) {
    p.path += rng.pick(["/", "//", "?a=1&a=2", "?%zz", "/x", "#frag", "?" + "q".repeat(8000)]);
    p.notes.push("path suffix");
  }
  return p;
}
