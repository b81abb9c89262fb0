// The pipeline hands Bun an answer known at once as a Response, not a promise of one: GET /me from the
// session cache is nearly every request, and a promise costs it a turn of the queue (bench/RESULTS.md).
// Whatever waits, and whatever fails, sync or not, still ends in the same answer and log line.
import { expect, test } from "bun:test";
import type { Server } from "bun";
import { resolve, routes } from "../../src/app.ts";
import { routeHandler } from "../../src/http/pipeline.ts";
import { cacheAnswering, expectConventionHeaders, expectProblem, replyOf, serverForFile } from "../helpers/server.ts";

const server = await serverForFile();
const me = routeHandler("/me", resolve(routes, routes["/me"]!), server.deps);
const socket = { requestIP: () => ({ address: "192.0.2.5", family: "IPv4", port: 40000 }) } as unknown as Server<undefined>;
const get = (token?: string, method = "GET") =>
  me(new Request("http://127.0.0.1/me", { method, headers: token === undefined ? {} : { Authorization: `Bearer ${token}` } }), socket);
const requestLines = () => server.logs.map((line) => JSON.parse(line)).filter((line) => line.msg === "request");

test("GET /me with a token seen before and its session in the cache is answered at once, with every header and its log line", async () => {
  const user = await server.client.signUp();
  await cacheAnswering(server, 2000);
  await get(user.token); // the first sight verifies the signature, and may read the session
  server.logs.length = 0;
  const answer = get(user.token);
  expect(answer).toBeInstanceOf(Response);
  const res = answer as Response;
  expect(res.status).toBe(200);
  expectConventionHeaders(res.headers);
  expect(res.headers.get("cache-control")).toBe("no-store");
  expect(((await res.json()) as { id: number }).id).toBe(user.id);
  expect(requestLines()).toEqual([expect.objectContaining({ route: "/me", status: 200, user_id: user.id, ip: "192.0.2.5" })]);
});

test("a refusal found at once is answered at once; one found after waiting comes through the promise; both as problem+json", async () => {
  const missing = get();
  expect(missing).toBeInstanceOf(Response);
  expectProblem(await replyOf(missing as Response), 401, "invalid_token");
  expect((missing as Response).headers.get("www-authenticate")).toStartWith("Bearer");
  // A deleted account's token, and a forged one: neither has a session in memory, so both are checked
  // afresh (the store, the signature) and the answer comes through the promise.
  const user = await server.client.signUp();
  await server.client.send("DELETE", "/me", { token: user.token, json: { current_password: user.password } });
  server.logs.length = 0;
  const revoked = get(user.token);
  expect(revoked).toBeInstanceOf(Promise);
  expectProblem(await replyOf(await revoked), 401, "invalid_token");
  const forged = get(`${user.token.slice(0, -4)}AAAA`);
  expect(forged).toBeInstanceOf(Promise);
  expectProblem(await replyOf(await forged), 401, "invalid_token");
  expect(requestLines().map((line) => [line.status, line.problem])).toEqual([
    [401, "invalid_token"],
    [401, "invalid_token"],
  ]);
});

test("HEAD /me waits for the length of the body it leaves out, then answers like GET", async () => {
  const user = await server.client.signUp();
  await get(user.token);
  const head = await get(user.token, "HEAD");
  expect(head.status).toBe(200);
  expect(await head.text()).toBe("");
  const full = (await get(user.token)) as Response;
  expect(head.headers.get("content-length")).toBe(String((await full.arrayBuffer()).byteLength));
});
