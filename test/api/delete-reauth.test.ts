// Deleting one's own account asks what an email or password change asks (issue 14.9): the current
// password, or a login less than REAUTH_WINDOW_SECONDS old. An admin deleting someone else is not asked.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { expectProblem, startServer, type TestServer } from "../helpers/server.ts";

const ADMIN = { email: "root@delete-reauth.test", password: "admin-password-1" };
let strict: TestServer; // REAUTH_WINDOW_SECONDS=0: every deletion of one's own account needs the password
let usual: TestServer; // the default window, 300 s

beforeAll(async () => {
  strict = await startServer({ REAUTH_WINDOW_SECONDS: "0", ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password });
  usual = await startServer({});
});
afterAll(async () => {
  await strict.close();
  await usual.close();
});

const alive = async (server: TestServer, token: string) => (await server.client.send("GET", "/me", { token })).status === 200;

// Every route that deletes the caller's own account: /me, seed 003's /users/me, and /users/{own id}.
const OWN_ACCOUNT_ROUTES: Array<[string, (id: number) => string]> = [
  ["/me", () => "/me"],
  ["/users/me", () => "/users/me"],
  ["/users/{own id}", (id) => `/users/${id}`],
];

describe.each(OWN_ACCOUNT_ROUTES)("DELETE %s with REAUTH_WINDOW_SECONDS=0", (_, path) => {
  test("no body → 422 naming current_password; the account stays", async () => {
    const user = await strict.client.signUp();
    strict.clock.advance(1);
    const reply = expectProblem(await strict.client.send("DELETE", path(user.id), { token: user.token }), 422, "validation_failed");
    expect(reply.errors).toEqual([{ field: "current_password", message: expect.stringContaining("delete the account") }]);
    expect(await alive(strict, user.token)).toBe(true);
  });

  test("a wrong current_password → 403; the account stays", async () => {
    const user = await strict.client.signUp();
    strict.clock.advance(1);
    const reply = await strict.client.send("DELETE", path(user.id), { token: user.token, json: { current_password: "not-my-password" } });
    expectProblem(reply, 403, "forbidden");
    expect(await alive(strict, user.token)).toBe(true);
  });

  test("a refresh token turned into an access token is not enough either", async () => {
    const user = await strict.client.signUp();
    strict.clock.advance(1);
    const refreshed = await strict.client.send("POST", "/token/refresh", { json: { refresh_token: user.refresh } });
    expect(refreshed.status).toBe(200);
    expectProblem(await strict.client.send("DELETE", path(user.id), { token: refreshed.body.access_token }), 422, "validation_failed");
    expect(await alive(strict, user.token)).toBe(true);
  });

  test("the right current_password → 200, and the account is gone", async () => {
    const user = await strict.client.signUp();
    strict.clock.advance(1);
    const reply = await strict.client.send("DELETE", path(user.id), { token: user.token, json: { current_password: user.password } });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ message: "Account deleted" });
    expect(await alive(strict, user.token)).toBe(false);
    expect((await strict.client.login(user.email, user.password)).status).toBe(401);
  });
});

describe("DELETE /me: the body", () => {
  test.each([
    ["not JSON", { body: "{", headers: { "Content-Type": "application/json" } }, 400, "bad_request"],
    ["not a JSON content type", { body: "current_password=x", headers: { "Content-Type": "text/plain" } }, 415, "unsupported_media_type"],
    ["an unknown field", { json: { password: "password123" } }, 422, "validation_failed"],
    ["an empty current_password", { json: { current_password: "" } }, 422, "validation_failed"],
  ] as const)("%s → %s, and the account stays", async (_, init, status, code) => {
    const user = await strict.client.signUp();
    expectProblem(await strict.client.send("DELETE", "/me", { token: user.token, ...init }), status, code);
    expect(await alive(strict, user.token)).toBe(true);
  });
});

describe("within REAUTH_WINDOW_SECONDS of logging in (sudo mode)", () => {
  test("DELETE /me needs no body; once the window has passed it needs the password", async () => {
    const early = await usual.client.signUp();
    usual.clock.advance(290);
    expect((await usual.client.send("DELETE", "/me", { token: early.token })).status).toBe(200);
    expect(await alive(usual, early.token)).toBe(false);

    // Some clients send a Content-Type on every request, body or not.
    const typed = await usual.client.signUp();
    const empty = await usual.client.send("DELETE", "/me", { token: typed.token, body: "", headers: { "Content-Type": "application/json" } });
    expect(empty.status).toBe(200);

    const late = await usual.client.signUp();
    usual.clock.advance(301);
    expectProblem(await usual.client.send("DELETE", "/users/me", { token: late.token }), 422, "validation_failed");
    expect((await usual.client.send("DELETE", "/users/me", { token: late.token, json: { current_password: late.password } })).status).toBe(200);
  });
});

describe("an admin deleting someone else's account", () => {
  test("is not asked for a password, even with REAUTH_WINDOW_SECONDS=0", async () => {
    const login = await strict.client.login(ADMIN.email, ADMIN.password);
    expect(login.status).toBe(200);
    strict.clock.advance(1);
    const victim = await strict.client.signUp();
    expect((await strict.client.send("DELETE", `/users/${victim.id}`, { token: login.body.access_token })).status).toBe(200);
    expect(await alive(strict, victim.token)).toBe(false);
  });
});
