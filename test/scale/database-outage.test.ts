// PostgreSQL going away under a running service: 503 on /readyz and on requests that need it,
// never a crash, and service again once it is back, without a restart.
import { afterAll, expect, test } from "bun:test";
import { POSTGRES_URL } from "../helpers/database.ts";
import { expectProblem, startServer } from "../helpers/server.ts";
import { TcpProxy } from "../helpers/tcp-proxy.ts";

const upstream = new URL(POSTGRES_URL);
const proxy = await TcpProxy.start({ hostname: upstream.hostname, port: Number(upstream.port || 5432) });
afterAll(() => proxy.stop());

test("503 while PostgreSQL is unreachable, 200 again once it returns", async () => {
  const through = new URL(POSTGRES_URL);
  through.port = String(proxy.port);
  await using server = await startServer({}, { database: "postgres", postgresUrl: through.toString() });
  const user = await server.client.signUp();
  expect((await server.client.send("GET", "/readyz")).status).toBe(200);

  proxy.cut();
  const ready = expectProblem(await server.client.send("GET", "/readyz"), 503, "service_unavailable");
  expect(ready.checks.database).toBe("unavailable");
  const me = await server.client.send("GET", "/me", { token: user.token });
  expectProblem(me, 503, "service_unavailable");
  expect(me.headers.get("retry-after")).not.toBeNull();
  expectProblem(await server.client.login(user.email), 503, "service_unavailable");
  // Counted where an operator looks: GET /me and the login each met the outage.
  const metrics = await (await fetch(server.metricsUrl!)).text();
  expect(Number(/^database_errors_total\{kind="unavailable"\} (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(2);

  proxy.restore();
  let status = 0;
  for (let i = 0; i < 50 && status !== 200; i++) {
    status = (await server.client.send("GET", "/readyz")).status;
    if (status !== 200) await Bun.sleep(100);
  }
  expect(status).toBe(200);
  expect((await server.client.send("GET", "/me", { token: user.token })).status).toBe(200);
  expect((await server.client.login(user.email)).status).toBe(200);
}, 30_000);
