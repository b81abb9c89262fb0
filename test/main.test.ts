// The real entry point as a process: configuration errors, the kept development secret, clean-up of what a crash
// left behind, a graceful SIGTERM, and the start-up warning about a low open-files limit (issue 14.4).
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "../src/log.ts";
import { hardNofile, SAFE_NOFILE, warnIfLowNofile } from "../src/startup.ts";
import { png } from "./fixtures/images.ts";
import { freshDatabase } from "./helpers/database.ts";
import { Client, MAIN, startProcess as start, tempDirsForFile } from "./helpers/server.ts";

const tempDir = tempDirsForFile("profile-main-");

/** Runs main.ts to completion (it is expected to refuse to start) and returns what it said. */
async function refusal(env: Record<string, string>) {
  const proc = Bun.spawn([process.execPath, MAIN], { cwd: tempDir(), env: { PATH: process.env.PATH ?? "", ...env }, stderr: "pipe", stdout: "pipe" });
  const [code, stderr, stdout] = await Promise.all([proc.exited, new Response(proc.stderr).text(), new Response(proc.stdout).text()]);
  return { code, stderr, stdout };
}

describe("start-up", () => {
  test("bad configuration: exit code 1 and every problem on stderr, no stack", async () => {
    const { code, stderr } = await refusal({ PORT: "http", JWT_SECRET: "short", IMAGE_MAX_SIDE: "0" });
    expect(code).toBe(1);
    for (const name of ["PORT", "JWT_SECRET", "IMAGE_MAX_SIDE"]) expect(stderr).toContain(name);
    expect(stderr).not.toContain("short");
    expect(stderr).not.toMatch(/\bat .*\.ts:\d+/);
  });

  test("an unreachable database at start-up: exit 1 with a clear line, no stack, no password", async () => {
    const { code, stderr, stdout } = await refusal({ DATABASE_URL: "postgres://app:hunter2@127.0.0.1:1/app" });
    expect(code).toBe(1);
    expect(stderr).toContain("cannot reach the database at postgres://***@127.0.0.1:1/app");
    expect(stderr + stdout).not.toContain("hunter2");
    expect(stderr).not.toMatch(/\bat .*\.ts:\d+/);
  });

  test("production without JWT_SECRET refuses to start", async () => {
    const { code, stderr } = await refusal({ NODE_ENV: "production" });
    expect(code).toBe(1);
    expect(stderr).toContain("JWT_SECRET is required");
  });

  test("development keeps a generated secret (mode 0600) so sessions survive a restart", async () => {
    const cwd = tempDir();
    const first = await start(cwd);
    const client = new Client(first.url);
    const user = await client.signUp();
    first.proc.kill("SIGTERM");
    expect(await first.proc.exited).toBe(0);
    const secretFile = join(cwd, "data", "jwt-secret");
    expect(statSync(secretFile).mode & 0o777).toBe(0o600);

    const second = await start(cwd);
    expect((await new Client(second.url).send("GET", "/me", { token: user.token })).status).toBe(200);
    second.proc.kill("SIGTERM");
    await second.proc.exited;
  });

  test("leftovers of a crash (temp files, pictures of nobody) are removed at start", async () => {
    const cwd = tempDir();
    const folder = join(cwd, "static", "profile");
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, "7.jpg.3.abc.tmp"), "half a picture");
    writeFileSync(join(folder, "12345.jpg"), "picture of a user that does not exist");
    // Older than STORAGE_GRACE_SECONDS (an hour): younger ones may be uploads about to be recorded.
    const longAgo = new Date(Date.now() - 2 * 3600_000);
    for (const name of ["7.jpg.3.abc.tmp", "12345.jpg"]) utimesSync(join(folder, name), longAgo, longAgo);
    const server = await start(cwd);
    expect(existsSync(join(folder, "7.jpg.3.abc.tmp"))).toBe(false);
    expect(existsSync(join(folder, "12345.jpg"))).toBe(false);
    server.proc.kill("SIGTERM");
    await server.proc.exited;
  });
});

describe("shutdown and mail", () => {
  test("SIGTERM waits for mail still on its way only within SHUTDOWN_TIMEOUT_MS, then says what it left", async () => {
    // A mail server that accepts and never says a word: the verification mail can only wait.
    const silent = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      const server = await start(tempDir(), { SMTP_URL: `smtp://127.0.0.1:${silent.port}`, SHUTDOWN_TIMEOUT_MS: "1000" });
      expect((await new Client(server.url).register()).status).toBe(201);
      const started = performance.now();
      server.proc.kill("SIGTERM");
      expect(await server.proc.exited).toBe(0);
      expect(performance.now() - started).toBeLessThan(3000); // not nodemailer's 10 s greeting timeout
      expect(await server.output()).toContain('"msg":"shutting down with mail not yet sent","messages":1');
    } finally {
      silent.stop(true);
    }
  });
});

/** An upload whose body trickles in over about half a second, so a signal can land mid-request. */
function slowUpload(url: string, token: string, image: Uint8Array): Promise<Response> {
  const boundary = "slowboundary";
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n`;
  const parts = [new TextEncoder().encode(head), image, new TextEncoder().encode(`\r\n--${boundary}--\r\n`)];
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      await Bun.sleep(150);
      const next = parts[sent++];
      if (next) controller.enqueue(next);
      else controller.close();
    },
  });
  return fetch(`${url}/me/upload-image`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": `multipart/form-data; boundary=${boundary}` },
    body,
    duplex: "half",
  } as RequestInit);
}

describe("shutdown", () => {
  test("SIGTERM lets an in-flight upload finish, then refuses new connections and exits 0", async () => {
    const server = await start(tempDir());
    const client = new Client(server.url);
    const user = await client.signUp();

    const upload = slowUpload(server.url, user.token, png(64, 64));
    await Bun.sleep(200);
    server.proc.kill("SIGTERM");
    const reply = await upload;
    expect(reply.status).toBe(200);
    expect(((await reply.json()) as { message: string }).message).toBe("Upload successful");
    expect(await server.proc.exited).toBe(0);
    expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
    expect(await server.output()).toContain('"msg":"stopped"');
  });

  test("SIGTERM with several uploads in flight: new connections refused at once, every upload 200 and kept", async () => {
    const cwd = tempDir();
    const server = await start(cwd);
    const client = new Client(server.url);
    const users = await Promise.all(Array.from({ length: 4 }, () => client.signUp()));

    const uploads = users.map((user, i) => slowUpload(server.url, user.token, png(64 + i, 64)));
    await Bun.sleep(200);
    server.proc.kill("SIGTERM");
    await Bun.sleep(100);
    // Draining: the listener is closed while the four bodies are still arriving.
    const port = Number(new URL(server.url).port);
    await expect(Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } })).rejects.toThrow();
    expect(server.proc.exitCode).toBeNull();

    const replies = await Promise.all(uploads);
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(await server.proc.exited).toBe(0);

    // Each acknowledged picture is there after a restart, at the URL the upload answered.
    const again = await start(cwd);
    for (const [i, user] of users.entries()) {
      const me = await new Client(again.url).send("GET", "/me", { token: user.token });
      expect(me.status).toBe(200);
      const path = new URL(me.body.image_url as string).pathname;
      expect(new URL(((await replies[i]!.json()) as { image_url: string }).image_url).pathname).toBe(path);
      const picture = await fetch(`${again.url}${path}`);
      expect(picture.status).toBe(200);
      expect(picture.headers.get("content-type")).toBe("image/jpeg");
    }
    again.proc.kill("SIGTERM");
    expect(await again.proc.exited).toBe(0);
  });
});

describe("healthcheck subcommand", () => {
  test("exits 0 against a running server and 1 when nothing answers", async () => {
    const server = await start(tempDir());
    const port = new URL(server.url).port;
    const ok = Bun.spawn([process.execPath, MAIN, "healthcheck"], { env: { PATH: process.env.PATH ?? "", PORT: port } });
    expect(await ok.exited).toBe(0);
    server.proc.kill("SIGTERM");
    await server.proc.exited;
    const down = Bun.spawn([process.execPath, MAIN, "healthcheck"], { env: { PATH: process.env.PATH ?? "", PORT: port } });
    expect(await down.exited).toBe(1);
  });
});

describe("ADMIN_EMAIL/ADMIN_PASSWORD on a database with no admin (issue 14.8)", () => {
  const admin = { ADMIN_EMAIL: "first-admin@example.com", ADMIN_PASSWORD: "first-admin-password" };
  test.each([
    ["SQLite, development", "sqlite", {}],
    ["SQLite, production", "sqlite", { NODE_ENV: "production", JWT_SECRET: "a-production-secret-0123456789-abcdef", SMTP_URL: "smtp://127.0.0.1:1" }],
    ["PostgreSQL, development", "postgres", {}],
  ] as const)("%s: the process listens and the admin can log in", async (_, kind, extra) => {
    const cwd = tempDir();
    const database = await freshDatabase(cwd, kind);
    try {
      const server = await start(cwd, { DATABASE_URL: database.url, ...admin, ...extra });
      try {
        const login = await new Client(server.url).login(admin.ADMIN_EMAIL, admin.ADMIN_PASSWORD);
        expect(login.status).toBe(200);
        const me = await new Client(server.url).send("GET", "/me", { token: login.body.access_token as string });
        expect(me.body.role).toBe("admin");
      } finally {
        server.proc.kill("SIGTERM");
        await server.proc.exited;
      }
      expect(await server.output()).toContain('"msg":"created the first admin from ADMIN_EMAIL"');
    } finally {
      await database.drop();
    }
  });
});

describe("one service per port (issue 9.8)", () => {
  test("a second process on a port in use exits 1 saying the address is in use; the first keeps serving", async () => {
    const first = await start(tempDir());
    try {
      const port = new URL(first.url).port;
      const { code, stderr, stdout } = await refusal({ PORT: port, HOST: "127.0.0.1" });
      expect(code).toBe(1);
      expect(stderr).toContain(`address in use: something already listens on 127.0.0.1:${port}`);
      expect(stdout).toContain('"msg":"failed to start"');
      expect(stdout).not.toContain('"msg":"listening"');
      expect((await fetch(`${first.url}/healthz`)).status).toBe(200);
    } finally {
      first.proc.kill("SIGTERM");
      await first.proc.exited;
    }
  });

  test("REUSE_PORT=true on both shares the port on purpose", async () => {
    const first = await start(tempDir(), { REUSE_PORT: "true" });
    const port = new URL(first.url).port;
    const second = await start(tempDir(), { REUSE_PORT: "true", PORT: port });
    expect(second.url).toBe(first.url);
    for (const server of [first, second]) {
      server.proc.kill("SIGTERM");
      expect(await server.proc.exited).toBe(0);
    }
  });
});

describe("a low open-files limit (issue 14.4)", () => {
  test("started under `ulimit -n 1024`, the log warns naming the limit and how to raise it", async () => {
    const server = await start(tempDir(), {}, { nofile: 1024 });
    server.proc.kill("SIGTERM");
    await server.proc.exited;
    const warning = (await server.output()).split("\n").map((line) => (line ? JSON.parse(line) : {})).find((line) => line.nofile !== undefined);
    expect(warning).toMatchObject({ level: "warn", nofile: 1024, safe_floor: 4096 });
    expect(warning.msg).toContain("1024");
    expect(warning.fix).toContain("ulimit -Hn");
    expect(warning.fix).toContain("--ulimit nofile=");
  });
});

// The open-files warning itself: when it speaks, and what it reads.
function warnings(hard: number | undefined): Array<Record<string, unknown>> {
  const lines: string[] = [];
  warnIfLowNofile(createLogger((line) => lines.push(line)), hard);
  return lines.map((line) => JSON.parse(line));
}

test.each([[1024], [SAFE_NOFILE - 1]])("a hard limit of %d: one warning naming it", (hard) => {
  expect(warnings(hard)).toMatchObject([{ level: "warn", nofile: hard, safe_floor: SAFE_NOFILE }]);
});

test.each([[SAFE_NOFILE], [1_048_576], [undefined]])("a hard limit of %p: silent", (hard) => {
  expect(warnings(hard)).toEqual([]);
});

test("reads the hard column of /proc/<pid>/limits, not the soft one", () => {
  const dir = mkdtempSync(join(tmpdir(), "nofile-"));
  try {
    const file = join(dir, "limits");
    writeFileSync(file, "Limit                     Soft Limit           Hard Limit           Units     \nMax open files            512                  2048                 files     \n");
    expect(hardNofile(file)).toBe(2048);
    writeFileSync(file, "Max open files            unlimited            unlimited            files     \n");
    expect(hardNofile(file)).toBeUndefined();
    expect(hardNofile(join(dir, "missing"))).toBeUndefined();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
