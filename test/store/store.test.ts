// The store's contract with the rest of the service: its failures are coded errors that the one
// problem table maps, its SQL stays inside src/store/, and the first admin is made one way.
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { toHttpError } from "../../src/http/problem.ts";
import { EmailTakenError, isUnavailable, LastAdminError, NoLongerAdminError, StoreUnavailableError } from "../../src/store/index.ts";
import { MAIN, startServer } from "../helpers/server.ts";

test("the store's errors map to problems through toHttpError alone", () => {
  const cases = [
    [new EmailTakenError(), 409, "email_taken"],
    [new LastAdminError(), 409, "last_admin"],
    [new NoLongerAdminError(), 403, "forbidden"],
    [new StoreUnavailableError(Object.assign(new Error("refused"), { code: "ECONNREFUSED" })), 503, "service_unavailable"],
  ] as const;
  for (const [error, status, code] of cases) {
    const http = toHttpError(error);
    expect([http.status, http.code]).toEqual([status, code]);
  }
  const unavailable = toHttpError(new StoreUnavailableError(new Error("x")));
  expect(unavailable.options.headers?.["Retry-After"]).toBe("2");
  expect(isUnavailable(new StoreUnavailableError(new Error("x")))).toBe(true);
  expect(isUnavailable(Object.assign(new Error("busy"), { code: "SQLITE_BUSY" }))).toBe(true);
  expect(isUnavailable(Object.assign(new Error("syntax"), { code: "SQLITE_ERROR" }))).toBe(false);
});

test("no file outside src/store/ writes SQL", () => {
  const root = join(import.meta.dir, "../../src");
  const offenders: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (path !== join(root, "store")) walk(path);
      } else if (entry.name.endsWith(".ts") && /\b(sql|tx)`|\.unsafe\(|\b(SELECT .* FROM|INSERT INTO|UPDATE \w+ SET|DELETE FROM)\b/.test(readFileSync(path, "utf8"))) {
        offenders.push(path.slice(root.length + 1));
      }
    }
  };
  walk(root);
  expect(offenders).toEqual([]);
});

test("ADMIN_EMAIL is normalised as registration and create-admin normalise it, so the admin can log in", async () => {
  // A decomposed "é" and capitals: registration stores NFC, lower case; login normalises the same way.
  const spelt = " Jose\u0301@Admins.Test ";
  await using server = await startServer({ ADMIN_EMAIL: spelt, ADMIN_PASSWORD: "operator-password" });
  const login = await server.client.login("josé@admins.test", "operator-password");
  expect(login.status).toBe(200);
  const me = await server.client.send("GET", "/me", { token: login.body.access_token });
  expect(me.body).toMatchObject({ email: "josé@admins.test", role: "admin" });
  // The CLI, given the same spelling, finds that account instead of making a second one.
  const proc = Bun.spawn([process.execPath, MAIN, "create-admin", "--email", spelt], {
    env: { PATH: process.env.PATH ?? "", DATABASE_URL: server.deps.config.databaseUrl },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  expect({ code, err }).toEqual({ code: 0, err: "" });
  expect(JSON.parse(out)).toMatchObject({ action: "unchanged", id: me.body.id, email: "josé@admins.test" });
});
