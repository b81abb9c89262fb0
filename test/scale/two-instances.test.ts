// Two server processes on one PostgreSQL, one S3-protocol server and one Redis, as behind a load
// balancer: whatever one instance does, the other sees at once.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { png } from "../fixtures/images.ts";
import { freshDatabase, type TestDatabase } from "../helpers/database.ts";
import { Client, expectProblem, type ServiceProcess, startProcess, uniqueEmail } from "../helpers/server.ts";
import { freshBucket } from "../helpers/s3.ts";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp.ts";

const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

let dir: string;
let database: TestDatabase;
let one: ServiceProcess;
let two: ServiceProcess;
let a: Client;
let b: Client;
let smtp: SmtpSink;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "two-instances-"));
  database = await freshDatabase(dir, "postgres");
  expect(database.url).toStartWith("postgres://");
  smtp = await startSmtpSink();
  const env = {
    SMTP_URL: smtp.url,
    NODE_ENV: "production",
    JWT_SECRET: "two-instance-test-secret-0123456789abcdef",
    DATABASE_URL: database.url,
    REDIS_URL,
    REDIS_KEY_PREFIX: `test:${crypto.randomUUID()}:`,
    RATE_LIMIT_LOGIN_ACCOUNT: "4/60",
    ...(await freshBucket()),
  };
  // Started together: the migration lock makes them take turns on the empty schema.
  [one, two] = await Promise.all([startProcess(mkdtempSync(join(dir, "a-")), env), startProcess(mkdtempSync(join(dir, "b-")), env)]);
  a = new Client(one.url);
  b = new Client(two.url);
}, 30_000);

afterAll(async () => {
  for (const instance of [one, two]) instance?.proc.kill("SIGTERM");
  await Promise.all([one?.proc.exited, two?.proc.exited]);
  // Only now: the sink waits for open connections, and the instances' mail pool holds some.
  await smtp?.close();
  await database?.drop();
  rmSync(dir, { recursive: true, force: true });
});

describe("two instances, one truth", () => {
  test("a token issued by one works on the other", async () => {
    const user = await a.signUp();
    const me = await b.send("GET", "/me", { token: user.token });
    expect(me.status).toBe(200);
    expect(me.body.email).toBe(user.email);
  });

  test("a picture uploaded through one is served through the other", async () => {
    const user = await a.signUp();
    const upload = await a.upload(user.token, png(48, 32));
    expect(upload.status).toBe(200);
    const seen = await b.send("GET", "/me", { token: user.token });
    // Pictures are public and the bucket private: the service serves them, whichever instance.
    const { pathname, search } = new URL(seen.body.image_url);
    expect(pathname).toBe(`/static/profile/${user.id}.jpg`);
    const direct = await fetch(one.url + pathname + search);
    expect(direct.status).toBe(200);
    const viaOther = await fetch(`${two.url}/static/profile/${user.id}.jpg`);
    expect(viaOther.status).toBe(200);
    expect((await new Bun.Image(new Uint8Array(await viaOther.arrayBuffer())).metadata()).width).toBe(48);
  });

  test("logout on one revokes on the other", async () => {
    const user = await a.signUp();
    expect((await a.send("POST", "/logout", { json: { refresh_token: user.refresh } })).status).toBe(204);
    expectProblem(await b.send("GET", "/me", { token: user.token }), 401, "invalid_token");
    expectProblem(await b.send("POST", "/token/refresh", { json: { refresh_token: user.refresh } }), 401, "invalid_token");
  });

  test("a password change on one revokes the other sessions on the other", async () => {
    const user = await a.signUp();
    const elsewhere = await b.login(user.email);
    const change = await a.send("PUT", "/me", { token: user.token, json: { password: "changed-password", current_password: user.password } });
    expect(change.status).toBe(200);
    expectProblem(await b.send("GET", "/me", { token: elsewhere.body.access_token }), 401, "invalid_token");
    expectProblem(await b.send("POST", "/token/refresh", { json: { refresh_token: elsewhere.body.refresh_token } }), 401, "invalid_token");
    expect((await b.send("GET", "/me", { token: change.body.access_token })).status).toBe(200);
  });

  test("20 registrations of one email spread over both give exactly one 201", async () => {
    const email = uniqueEmail("both");
    const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).register({ email })));
    const statuses = replies.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(19);
  });

  test("the login rate limit is counted across both", async () => {
    const user = await a.signUp();
    for (let i = 0; i < 4; i++) expectProblem(await (i % 2 ? a : b).login(user.email, "wrong-password"), 401, "invalid_credentials");
    expectProblem(await a.login(user.email, user.password), 429, "rate_limited");
    expectProblem(await b.login(user.email, user.password), 429, "rate_limited");
  });
});
