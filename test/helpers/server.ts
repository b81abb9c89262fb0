// Starts the real service for a test: in this process on port 0 with its own temp database and picture folder, a client,
// the log lines and a movable clock (`await using` stops it); or src/main.ts as a child process, for what only a process shows.
import { afterAll, expect } from "bun:test";
import { appendFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createServer } from "../../src/app.ts";
import { loadConfig } from "../../src/config.ts";
import type { Deps } from "../../src/context.ts";
import type { ProblemCode } from "../../src/core.ts";
import { createLogger } from "../../src/log.ts";
import { startMetricsListener } from "../../src/metrics/listener.ts";
import { buildDeps } from "../../src/wire.ts";
import { freshDatabase } from "./database.ts";
import { freshBucket, TEST_STORAGE } from "./s3.ts";

export const TEST_SECRET = "test-secret-0123456789abcdef-0123456789abcdef";

export type TestClock = { now: number; advance(seconds: number): void };

export type TestServer = {
  url: string;
  /** The management listener's GET /metrics (on its own port 0); undefined with METRICS=off. */
  metricsUrl: string | undefined;
  deps: Deps;
  dir: string;
  logs: string[];
  clock: TestClock;
  client: Client;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
};

/** Temp directories for a whole test file: each call makes one (named `prefix`…), all removed after the last test. */
export function tempDirsForFile(prefix: string): () => string {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
  return () => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(dir);
    return dir;
  };
}

/** Where test servers say their pictures are (PUBLIC_BASE_URL); localUrl points such a URL at the server. */
const PICTURES_BASE = "http://pictures.test";

/** One server for a whole test file, stopped after its last test. */
export async function serverForFile(env: Record<string, string> = {}): Promise<TestServer> {
  const server = await startServer(env);
  afterAll(() => server.close());
  return server;
}

export async function startServer(
  env: Record<string, string> = {},
  options: { database?: "sqlite" | "postgres"; postgresUrl?: string } = {},
): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), "profile-test-"));
  // An explicit DATABASE_URL is someone else's database: use it as it is and leave it be.
  const database = env.DATABASE_URL
    ? { url: env.DATABASE_URL, drop: async () => {} }
    : await freshDatabase(dir, options.database, options.postgresUrl);
  const storage = TEST_STORAGE === "s3" ? await freshBucket() : {};
  const config = loadConfig({
    NODE_ENV: "test",
    DATABASE_URL: database.url,
    DATABASE_POOL_SIZE: "4",
    DATA_DIR: join(dir, "data"),
    STATIC_DIR: join(dir, "static"),
    JWT_SECRET: TEST_SECRET,
    PUBLIC_BASE_URL: PICTURES_BASE,
    // Cheap hashes keep the suite fast; the production parameters have their own test.
    ARGON2_MEMORY_KIB: "1024",
    ARGON2_TIME_COST: "1",
    RATE_LIMITS: "off",
    METRICS_PORT: "0",
    ...storage,
    ...env,
  });
  const logs: string[] = [];
  const clock: TestClock = {
    now: Date.now(),
    advance(seconds) {
      this.now += seconds * 1000;
    },
  };
  const deps = await buildDeps(config, createLogger((line) => logs.push(line), undefined, config.logLevel), () => clock.now);
  const server = createServer(deps, { hostname: "127.0.0.1", port: 0 });
  const url = `http://127.0.0.1:${server.port}`;
  const management = startMetricsListener(deps);
  const close = async () => {
    await server.stop(true);
    await management?.stop(true);
    deps.sweeper.stop();
    await deps.backfill.stop();
    await deps.outbox.idle();
    deps.mailer.close();
    deps.hasher.close();
    deps.limiter.close();
    await deps.store.close().catch(() => {}); // some tests close it themselves
    await database.drop();
    rmSync(dir, { recursive: true, force: true });
  };
  return {
    url,
    metricsUrl: management && `http://127.0.0.1:${management.port}/metrics`,
    deps,
    dir,
    logs,
    clock,
    client: new Client(url),
    close,
    [Symbol.asyncDispose]: close,
  };
}

export type Reply = { status: number; headers: Headers; body: any; raw: Response };

/** A response as the client's helpers see it: its body parsed when it is JSON, the response itself kept unread. */
export async function replyOf(raw: Response): Promise<Reply> {
  const text = await raw.clone().text();
  let parsed: unknown = text;
  if (/json/.test(raw.headers.get("content-type") ?? "") && text) parsed = JSON.parse(text);
  return { status: raw.status, headers: raw.headers, body: parsed, raw };
}

/** A picture URL the service handed out, pointed at the test server that handed it out. */
export const localUrl = (server: TestServer, url: string) => url.replace(PICTURES_BASE, server.url);

/** The body at `url`, as bytes. */
export const fetchBytes = async (url: string) => new Uint8Array(await (await fetch(url)).arrayBuffer());

let counter = 0;
export const uniqueEmail = (prefix = "user") => `${prefix}${++counter}.${Date.now()}@example.com`;

// Set by `npm test`: every response is recorded, and test/openapi/check-observed.ts checks afterwards
// that the OpenAPI document documents each (route, method, status) the suites saw.
const OBSERVED_STATUSES_FILE = process.env.OBSERVED_STATUSES_FILE;

// Set by scripts/prism-check.ts: Prism's address, the header that names the test server behind it,
// and the file each response's violations of the OpenAPI document are appended to.
const PRISM_URL = process.env.PRISM_URL;
export const UPSTREAM_HEADER = "x-test-upstream";
const PRISM_VIOLATIONS_FILE = process.env.PRISM_VIOLATIONS_FILE;

function recordViolations(method: string, path: string, response: Response) {
  const header = response.headers.get("sl-violations");
  if (!header || !PRISM_VIOLATIONS_FILE) return;
  const entry = { method, path: new URL(path, "http://x").pathname, status: response.status, violations: JSON.parse(header) };
  appendFileSync(PRISM_VIOLATIONS_FILE, `${JSON.stringify(entry)}\n`);
}

/** A thin fetch wrapper that parses JSON and problem+json bodies. */
export class Client {
  constructor(readonly url: string) {}

  async send(
    method: string,
    path: string,
    init: { json?: unknown; token?: string; body?: RequestInit["body"]; headers?: Record<string, string>; binary?: boolean } = {},
  ): Promise<Reply> {
    const headers: Record<string, string> = { ...init.headers };
    if (init.token !== undefined) headers.Authorization = `Bearer ${init.token}`;
    let body = init.body;
    if (init.json !== undefined) {
      headers["Content-Type"] ??= "application/json";
      body = JSON.stringify(init.json);
    }
    // What Prism would rewrite goes direct: raw bodies (multipart, malformed JSON), JSON that is not
    // an object or array (it re-encodes a bare string), HEAD (it answers with the GET's headers), and
    // answers the caller marks `binary` (images and their redirects, which Prism turns into text or a 500).
    const direct =
      init.body !== undefined ||
      init.binary === true ||
      method === "HEAD" ||
      (init.json !== undefined && (typeof init.json !== "object" || init.json === null));
    const raw = await this.fetch(method, path, headers, body, direct);
    if (OBSERVED_STATUSES_FILE) {
      // The path as it went out (dot segments resolved, no query), which is what the server routed.
      const sent = { method, path: new URL(this.url + path).pathname, status: raw.status };
      appendFileSync(OBSERVED_STATUSES_FILE, `${JSON.stringify(sent)}\n`);
    }
    return replyOf(raw);
  }

  /** Sends the request to the server, or through Prism when scripts/prism-check.ts set PRISM_URL. */
  private async fetch(method: string, path: string, headers: Record<string, string>, body: RequestInit["body"], direct: boolean) {
    if (!PRISM_URL || direct) return fetch(this.url + path, { method, headers, body, redirect: "manual" });
    const response = await fetch(PRISM_URL + path, { method, headers: { ...headers, [UPSTREAM_HEADER]: new URL(this.url).port }, body, redirect: "manual" });
    recordViolations(method, path, response);
    return response;
  }

  register(user: { name?: string; email?: string; password?: string } = {}) {
    return this.send("POST", "/register", {
      json: { name: user.name ?? "Test User", email: user.email ?? uniqueEmail(), password: user.password ?? "password123" },
    });
  }

  login(email: string, password = "password123") {
    return this.send("POST", "/login", { json: { email, password } });
  }

  /** Registers and logs in a fresh user; returns its id, email and both tokens. */
  async signUp(password = "password123") {
    const email = uniqueEmail();
    const registered = await this.register({ email, password });
    if (registered.status !== 201) throw new Error(`register failed: ${registered.status} ${JSON.stringify(registered.body)}`);
    const login = await this.login(email, password);
    if (login.status !== 200) throw new Error(`login failed: ${login.status}`);
    return { id: registered.body.id as number, email, password, token: login.body.access_token as string, refresh: login.body.refresh_token as string };
  }

  upload(token: string, bytes: Uint8Array, opts: { field?: string; filename?: string; type?: string } = {}) {
    const form = new FormData();
    form.append(opts.field ?? "image", new Blob([bytes], { type: opts.type ?? "image/jpeg" }), opts.filename ?? "photo.jpg");
    return this.send("POST", "/me/upload-image", { token, body: form });
  }
}

/** The headers every response carries, whatever its route or status: nosniff and a sane request id. */
/**
 * Until `server`'s session cache answers from memory: it waits on write transactions open at its start
 * or after a stall (src/auth/session-cache.ts). Fails after `withinMs`.
 */
export async function cacheAnswering(server: TestServer, withinMs: number): Promise<void> {
  const began = performance.now();
  while (!server.deps.sessionCache!.fresh) {
    expect(performance.now() - began).toBeLessThan(withinMs);
    await Bun.sleep(10);
  }
}

export function expectConventionHeaders(headers: Headers) {
  expect(headers.get("x-content-type-options")).toBe("nosniff");
  expect(headers.get("x-request-id")).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
}

/** Asserts the RFC 9457 shape every error must have, its status and its code, and returns the body. */
export function expectProblem(reply: Reply, status: number, code: ProblemCode) {
  const problem = reply.body;
  if (reply.status !== status || !reply.headers.get("content-type")?.startsWith("application/problem+json")) {
    throw new Error(`expected ${status} problem+json, got ${reply.status} ${reply.headers.get("content-type")}: ${JSON.stringify(problem)}`);
  }
  for (const key of ["type", "title", "status", "detail"]) {
    if (!(key in problem)) throw new Error(`problem lacks ${key}: ${JSON.stringify(problem)}`);
  }
  if (typeof problem.detail !== "string" || problem.status !== status) throw new Error(`bad problem: ${JSON.stringify(problem)}`);
  if (problem.code !== code) throw new Error(`expected code ${code}, got ${problem.code}`);
  return problem;
}

// ---------------------------------------------------------------------------------------------
// The real entry point as a child process, waited on until it listens: signals, restarts, several instances.
// ---------------------------------------------------------------------------------------------

export const MAIN = resolve(import.meta.dir, "../../src/main.ts");

export type ServiceProcess = { proc: Bun.Subprocess<"ignore", "pipe", "pipe">; url: string; output: () => Promise<string> };

/** `nofile` starts it under `ulimit -n <nofile>` (soft and hard), as a host with a low limit would. */
export async function startProcess(cwd: string, env: Record<string, string> = {}, options: { nofile?: number } = {}): Promise<ServiceProcess> {
  const command = options.nofile === undefined ? [process.execPath, MAIN] : ["sh", "-c", `ulimit -n ${options.nofile} && exec "$0" "$1"`, process.execPath, MAIN];
  const proc = Bun.spawn(command, {
    stdin: "ignore",
    cwd,
    env: { PATH: process.env.PATH ?? "", PORT: "0", METRICS_PORT: "0", HOST: "127.0.0.1", ARGON2_MEMORY_KIB: "1024", ARGON2_TIME_COST: "1", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const reader = proc.stdout.getReader();
  let output = "";
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const { done, value } = await reader.read();
    if (done) break;
    output += new TextDecoder().decode(value);
    const match = /"msg":"listening","url":"http:\/\/[^:]+:(\d+)"/.exec(output);
    if (match) {
      const rest = (async () => {
        for (;;) {
          const next = await reader.read();
          if (next.done) return output;
          output += new TextDecoder().decode(next.value);
        }
      })();
      return { proc, url: `http://127.0.0.1:${match[1]}`, output: () => rest };
    }
  }
  proc.kill();
  throw new Error(`server did not start: ${output}${await new Response(proc.stderr).text()}`);
}
