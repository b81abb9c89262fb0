// SQLite's write lock held by another process past busy_timeout: the request that needs to write
// gets 503 with Retry-After, like an unreachable database, not a 500; and succeeds once it is free.
import { expect, test } from "bun:test";
import { spawn } from "bun";
import { expectProblem, startServer } from "../helpers/server.ts";

test("a write lock held past the busy timeout: 503 service_unavailable with Retry-After, then 200", async () => {
  await using server = await startServer({ DATABASE_TIMEOUT_MS: "300" }, { database: "sqlite" });
  const user = await server.client.signUp();
  const filename = server.deps.config.databaseUrl.replace(/^sqlite:(\/\/)?/, "");
  // Another process takes the write lock and holds it until told to let go.
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
  try {
    const reader = holder.stdout.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toContain("locked");
    const started = performance.now();
    const refused = await server.client.send("POST", "/token/refresh", { json: { refresh_token: user.refresh } });
    expectProblem(refused, 503, "service_unavailable");
    expect(refused.headers.get("retry-after")).not.toBeNull();
    // The busy wait follows DATABASE_TIMEOUT_MS, not SQLite's default 5 s.
    expect(performance.now() - started).toBeLessThan(3000);
  } finally {
    holder.stdin.write("release\n");
    holder.stdin.end();
    await holder.exited;
  }
  // The failed rotation rolled back: the same refresh token still works.
  expect((await server.client.send("POST", "/token/refresh", { json: { refresh_token: user.refresh } })).status).toBe(200);
}, 30_000);
