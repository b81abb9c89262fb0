// Rotating the HS256 signing secret on a running pair of instances (one database), one restart at a
// time as docs/operations.md says: publish the new secret second, then make it current, then retire
// the old one. At every step both instances accept every token issued so far, and nobody is signed out.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeProtectedHeader } from "jose";
import { hmacKid } from "../../src/auth/signing-key-config.ts";
import { freshDatabase, type TestDatabase } from "../helpers/database.ts";
import { Client, expectProblem, type ServiceProcess, startProcess } from "../helpers/server.ts";

const OLD = "rotation-old-secret-0123456789abcdefghijklmn";
const NEW = "rotation-new-secret-0123456789abcdefghijklmn";

const dir = mkdtempSync(join(tmpdir(), "key-rotation-"));
let database: TestDatabase | undefined;
const instances: ServiceProcess[] = [];

afterAll(async () => {
  for (const instance of instances) instance.proc.kill("SIGKILL");
  await Promise.all(instances.map((instance) => instance.proc.exited));
  await database?.drop();
  rmSync(dir, { recursive: true, force: true });
});

async function start(slot: 0 | 1, secrets: string): Promise<Client> {
  const env = { JWT_SECRET: secrets, DATABASE_URL: database!.url, RATE_LIMITS: "off", PUBLIC_BASE_URL: "http://profile.test", NODE_ENV: "test" };
  instances[slot] = await startProcess(mkdtempSync(join(dir, `${slot}-`)), env);
  return new Client(instances[slot]!.url);
}

/** A rolling restart of one instance: the other keeps serving meanwhile. */
async function restart(slot: 0 | 1, secrets: string): Promise<Client> {
  instances[slot]!.proc.kill("SIGTERM");
  await instances[slot]!.proc.exited;
  return start(slot, secrets);
}

test("HS256 secrets rotate on a running pair without signing anyone out", async () => {
  database = await freshDatabase(dir);
  let a = await start(0, OLD);
  let b = await start(1, OLD);
  const oldKid = await hmacKid(OLD);
  const newKid = await hmacKid(NEW);
  const kid = (token: string) => decodeProtectedHeader(token).kid;

  const user = await a.signUp();
  const tokens = [user.token];
  const everyTokenWorksOnBoth = async () => {
    for (const client of [a, b]) {
      for (const token of tokens) expect((await client.send("GET", "/me", { token })).status).toBe(200);
    }
  };
  const freshToken = async (client: Client) => {
    const login = await client.login(user.email, user.password);
    expect(login.status).toBe(200);
    tokens.push(login.body.access_token);
    return login.body.access_token as string;
  };
  expect(kid(user.token)).toBe(oldKid);

  // 1. Publish: the new secret is listed second, so every instance verifies with it before any signs.
  a = await restart(0, `${OLD},${NEW}`);
  await everyTokenWorksOnBoth();
  expect(kid(await freshToken(a))).toBe(oldKid);
  b = await restart(1, `${OLD},${NEW}`);
  await everyTokenWorksOnBoth();

  // 2. Switch: the new secret first. New tokens name it, and the instance not yet restarted takes them.
  a = await restart(0, `${NEW},${OLD}`);
  expect(kid(await freshToken(a))).toBe(newKid);
  await everyTokenWorksOnBoth();
  b = await restart(1, `${NEW},${OLD}`);
  expect(kid(await freshToken(b))).toBe(newKid);
  const refreshed = await b.send("POST", "/token/refresh", { json: { refresh_token: user.refresh } });
  expect(refreshed.status).toBe(200);
  expect(kid(refreshed.body.access_token)).toBe(newKid);
  tokens.push(refreshed.body.access_token);
  await everyTokenWorksOnBoth();

  // 3. Retire (after one access-token lifetime): the old secret's tokens are refused, the new ones not.
  a = await restart(0, NEW);
  for (const token of tokens) {
    if (kid(token) === oldKid) expectProblem(await a.send("GET", "/me", { token }), 401, "invalid_token");
    else expect((await a.send("GET", "/me", { token })).status).toBe(200);
  }
}, 60_000);
