// The HTTP conventions every route shares: routing errors, the headers on every response, CORS,
// content types, body limits, field validation and what an internal error may (not) say.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { ProblemCode } from "../../src/core.ts";
import { expectProblem, startServer, uniqueEmail, type Reply, type TestServer } from "../helpers/server.ts";
import { closedAfter, pushBody, rawRequest } from "../helpers/sockets.ts";
import { TEST_DB } from "../helpers/database.ts";

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const SANE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Names listed in a comma-separated header (Allow, Access-Control-Allow-*), upper-cased. */
const listed = (header: string | null) => new Set((header ?? "").split(",").map((s) => s.trim().toUpperCase()).filter(Boolean));

function expectConventionHeaders(headers: Headers) {
  expect(headers.get("x-content-type-options")).toBe("nosniff");
  expect(headers.get("x-request-id")).toMatch(SANE_ID);
}

/** Encodes a FormData body the way fetch would, and returns it with its Content-Type. */
async function multipart(form: FormData): Promise<{ body: Uint8Array; contentType: string }> {
  const response = new Response(form);
  // Read the header first: Bun drops the generated multipart Content-Type once the body is consumed.
  const contentType = response.headers.get("content-type")!;
  return { body: new Uint8Array(await response.arrayBuffer()), contentType };
}

/**
 * A request body that is produced lazily, chunk by chunk, only as fast as the connection pulls it,
 * never holding more than one chunk. `enqueued()` says how much the server made us produce.
 */
function lazyBody(total: number, prefix: Uint8Array = new Uint8Array(0), chunkSize = 64 * KiB) {
  const chunk = new Uint8Array(chunkSize).fill(0x41);
  let enqueued = 0;
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (enqueued === 0 && prefix.byteLength > 0) {
          enqueued += prefix.byteLength;
          controller.enqueue(prefix);
          return;
        }
        if (enqueued >= total) {
          controller.close();
          return;
        }
        const next = Math.min(chunkSize, total - enqueued);
        enqueued += next;
        controller.enqueue(next === chunkSize ? chunk : chunk.subarray(0, next));
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, enqueued: () => enqueued };
}

/** How long this machine takes to stream `bytes` through fetch to a server that just drains it. */
async function timeToStream(bytes: number): Promise<number> {
  using sink = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    maxRequestBodySize: bytes * 2,
    async fetch(req) {
      let n = 0;
      for await (const chunk of req.body!) n += chunk.byteLength;
      return new Response(String(n));
    },
  });
  const started = performance.now();
  const res = await fetch(`http://127.0.0.1:${sink.port}/`, { method: "POST", body: lazyBody(bytes).stream, duplex: "half", signal: AbortSignal.timeout(30_000) });
  expect(await res.text()).toBe(String(bytes));
  return performance.now() - started;
}

let server: TestServer;
let user: Awaited<ReturnType<TestServer["client"]["signUp"]>>;

beforeAll(async () => {
  server = await startServer();
  user = await server.client.signUp();
});

afterAll(async () => {
  await server[Symbol.asyncDispose]();
});

describe("routing", () => {
  test.each([
    ["GET", "/no/such/route"],
    ["POST", "/nope"],
    ["GET", "/me/nope"],
    ["DELETE", "/register/extra"],
    ["GET", "/static/elsewhere/1.jpg"],
  ])("%s %s → 404 not_found", async (method, path) => {
    expectProblem(await server.client.send(method, path), 404, "not_found");
  });

  test.each([
    ["PATCH", "/me", ["GET", "PUT", "DELETE"]],
    ["GET", "/login", ["POST"]],
    ["PUT", "/register", ["POST"]],
    ["DELETE", "/healthz", ["GET", "HEAD"]],
    ["PUT", "/me/upload-image", ["POST"]],
    ["POST", "/me/image", ["DELETE"]],
  ])("%s %s → 405 with Allow listing %p", async (method, path, methods) => {
    const reply = await server.client.send(method, path);
    expectProblem(reply, 405, "method_not_allowed");
    const allow = listed(reply.headers.get("allow"));
    for (const m of methods) expect(allow).toContain(m);
    expect(allow).not.toContain(method);
  });

  test("HEAD /healthz → 200 with the GET headers and no body", async () => {
    const res = await fetch(`${server.url}/healthz`, { method: "HEAD" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("application/json");
    expect(await res.text()).toBe("");
  });
});

describe("headers on every response", () => {
  const kinds: Array<[kind: string, status: number, method: string, path: string, init: () => Parameters<TestServer["client"]["send"]>[2]]> = [
    ["success", 200, "GET", "/healthz", () => ({})],
    ["authenticated success", 200, "GET", "/me", () => ({ token: user.token })],
    ["HEAD", 200, "HEAD", "/healthz", () => ({})],
    ["preflight", 204, "OPTIONS", "/me", () => ({})],
    ["400 from a handler", 400, "POST", "/register", () => ({ body: "{", headers: { "Content-Type": "application/json" } })],
    ["401", 401, "GET", "/me", () => ({})],
    ["404 fallback", 404, "GET", "/no/such/route", () => ({})],
    ["405", 405, "PATCH", "/me", () => ({})],
    ["413", 413, "POST", "/register", () => ({ body: "x".repeat(65 * KiB), headers: { "Content-Type": "application/json" } })],
  ];

  test.each(kinds)("%s (%d): nosniff, a generated X-Request-Id, and a sane client id echoed", async (_, status, method, path, init) => {
    const plain = await server.client.send(method, path, init());
    expect(plain.status).toBe(status);
    expectConventionHeaders(plain.headers);

    const given = init();
    const echoed = await server.client.send(method, path, { ...given, headers: { ...given?.headers, "X-Request-Id": "abc-123" } });
    expect(echoed.status).toBe(status);
    expectConventionHeaders(echoed.headers);
    expect(echoed.headers.get("x-request-id")).toBe("abc-123");
  });

  test.each([["abc-123"], ["A.b_c:9"], ["0123456789abcdef0123456789abcdef"], ["x".repeat(128)]])("sane client id %p is echoed", async (id) => {
    const reply = await server.client.send("GET", "/healthz", { headers: { "X-Request-Id": id } });
    expect(reply.headers.get("x-request-id")).toBe(id);
  });

  test.each([
    ["with a space", "a b"],
    ["with a tab", "a\tb"],
    ["with a slash", "abc/123"],
    ["markup", "<script>"],
    ["129 characters", "x".repeat(129)],
    ["200 characters", "y".repeat(200)],
  ])("insane client id (%s) is replaced by a generated one", async (_, id) => {
    for (const path of ["/healthz", "/no/such/route"]) {
      const first = await server.client.send("GET", path, { headers: { "X-Request-Id": id } });
      const second = await server.client.send("GET", path, { headers: { "X-Request-Id": id } });
      for (const reply of [first, second]) {
        expect(reply.headers.get("x-request-id")).not.toBe(id);
        expectConventionHeaders(reply.headers);
      }
      // Generated per request, not one fixed placeholder.
      expect(first.headers.get("x-request-id")).not.toBe(second.headers.get("x-request-id"));
    }
  });

  test("a generated id is the one the access log records", async () => {
    const reply = await server.client.send("GET", "/healthz", { headers: { "X-Request-Id": "a b" } });
    const id = reply.headers.get("x-request-id")!;
    expect(server.logs.some((line) => JSON.parse(line).request_id === id)).toBe(true);
  });

  test.each<[string, number, () => Promise<Reply>]>([
    ["POST /register (201)", 201, () => server.client.register()],
    ["POST /register refused (422)", 422, () => server.client.register({ email: "not-an-email" })],
    ["POST /login (200)", 200, () => server.client.login(user.email, user.password)],
    ["POST /login refused (401)", 401, () => server.client.login(user.email, "wrong-password")],
    [
      "POST /token/refresh (200)",
      200,
      async () => {
        const fresh = await server.client.signUp();
        return server.client.send("POST", "/token/refresh", { json: { refresh_token: fresh.refresh } });
      },
    ],
    ["POST /token/refresh refused (401)", 401, () => server.client.send("POST", "/token/refresh", { json: { refresh_token: "nope" } })],
  ])("%s carries Cache-Control: no-store", async (_, status, send) => {
    const reply = await send();
    expect(reply.status).toBe(status);
    expect(reply.headers.get("cache-control")).toBe("no-store");
  });
});

describe("CORS with CORS_ORIGINS=https://app.example", () => {
  const ALLOWED = "https://app.example";
  let cors: TestServer;
  beforeAll(async () => {
    cors = await startServer({ CORS_ORIGINS: ALLOWED });
  });
  afterAll(async () => {
    await cors[Symbol.asyncDispose]();
  });

  const preflight = (origin: string) =>
    cors.client.send("OPTIONS", "/me", {
      headers: { Origin: origin, "Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "authorization, content-type" },
    });

  test("preflight from the allowed origin → 204 allowing the origin, PUT and Authorization", async () => {
    const reply = await preflight(ALLOWED);
    expect(reply.status).toBe(204);
    expect(reply.headers.get("access-control-allow-origin")).toBe(ALLOWED);
    expect(listed(reply.headers.get("access-control-allow-methods"))).toContain("PUT");
    expect(listed(reply.headers.get("access-control-allow-headers"))).toContain("AUTHORIZATION");
    expect(listed(reply.headers.get("access-control-allow-headers"))).toContain("CONTENT-TYPE");
    expect(listed(reply.headers.get("vary"))).toContain("ORIGIN");
    expectConventionHeaders(reply.headers);
  });

  test.each<[string, number, (s: TestServer) => Promise<Reply>]>([
    ["GET /healthz", 200, (s) => s.client.send("GET", "/healthz", { headers: { Origin: ALLOWED } })],
    ["GET /me without a token", 401, (s) => s.client.send("GET", "/me", { headers: { Origin: ALLOWED } })],
    ["GET of an unknown route", 404, (s) => s.client.send("GET", "/no/such/route", { headers: { Origin: ALLOWED } })],
  ])("%s from the allowed origin (%d) carries Access-Control-Allow-Origin", async (_, status, send) => {
    const reply = await send(cors);
    expect(reply.status).toBe(status);
    expect(reply.headers.get("access-control-allow-origin")).toBe(ALLOWED);
  });

  test.each([["https://evil.example"], ["http://app.example"], ["https://app.example.evil"], ["null"]])("origin %p gets no Access-Control-Allow-Origin", async (origin) => {
    const pre = await preflight(origin);
    expect(pre.headers.get("access-control-allow-origin")).toBeNull();
    expect(pre.headers.get("access-control-allow-methods")).toBeNull();
    const get = await cors.client.send("GET", "/healthz", { headers: { Origin: origin } });
    expect(get.status).toBe(200);
    expect(get.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("CORS when CORS_ORIGINS is not set", () => {
  test.each<[string, () => Promise<Reply>]>([
    [
      "preflight OPTIONS /me",
      () => server.client.send("OPTIONS", "/me", { headers: { Origin: "https://app.example", "Access-Control-Request-Method": "PUT" } }),
    ],
    ["GET /healthz", () => server.client.send("GET", "/healthz", { headers: { Origin: "https://app.example" } })],
    ["GET /me", () => server.client.send("GET", "/me", { token: user.token, headers: { Origin: "https://app.example" } })],
  ])("%s carries no CORS headers at all", async (_, send) => {
    const reply = await send();
    expect(reply.status).toBeLessThan(300);
    expect([...reply.headers.keys()].filter((name) => name.startsWith("access-control-"))).toEqual([]);
  });
});

describe("content types", () => {
  const valid = () => JSON.stringify({ name: "Typed", email: uniqueEmail("ct"), password: "password123" });

  test.each<[string, number, ProblemCode, () => Promise<Reply>]>([
    ["/register as text/plain", 415, "unsupported_media_type", () => server.client.send("POST", "/register", { body: valid(), headers: { "Content-Type": "text/plain" } })],
    ["/register with no Content-Type", 415, "unsupported_media_type", () => server.client.send("POST", "/register", { body: new TextEncoder().encode(valid()) })],
    ["/register as form data", 415, "unsupported_media_type", () => server.client.send("POST", "/register", { body: new URLSearchParams({ name: "x" }) })],
    ["/register with invalid JSON", 400, "bad_request", () => server.client.send("POST", "/register", { body: '{"name": ', headers: { "Content-Type": "application/json" } })],
    ["/register with invalid UTF-8", 400, "bad_request", () => server.client.send("POST", "/register", { body: new Uint8Array([0x22, 0xff, 0x22]), headers: { "Content-Type": "application/json" } })],
    ["/register with a JSON array", 422, "validation_failed", () => server.client.send("POST", "/register", { json: [{ name: "x" }] })],
    ["/register with a JSON string", 422, "validation_failed", () => server.client.send("POST", "/register", { json: "name" })],
    ["/register with JSON null", 422, "validation_failed", () => server.client.send("POST", "/register", { body: "null", headers: { "Content-Type": "application/json" } })],
    ["/me/upload-image with a JSON body", 415, "unsupported_media_type", () => server.client.send("POST", "/me/upload-image", { token: user.token, json: { image: "x" } })],
  ])("%s → %d %s", async (_, status, code, send) => {
    expectProblem(await send(), status, code);
  });

  test("/register accepts application/json with a charset parameter", async () => {
    const reply = await server.client.send("POST", "/register", { body: valid(), headers: { "Content-Type": "application/json; charset=utf-8" } });
    expect(reply.status).toBe(201);
  });

  test("/login accepts the OAuth2 password form (username + password) → 200 with tokens", async () => {
    const reply = await server.client.send("POST", "/login", {
      body: new URLSearchParams({ grant_type: "password", username: user.email, password: user.password }),
    });
    expect(reply.raw.headers.get("content-type")).toContain("application/json");
    expect(reply.status).toBe(200);
    expect(reply.body.token_type).toBe("bearer");
    expect(typeof reply.body.access_token).toBe("string");
    const me = await server.client.send("GET", "/me", { token: reply.body.access_token });
    expect(me.body.email).toBe(user.email);
  });

  test("/login with the form and a wrong password → 401, like JSON", async () => {
    const reply = await server.client.send("POST", "/login", { body: new URLSearchParams({ username: user.email, password: "wrong-password" }) });
    expectProblem(reply, 401, "invalid_credentials");
  });
});

describe("body limits", () => {
  const jsonOf = (bytes: number) => `{"name":"${"n".repeat(bytes - 11)}"}`;

  test("a JSON body of exactly 64 KiB is read (and judged on its fields), one byte more → 413", async () => {
    expect(jsonOf(64 * KiB)).toHaveLength(64 * KiB);
    const atLimit = await server.client.send("POST", "/register", { body: jsonOf(64 * KiB), headers: { "Content-Type": "application/json" } });
    expectProblem(atLimit, 422, "validation_failed");
    const over = await server.client.send("POST", "/register", { body: jsonOf(64 * KiB + 1), headers: { "Content-Type": "application/json" } });
    expectProblem(over, 413, "payload_too_large");
  });

  test("a JSON body over 64 KiB with Content-Length → 413 problem+json", async () => {
    const reply = await server.client.send("POST", "/register", { body: jsonOf(100 * KiB), headers: { "Content-Type": "application/json" } });
    expectProblem(reply, 413, "payload_too_large");
    expectConventionHeaders(reply.headers);
  });

  test("a JSON body over 64 KiB streamed without Content-Length → 413 problem+json", async () => {
    const body = lazyBody(200 * KiB, new TextEncoder().encode('{"name":"'), 16 * KiB);
    const res = await fetch(`${server.url}/register`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: body.stream,
      duplex: "half",
      signal: AbortSignal.timeout(10_000),
    });
    const reply: Reply = { status: res.status, headers: res.headers, body: await res.json(), raw: res };
    expectProblem(reply, 413, "payload_too_large");
  });

  test("a small JSON body streamed without Content-Length is read normally → 201", async () => {
    const json = new TextEncoder().encode(JSON.stringify({ name: "Streamed", email: uniqueEmail("stream"), password: "password123" }));
    const res = await fetch(`${server.url}/register`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: new ReadableStream({
        start(controller) {
          controller.enqueue(json.subarray(0, 10));
          controller.enqueue(json.subarray(10));
          controller.close();
        },
      }),
      duplex: "half",
      signal: AbortSignal.timeout(10_000),
    });
    expect(res.status).toBe(201);
  });

  const uploadHead = (declared: number, requestId = "limit-1") => [
    "POST /me/upload-image HTTP/1.1",
    "Host: test",
    `Authorization: Bearer ${user.token}`,
    "Content-Type: multipart/form-data; boundary=XyZ",
    `Content-Length: ${declared}`,
    `X-Request-Id: ${requestId}`,
  ];
  const partHead = '--XyZ\r\nContent-Disposition: form-data; name="image"; filename="big.jpg"\r\nContent-Type: image/jpeg\r\n\r\n';
  const declaredSizes: Array<[string, number]> = [
    ["6 MiB", 6 * MiB],
    ["100 MiB", 100 * MiB],
    ["1 GiB", GiB],
  ];

  test.each(declaredSizes)("an upload declaring Content-Length %s is refused with 413 at once, before its body is sent", async (_, declared) => {
    const reply = await rawRequest(server.url, uploadHead(declared), partHead);
    expect(reply.status).toBe(413);
    // Only the head and the part header were sent: a refusal that waited for the body would time out.
    expect(reply.elapsedMs).toBeLessThan(1000);
  });

  test.each(declaredSizes)("the 413 for a declared %s upload is problem+json with nosniff and the X-Request-Id", async (_, declared) => {
    const reply = await rawRequest(server.url, uploadHead(declared, "declared-big"), partHead);
    expect(reply.status).toBe(413);
    expect(reply.headers.get("content-type")).toStartWith("application/problem+json");
    expect(JSON.parse(reply.body).status).toBe(413);
    expect(reply.headers.get("x-content-type-options")).toBe("nosniff");
    expect(reply.headers.get("x-request-id")).toBe("declared-big");
  });

  test("a streamed 1 GiB upload is refused with 413 long before 1 GiB is sent", async () => {
    // The yardstick: how long this machine needs to push 64 MiB (×16 = 1 GiB) to a server that reads it all.
    const oneGiBMs = (await timeToStream(64 * MiB)) * 16;

    const body = lazyBody(GiB, new TextEncoder().encode(partHead));
    const started = performance.now();
    let res: Response;
    try {
      res = await fetch(`${server.url}/me/upload-image`, {
        method: "POST",
        headers: { Authorization: `Bearer ${user.token}`, "Content-Type": "multipart/form-data; boundary=XyZ" },
        body: body.stream,
        duplex: "half",
        signal: AbortSignal.timeout(20_000),
      });
    } catch (err) {
      throw new Error(
        `fetch failed instead of answering 413 after ${Math.round(performance.now() - started)} ms and ${body.enqueued()} bytes produced: ${String(err)}`,
      );
    }
    const elapsed = performance.now() - started;
    const reply: Reply = { status: res.status, headers: res.headers, body: await res.json(), raw: res };

    expectProblem(reply, 413, "payload_too_large");
    expect(elapsed).toBeLessThan(oneGiBMs / 4);
    // The upload limit is 5 MiB (+16 KiB of multipart room); a server that read on would pull far more.
    expect(body.enqueued()).toBeLessThan(32 * MiB);
    // And the connection it abandoned does not poison the next requests.
    for (let i = 0; i < 3; i++) expect((await server.client.send("GET", "/me", { token: user.token })).status).toBe(200);
  });

  test.each([["chunked"], ["content-length"]] as const)(
    "a client that keeps sending 1 GiB (%s) after the 413 is cut off, not read to the end",
    async (framing) => {
      const head = ["POST /me/upload-image HTTP/1.1", "Host: test", `Authorization: Bearer ${user.token}`, "Content-Type: multipart/form-data; boundary=XyZ"];
      const { written, status } = await pushBody(server.url, head, partHead, GiB, framing);
      // Closing a socket with unread input makes the kernel send a reset, which may discard the 413
      // before this client reads it (TCP, not the service): a 413 or nothing, but never another answer.
      // (NaN: no answer; toContain compares with ===, which NaN never passes, hence the explicit test.)
      expect(status === 413 || Number.isNaN(status)).toBe(true);
      // fetch stops sending once answered; this client does not, so only the server can stop it.
      expect(written).toBeLessThan(64 * MiB);
    },
  );
});

describe("multipart", () => {
  const upload = (body: NonNullable<RequestInit["body"]>, contentType: string) =>
    server.client.send("POST", "/me/upload-image", { token: user.token, body, headers: { "Content-Type": contentType } });
  const imageForm = () => {
    const form = new FormData();
    form.append("image", new Blob([new Uint8Array([0xff, 0xd8, 0xff, 0xd9])], { type: "image/jpeg" }), "a.jpg");
    return form;
  };

  test.each<[string, () => Promise<Reply>]>([
    ["a body that does not match the boundary", async () => upload((await multipart(imageForm())).body, "multipart/form-data; boundary=not-the-one")],
    ["no boundary parameter", async () => upload((await multipart(imageForm())).body, "multipart/form-data")],
    ["a body that is not multipart at all", () => upload("hello", "multipart/form-data; boundary=abc")],
    ["a missing closing delimiter", () => upload('--abc\r\nContent-Disposition: form-data; name="image"; filename="a.jpg"\r\n\r\nxyz', "multipart/form-data; boundary=abc")],
    ["a part without Content-Disposition", () => upload("--abc\r\nContent-Type: image/jpeg\r\n\r\nxyz\r\n--abc--\r\n", "multipart/form-data; boundary=abc")],
  ])("%s → 400 bad_request", async (_, send) => {
    expectProblem(await send(), 400, "bad_request");
  });

  test("a well-formed form without an `image` field → 422 naming image", async () => {
    const form = new FormData();
    form.append("avatar", new Blob([new Uint8Array([0xff, 0xd8, 0xff, 0xd9])], { type: "image/jpeg" }), "a.jpg");
    form.append("note", "hello");
    const { body, contentType } = await multipart(form);
    const problem = expectProblem(await upload(body, contentType), 422, "validation_failed");
    expect(problem.errors.map((e: { field: string }) => e.field)).toEqual(["image"]);
  });
});

describe("validation", () => {
  const fieldsOf = (problem: { errors?: Array<{ field: string; message: string }> }) => (problem.errors ?? []).map((e) => e.field).sort();

  test("/register with unknown fields (role, id, image_url) → 422 naming each, and no account is created", async () => {
    const email = uniqueEmail("unknown");
    const reply = await server.client.send("POST", "/register", {
      json: { name: "Mallory", email, password: "password123", role: "admin", id: 1, image_url: "http://evil.example/x.jpg" },
    });
    const problem = expectProblem(reply, 422, "validation_failed");
    expect(fieldsOf(problem)).toEqual(["id", "image_url", "role"]);
    expectProblem(await server.client.login(email), 401, "invalid_credentials");
  });

  test("PUT /me with unknown fields (is_admin, id, image_url) → 422 naming each, and nothing changes", async () => {
    const before = await server.client.send("GET", "/me", { token: user.token });
    const reply = await server.client.send("PUT", "/me", {
      token: user.token,
      json: { name: "Renamed", is_admin: true, id: 999, image_url: "http://evil.example/x.jpg" },
    });
    const problem = expectProblem(reply, 422, "validation_failed");
    expect(fieldsOf(problem)).toEqual(["id", "image_url", "is_admin"]);
    const after = await server.client.send("GET", "/me", { token: user.token });
    expect(after.body).toEqual(before.body);
    expect(after.body.role).toBe("user");
  });

  test.each<[string, Record<string, unknown>, string[]]>([
    ["every field bad", { name: "", email: "not-an-email", password: "short" }, ["email", "name", "password"]],
    ["every field missing", {}, ["email", "name", "password"]],
    ["wrong types and an unknown field", { name: 42, email: ["a@example.com"], password: null, admin: true }, ["admin", "email", "name", "password"]],
    ["one bad among good ones", { name: "Fine", email: "fine@example.com", password: "x" }, ["password"]],
  ])("/register with %s → 422 listing every one (field + message)", async (_, json, fields) => {
    const problem = expectProblem(await server.client.send("POST", "/register", { json }), 422, "validation_failed");
    expect(fieldsOf(problem)).toEqual(fields);
    for (const error of problem.errors) {
      expect(typeof error.message).toBe("string");
      expect(error.message.length).toBeGreaterThan(0);
    }
  });
});

describe("internal errors never leak", () => {
  const LEAKS = [/sql/i, /sqlite/i, /\bat\s+\S+\s+\(/, /^\s*at\s/m, /:\d+:\d+/, /\/work/, /src\//, /\.ts\b/, /node_modules/, /connection closed/i];

  test.each<[string, (s: TestServer, token: string) => Promise<Reply>]>([
    ["GET /me with a valid token", (s, token) => s.client.send("GET", "/me", { token })],
    ["POST /register", (s) => s.client.register()],
    ["POST /login", (s) => s.client.login("someone@example.com")],
  ])("%s with the database closed → 500 (SQLite) or 503 (PostgreSQL) problem+json that says nothing inside", async (_, send) => {
    await using broken = await startServer();
    const { token } = await broken.client.signUp();
    await broken.deps.store.close();

    const reply = await send(broken, token);
    // SQLite's closed handle is a plain error (500); PostgreSQL's closed pool reads as a lost
    // connection, which the store reports as the database being unavailable (503).
    if (TEST_DB === "postgres") expectProblem(reply, 503, "service_unavailable");
    else expectProblem(reply, 500, "internal_error");
    expectConventionHeaders(reply.headers);
    const text = await reply.raw.text();
    for (const leak of LEAKS) expect(text).not.toMatch(leak);
    for (const [name, value] of reply.headers) {
      if (name !== "date") for (const leak of LEAKS) expect(`${name}: ${value}`).not.toMatch(leak);
    }
    // The cause is not lost: it is in the log, under the request id the client saw; a 500 is a bug
    // (error), a 503 a dependency down (a warning).
    const id = reply.headers.get("x-request-id");
    const level = reply.status === 500 ? '"level":"error"' : '"level":"warn"';
    expect(broken.logs.some((line) => line.includes(level) && line.includes(`"request_id":"${id}"`) && line.includes('"error_'))).toBe(true);
  });
});

describe("refusals that Node's own clients read (issue 9.2)", () => {
  const script = new URL("../helpers/node-refusals.mjs", import.meta.url).pathname;
  const MB = 1_000_000;
  // [what, method, path, bytes, content type, token, status]
  const cases = (): Array<[string, string, string, number, string, string, number]> => [
    ["a 6 MB upload", "POST", "/me/upload-image", 6 * MB, "multipart/form-data; boundary=XyZ", user.token, 413],
    ["a 147 KB upload with a bad token", "POST", "/me/upload-image", 147_000, "multipart/form-data; boundary=XyZ", "not-a-token", 401],
    ["6 MB of JSON to /register", "POST", "/register", 6 * MB, "application/json", "", 413],
  ];

  for (const client of ["fetch", "http", "chunked"] as const) {
    test(`Node ${client}: each of 10 attempts reads the status, never EPIPE`, async () => {
      for (const [what, method, path, bytes, type, token, status] of cases()) {
        const node = Bun.spawn(["/usr/bin/node", script, server.url, client, method, path, String(bytes), type, token, "10"], { stdout: "pipe", stderr: "pipe" });
        const [out, err, code] = await Promise.all([new Response(node.stdout).text(), new Response(node.stderr).text(), node.exited]);
        expect({ what, code, err }).toEqual({ what, code: 0, err: "" });
        expect({ what, seen: JSON.parse(out) }).toEqual({ what, seen: Array(10).fill(status) });
      }
    }, 60_000);
  }

  test("after a refused body of known length the connection stays usable (keep-alive, no close)", async () => {
    const reply = await server.client.send("POST", "/me/upload-image", { token: "not-a-token", body: new Uint8Array(147_000), headers: { "Content-Type": "multipart/form-data; boundary=XyZ" } });
    expect(reply.status).toBe(401);
    expect(reply.headers.get("connection")).not.toBe("close");
  });
});

describe("the access log names the client (issue 14.12)", () => {
  const requestLine = (logs: string[], id: string) => logs.map((line) => JSON.parse(line)).find((line) => line.msg === "request" && line.request_id === id);

  test("ip is the socket address without TRUST_PROXY, whatever X-Forwarded-For claims", async () => {
    await server.client.send("GET", "/healthz", { headers: { "X-Request-Id": "ip-direct", "X-Forwarded-For": "203.0.113.9" } });
    expect(requestLine(server.logs, "ip-direct")).toMatchObject({ ip: "127.0.0.1", route: "/healthz" });
  });

  test("unmatched routes carry it too", async () => {
    await server.client.send("GET", "/no/such/thing", { headers: { "X-Request-Id": "ip-404" } });
    expect(requestLine(server.logs, "ip-404")).toMatchObject({ ip: "127.0.0.1", status: 404 });
  });

  test("with TRUST_PROXY=1 it is the address the proxy forwarded, as the rate limiter sees it", async () => {
    await using proxied = await startServer({ TRUST_PROXY: "1" });
    await proxied.client.send("GET", "/healthz", { headers: { "X-Request-Id": "ip-proxied", "X-Forwarded-For": "198.51.100.7, 203.0.113.9" } });
    expect(requestLine(proxied.logs, "ip-proxied")).toMatchObject({ ip: "203.0.113.9" });
  });
});

describe("idle connections are closed (issue 14.4)", () => {
  test("IDLE_TIMEOUT_SECONDS=1 closes a stalled body and an idle keep-alive connection in seconds; Bun closes a silent one by ~12 s", async () => {
    await using idle = await startServer({ IDLE_TIMEOUT_SECONDS: "1" });
    const [stalledBody, keptAlive, silent] = await Promise.all([
      closedAfter(idle.url, 'POST /register HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"na', 8000),
      closedAfter(idle.url, "GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n", 8000),
      // Before a whole request head Bun's own fixed 10 s timer applies (checked every 4 s); no setting moves it.
      closedAfter(idle.url, "GET /healthz HTTP/1.1\r\nHost: te", 20_000),
    ]);
    // Bun checks its timers every 4 s and a 1 s timeout fires at the next check, so "1 s" is anywhere
    // from a few ms to ~4 s (a full run saw 160 ms); without the setting it is 10-12 s. What shows the
    // close is for idleness is what came before it: nothing for the stalled body, the whole 200 here.
    expect(stalledBody.received).toBe("");
    expect(keptAlive.received).toMatch(/^HTTP\/1\.1 200 [^]*\r\n\r\n\{"status":"ok"\}$/);
    for (const { ms } of [stalledBody, keptAlive]) expect(ms).toBeLessThan(7000);
    expect(silent.ms).toBeLessThan(16_000);
  }, 30_000);
});
