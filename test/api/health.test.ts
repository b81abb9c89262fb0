// Liveness says the process answers; readiness says its database and storage do too.
import { expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { expectProblem, startServer } from "../helpers/server.ts";

test("GET /healthz → 200 {status: ok}", async () => {
  await using server = await startServer();
  const reply = await server.client.send("GET", "/healthz");
  expect(reply.status).toBe(200);
  expect(reply.body).toEqual({ status: "ok" });
});

test("GET /readyz → 200 while the database and storage answer", async () => {
  await using server = await startServer();
  const reply = await server.client.send("GET", "/readyz");
  expect(reply.status).toBe(200);
  expect(reply.body).toEqual({ status: "ok", checks: { database: "ok", storage: "ok" } });
});

test("GET /readyz → 503 problem+json naming the database when it is gone", async () => {
  await using server = await startServer();
  await server.deps.store.sql.close();
  const problem = expectProblem(await server.client.send("GET", "/readyz"), 503, "service_unavailable");
  expect(problem.checks).toEqual({ database: "unavailable", storage: "ok" });
});

test("GET /readyz → 503 naming storage when the picture folder is gone", async () => {
  await using server = await startServer();
  rmSync(join(server.dir, "static", "profile"), { recursive: true });
  const problem = expectProblem(await server.client.send("GET", "/readyz"), 503, "service_unavailable");
  expect(problem.checks).toEqual({ database: "ok", storage: "unavailable" });
});
