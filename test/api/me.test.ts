// The signed-in user's own profile: read, edit under the field rules, and delete.
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { png } from "../fixtures/images.ts";
import { expectProblem, serverForFile, uniqueEmail } from "../helpers/server.ts";

const server = await serverForFile();
const { client } = server;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe("GET /me", () => {
  test("200 with exactly the profile fields, never the password hash", async () => {
    const user = await client.signUp();
    const reply = await client.send("GET", "/me", { token: user.token });
    expect(reply.status).toBe(200);
    expect(Object.keys(reply.body).sort()).toEqual(["active", "bio", "created_at", "email", "email_verified", "id", "image", "image_url", "name", "role", "updated_at"]);
    expect(reply.body).toMatchObject({ id: user.id, email: user.email, image_url: null, image: null, role: "user", email_verified: false, active: true });
    expect(reply.body.created_at).toMatch(ISO);
    expect(JSON.stringify(reply.body)).not.toContain("argon2");
  });

  test("401 without a token", async () => {
    expectProblem(await client.send("GET", "/me"), 401, "invalid_token");
  });
});

describe("PUT /me", () => {
  test("updates name and bio and returns the canonical message with the profile", async () => {
    const user = await client.signUp();
    server.clock.advance(1);
    const reply = await client.send("PUT", "/me", { token: user.token, json: { name: " New Name ", bio: "Hello\nworld" } });
    expect(reply.status).toBe(200);
    expect(reply.body.message).toBe("Profile updated successfully");
    expect(reply.body.user).toMatchObject({ id: user.id, name: "New Name", bio: "Hello\nworld" });
    expect(reply.body.user.updated_at > reply.body.user.created_at).toBe(true);
    expect((await client.send("GET", "/me", { token: user.token })).body.name).toBe("New Name");
  });

  test("a bio of 500 characters is fine, 501 is not; null clears it", async () => {
    const user = await client.signUp();
    expect((await client.send("PUT", "/me", { token: user.token, json: { bio: "b".repeat(500) } })).status).toBe(200);
    expectProblem(await client.send("PUT", "/me", { token: user.token, json: { bio: "b".repeat(501) } }), 422, "validation_failed");
    const cleared = await client.send("PUT", "/me", { token: user.token, json: { bio: null } });
    expect(cleared.body.user.bio).toBe("");
  });

  const invalid: Array<[string, Record<string, unknown>, string]> = [
    ["a role that does not exist", { role: "superuser" }, "role"],
    ["id", { id: 99 }, "id"],
    ["image_url", { image_url: "http://evil.test/x.jpg" }, "image_url"],
    ["an empty name", { name: "" }, "name"],
    ["a bad email", { email: "nope", current_password: "password123" }, "email"],
    ["a short password", { password: "short", current_password: "password123" }, "password"],
    ["an empty body", {}, "body"],
    ["only current_password", { current_password: "password123" }, "body"],
  ];
  test("a user cannot make themself admin or (de)activate themself → 403, nothing changes", async () => {
    const user = await client.signUp();
    for (const json of [{ role: "admin" }, { active: false }, { name: "Sneaky", role: "admin" }]) {
      expectProblem(await client.send("PUT", "/me", { token: user.token, json }), 403, "forbidden");
    }
    const me = await client.send("GET", "/me", { token: user.token });
    expect(me.body).toMatchObject({ role: "user", active: true, name: "Test User" });
  });

  test.each(invalid)("422 for %s", async (_why, body, field) => {
    const user = await client.signUp();
    const problem = expectProblem(await client.send("PUT", "/me", { token: user.token, json: body }), 422, "validation_failed");
    expect(problem.errors.map((e: { field: string }) => e.field)).toContain(field);
  });

  test("changing the email needs the current password once the login is older than REAUTH_WINDOW_SECONDS: missing → 422, wrong → 403, right → 200", async () => {
    const user = await client.signUp();
    server.clock.advance(301);
    const email = uniqueEmail("moved");
    const missing = expectProblem(await client.send("PUT", "/me", { token: user.token, json: { email } }), 422, "validation_failed");
    expect(missing.errors[0].field).toBe("current_password");
    expectProblem(await client.send("PUT", "/me", { token: user.token, json: { email, current_password: "wrong-password" } }), 403, "forbidden");
    const ok = await client.send("PUT", "/me", { token: user.token, json: { email: email.toUpperCase(), current_password: user.password } });
    expect(ok.status).toBe(200);
    expect(ok.body.user.email).toBe(email);
    expect((await client.login(email)).status).toBe(200);
    expect((await client.send("GET", "/me", { token: user.token })).status).toBe(200);
  });

  test("changing the password needs the current password too", async () => {
    const user = await client.signUp();
    server.clock.advance(301);
    expectProblem(await client.send("PUT", "/me", { token: user.token, json: { password: "brand-new-pass" } }), 422, "validation_failed");
    expectProblem(
      await client.send("PUT", "/me", { token: user.token, json: { password: "brand-new-pass", current_password: "nope-nope" } }),
      403, "forbidden",
    );
    expect((await client.login(user.email)).status).toBe(200);
  });

  test("within REAUTH_WINDOW_SECONDS of logging in, email and password change without current_password (sudo mode)", async () => {
    const user = await client.signUp();
    server.clock.advance(290);
    const email = uniqueEmail("sudo");
    const reply = await client.send("PUT", "/me", { token: user.token, json: { email, password: "changed-in-sudo" } });
    expect(reply.status).toBe(200);
    expect(reply.body.user).toMatchObject({ email, email_verified: false });
    expect((await client.login(email, "changed-in-sudo")).status).toBe(200);
    // A refresh does not renew the window: it counts from the password check, not the token.
    const again = await client.login(email, "changed-in-sudo");
    server.clock.advance(200);
    const refreshed = await client.send("POST", "/token/refresh", { json: { refresh_token: again.body.refresh_token } });
    server.clock.advance(150);
    const late = await client.send("PUT", "/me", { token: refreshed.body.access_token, json: { password: "too-late-now" } });
    expect(expectProblem(late, 422, "validation_failed").errors[0].field).toBe("current_password");
  });

  test("moving to a taken email → 409, and nothing changes", async () => {
    const taken = await client.signUp();
    const user = await client.signUp();
    expectProblem(
      await client.send("PUT", "/me", { token: user.token, json: { email: taken.email.toUpperCase(), name: "X", current_password: user.password } }),
      409,
      "email_taken",
    );
    const me = await client.send("GET", "/me", { token: user.token });
    expect(me.body.email).toBe(user.email);
    expect(me.body.name).toBe("Test User");
  });
});

describe("DELETE /me", () => {
  test("removes the row, the refresh tokens and the picture; the old token is 401", async () => {
    const user = await client.signUp();
    expect((await client.upload(user.token, png(64, 64))).status).toBe(200);
    const file = join(server.dir, "static", "profile", (await server.deps.store.userById(user.id))!.imageSet!.full);
    expect(existsSync(file)).toBe(true);
    const reply = await client.send("DELETE", "/me", { token: user.token });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ message: "Account deleted" });
    expect(existsSync(file)).toBe(false);
    expect(await server.deps.store.userById(user.id)).toBeUndefined();
    const [{ n }] = await server.deps.store.sql`SELECT count(*) AS n FROM refresh_tokens WHERE user_id = ${user.id}`;
    expect(Number(n)).toBe(0);
    expectProblem(await client.send("GET", "/me", { token: user.token }), 401, "invalid_token");
    expectProblem(await client.login(user.email), 401, "invalid_credentials");
    expect((await fetch(`${server.url}/static/profile/${user.id}.jpg`)).status).toBe(404);
  });

  test("the email can be registered again afterwards", async () => {
    const user = await client.signUp();
    await client.send("DELETE", "/me", { token: user.token });
    expect((await client.register({ email: user.email })).status).toBe(201);
  });
});
