// The compiled executable is a release artifact on its own: built with the Dockerfile's command,
// started with no Bun on PATH and the Dockerfile's environment, it passes the API smoke suite.
import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Client } from "./helpers/server.ts";
import { apiSmoke } from "./helpers/smoke.ts";
import { startSmtpSink } from "./helpers/smtp.ts";

const root = resolve(import.meta.dir, "..");
const dir = mkdtempSync(join(tmpdir(), "profile-binary-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("npm run build (the Dockerfile's build) makes a binary that serves register → login → upload → fetch, and /docs", async () => {
  // The Dockerfile runs the package's own build script, so both make the same executable.
  expect(readFileSync(join(root, "Dockerfile"), "utf8")).toMatch(/^RUN bun run build\b/m);
  const script: string = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).scripts.build;
  const build = /^bun build (.+?) --outfile dist\/profile-service$/.exec(script);
  expect(build).not.toBeNull();
  const binary = join(dir, "profile-service");
  const compile = Bun.spawnSync([process.execPath, "build", ...build![1]!.split(" "), "--outfile", binary], { cwd: root, stderr: "pipe" });
  expect(compile.exitCode).toBe(0);
  const help = Bun.spawnSync([binary, "--help"], { env: { PATH: "/nonexistent" }, stdout: "pipe" });
  expect(help.exitCode).toBe(0);
  expect(help.stdout.toString()).toContain("profile-service create-admin --email");

  mkdirSync(join(dir, "data"));
  // Production needs a mail server; this one also shows nodemailer made it into the binary.
  const smtp = await startSmtpSink();
  const proc = Bun.spawn([binary], {
    cwd: dir,
    env: {
      PATH: "/nonexistent", // no bun anywhere
      NODE_ENV: "production",
      JWT_SECRET: "binary-test-secret-0123456789abcdef0123",
      HOST: "127.0.0.1",
      PORT: "0",
      DATABASE_URL: `sqlite://${join(dir, "data", "app.db")}`,
      DATA_DIR: join(dir, "data"),
      STATIC_DIR: join(dir, "static"),
      ARGON2_MEMORY_KIB: "1024",
      ARGON2_TIME_COST: "1",
      SMTP_URL: smtp.url,
    },
    stdout: "pipe",
    stderr: "pipe",
  });
  try {
    const reader = proc.stdout.getReader();
    let output = "";
    let port: string | undefined;
    while (port === undefined) {
      const { done, value } = await reader.read();
      if (done) throw new Error(`binary exited: ${output}${await new Response(proc.stderr).text()}`);
      output += new TextDecoder().decode(value);
      port = /"listening","url":"http:\/\/[^:]+:(\d+)"/.exec(output)?.[1];
    }
    const client = new Client(`http://127.0.0.1:${port}`);
    await apiSmoke(client, smtp);
    // Swagger UI's files are embedded in the binary, not read from a node_modules it does not have.
    const docs = await client.send("GET", "/docs");
    const bundle = /src="(\/docs\/assets\/swagger-ui-bundle\.js\?v=\w+)"/.exec(docs.body)?.[1];
    const served = await fetch(client.url + bundle, { headers: { "Accept-Encoding": "identity" } });
    expect(served.status).toBe(200);
    expect((await served.arrayBuffer()).byteLength).toBe(Bun.file(join(root, "node_modules/swagger-ui-dist/swagger-ui-bundle.js")).size);
  } finally {
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
    await smtp.close();
  }
}, 60_000);
