// The HTTP conventions every route shares: routing errors, the headers on every response, CORS,
// field validation, what an internal error may (not) say, and the access log. Bodies: bodies.test.ts.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { expectConventionHeaders, expectProblem, serverForFile, startServer, uniqueEmail, type Reply, type TestServer } from "../helpers/server.ts";
import { TEST_DB } from "../helpers/database.ts";

const KiB = 1024;

/** Names listed in a comma-separated header (Allow, Access-Control-Allow-*), upper-cased. */
const listed = (header: string | null) => new Set((header ?? "").split(",").map((s) => s.trim().toUpperCase()).filter(Boolean));

const server = await serverForFile();
const user = await server.client.signUp();

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
