// SQLite's write lock held by another process: the request that needs to write waits for it
// without freezing the others, goes through if the lock is let go in time, and past the wait gets
// 503 with Retry-After, like an unreachable database, not a 500.
import { expect, test } from "bun:test";
import { spawn } from "bun";
import { expectProblem, startServer, type TestServer } from "../helpers/server.ts";

/** Another process takes the write lock (BEGIN IMMEDIATE) and holds it until released. */
async function holdWriteLock(server: TestServer) {
  const filename = server.deps.config.databaseUrl.replace(/^sqlite:(\/\/)?/, "");
  const holder = spawn(
    [
      process.execPath,
      "-e",
      `const { Database } = require("bun:sqlite");
       const db = new Database(${JSON.stringify(filename)});
       db.exec("BEGIN IMMEDIATE");
       console.log("locked");
       for await (const _ of console) { db.exec("ROLLBACK"); db.close(); process.exit(0); }`,
    ],
    { stdin: "pipe", stdout: "pipe", stderr: "inherit" },
  );
  const { value } = await holder.stdout.getReader().read();
  expect(new TextDecoder().decode(value)).toContain("locked");
  return {
    async release() {
      holder.stdin.write("release\n");
      holder.stdin.end();
      await holder.exited;
    },
  };
}

const refresh = (server: TestServer, token: string) => server.client.send("POST", "/token/refresh", { json: { refresh_token: token } });

test("a write lock held past the wait: 503 service_unavailable with Retry-After, then 200", async () => {
  await using server = await startServer({ DATABASE_TIMEOUT_MS: "300" }, { database: "sqlite" });
  const user = await server.client.signUp();
  const lock = await holdWriteLock(server);
  try {
    const started = performance.now();
    const refused = await refresh(server, user.refresh);
    expectProblem(refused, 503, "service_unavailable");
    expect(refused.headers.get("retry-after")).not.toBeNull();
    // The wait follows DATABASE_TIMEOUT_MS, not SQLite's default 5 s.
    expect(performance.now() - started).toBeLessThan(3000);
  } finally {
    await lock.release();
  }
  // The refused rotation rolled back: the same refresh token still works.
  expect((await refresh(server, user.refresh)).status).toBe(200);
}, 30_000);

test("while a write waits for the lock the instance serves other requests, and the write goes through once it is free", async () => {
  await using server = await startServer({ DATABASE_TIMEOUT_MS: "5000" }, { database: "sqlite" });
  const user = await server.client.signUp();
  const lock = await holdWriteLock(server);
  let waiting: ReturnType<typeof refresh> | undefined;
  try {
    waiting = refresh(server, user.refresh);
    await Bun.sleep(200);
    const started = performance.now();
    expect((await server.client.send("GET", "/healthz")).status).toBe(200);
    expect((await server.client.send("GET", "/me", { token: user.token })).status).toBe(200);
    // Not stuck behind SQLite's busy wait, which would hold the event loop for the full 5 s.
    expect(performance.now() - started).toBeLessThan(2000);
  } finally {
    await lock.release();
  }
  expect((await waiting).status).toBe(200);
}, 30_000);
