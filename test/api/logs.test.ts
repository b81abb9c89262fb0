// The log is for operators, not attackers: one JSON line per request with the route pattern,
// and never a password, a token or a query string, whatever the request carried.
import { expect, test } from "bun:test";
import type { Server } from "bun";
import { resolve, routes } from "../../src/app.ts";
import { routeHandler } from "../../src/http/pipeline.ts";
import { serverForFile, startServer } from "../helpers/server.ts";

const server = await serverForFile();
const { client } = server;

test("one parseable line per request, with id, method, route, status, duration and user", async () => {
  const user = await client.signUp();
  server.logs.length = 0;
  await client.send("GET", "/me", { token: user.token, headers: { "X-Request-Id": "trace-42" } });
  const lines = server.logs.map((line) => JSON.parse(line));
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatchObject({ level: "info", msg: "request", request_id: "trace-42", method: "GET", route: "/me", status: 200, user_id: user.id });
  expect(typeof lines[0].duration_ms).toBe("number");
  expect(lines[0].time).toMatch(/Z$/);
});

test("every line parses whatever the client sends: an unusual method, a forwarded address with quotes, a refusal's code", async () => {
  await using proxied = await startServer({ TRUST_PROXY: "1" });
  const forwarded = 'evil" "injected": "1\\';
  await fetch(`${proxied.url}/me`, { method: "PROPFIND", headers: { "X-Forwarded-For": forwarded } });
  await fetch(`${proxied.url}/me`, { headers: { "X-Forwarded-For": forwarded } });
  const lines = proxied.logs.map((line) => JSON.parse(line)).filter((line) => line.msg === "request");
  expect(lines).toEqual([
    expect.objectContaining({ msg: "request", method: "PROPFIND", route: "/me", status: 405, problem: "method_not_allowed", ip: forwarded }),
    expect.objectContaining({ msg: "request", method: "GET", route: "/me", status: 401, problem: "invalid_token", ip: forwarded }),
  ]);
  expect(lines.some((line) => "injected" in line)).toBe(false);
});

test("behind proxies the logged address comes from X-Forwarded-For without asking the socket; without one, from the socket", async () => {
  await using proxied = await startServer({ TRUST_PROXY: "1" });
  const healthz = routeHandler("/healthz", resolve(routes, routes["/healthz"]!), proxied.deps);
  let asked = 0;
  const socket = { requestIP: () => (asked++, { address: "10.0.0.9", family: "IPv4", port: 40000 }) } as unknown as Server<undefined>;
  await healthz(new Request("http://127.0.0.1/healthz", { headers: { "X-Forwarded-For": "198.51.100.1, 203.0.113.7" } }), socket);
  expect(asked).toBe(0);
  await healthz(new Request("http://127.0.0.1/healthz"), socket);
  expect(asked).toBe(1);
  const ips = proxied.logs.map((line) => JSON.parse(line)).filter((line) => line.msg === "request").map((line) => line.ip);
  expect(ips).toEqual(["203.0.113.7", "10.0.0.9"]);
});

test("no password, token or query secret ever reaches the log", async () => {
  const password = "Sup3r-Secret-Passw0rd!";
  const user = await client.signUp(password);
  const refreshed = await client.send("POST", "/token/refresh", { json: { refresh_token: user.refresh } });
  await client.send("PUT", "/me", { token: user.token, json: { password: "An0ther-Secret-Passw0rd", current_password: password } });
  await client.login(user.email, "Wrong-Secret-Passw0rd");
  await client.send("GET", `/me?access_token=${user.token}&api_key=query-secret-value`, { token: "garbage-token-value" });
  await client.send("POST", "/logout", { json: { refresh_token: refreshed.body.refresh_token } });
  // Provoke an internal error too, whose log line carries the cause.
  const broken = await fetch(`${server.url}/register`, { method: "POST", headers: { "Content-Type": "application/json" }, body: "{" });
  expect(broken.status).toBe(400);
  const log = server.logs.join("");
  for (const secret of [password, "An0ther-Secret-Passw0rd", "Wrong-Secret-Passw0rd", user.token, user.refresh, refreshed.body.refresh_token, refreshed.body.access_token, "query-secret-value", "garbage-token-value"]) {
    expect(log).not.toContain(secret);
  }
  expect(log).not.toContain("argon2id$");
});

test("an unexpected failure: a bare 500 for the client; one error line with the request id and the cause for the operator", async () => {
  const user = await client.signUp();
  const store = server.deps.store;
  const original = store.userBySession;
  store.userBySession = async () => {
    throw Object.assign(new Error("disk I/O error at page 7"), { code: "SQLITE_IOERR" });
  };
  try {
    server.logs.length = 0;
    const reply = await client.send("GET", "/me", { token: user.token, headers: { "X-Request-Id": "trace-500" } });
    expect(reply.status).toBe(500);
    expect(JSON.stringify(reply.body)).not.toContain("disk I/O");
    const lines = server.logs.map((line) => JSON.parse(line));
    const errors = lines.filter((line) => line.level === "error");
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ msg: "request failed", request_id: "trace-500", route: "/me", error_message: "disk I/O error at page 7", error_code: "SQLITE_IOERR" });
    expect(lines.find((line) => line.msg === "request")).toMatchObject({ request_id: "trace-500", status: 500, problem: "internal_error" });
    const metrics = await (await fetch(server.metricsUrl!)).text();
    expect(metrics).toMatch(/^database_errors_total\{kind="query"\} 1$/m);
  } finally {
    store.userBySession = original;
  }
});
