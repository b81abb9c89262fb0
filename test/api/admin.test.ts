// Admins (seed 002: "users can only modify their own profiles, unless admin"): the first admin from
// ADMIN_EMAIL or the create-admin command, the user list, managing other accounts, deactivation,
// and the rule that the last active admin stays.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { png } from "../fixtures/images.ts";
import { expectProblem, MAIN, startServer, type TestServer, uniqueEmail } from "../helpers/server.ts";
import { NoLongerAdminError } from "../../src/store/index.ts";

const ADMIN = { email: "root@admins.test", password: "admin-password-1" };
let server: TestServer;
let admin: { id: number; token: string };

beforeAll(async () => {
  server = await startServer({ ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password });
  const login = await server.client.login(ADMIN.email, ADMIN.password);
  expect(login.status).toBe(200);
  const me = await server.client.send("GET", "/me", { token: login.body.access_token });
  admin = { id: me.body.id, token: login.body.access_token };
});
afterAll(() => server.close());

const as = (token: string) => ({
  get: (path: string) => server.client.send("GET", path, { token }),
  put: (path: string, json: unknown) => server.client.send("PUT", path, { token, json }),
  delete: (path: string) => server.client.send("DELETE", path, { token }),
});

describe("the first admin", () => {
  test("ADMIN_EMAIL + ADMIN_PASSWORD make a verified admin at first start", async () => {
    const me = await as(admin.token).get("/me");
    expect(me.body).toMatchObject({ email: ADMIN.email, role: "admin", email_verified: true, active: true });
  });

  test("ADMIN_EMAIL of an unverified account (a squatter's?) promotes nobody and says why; a verified one is promoted", async () => {
    await using first = await startServer({});
    const squatter = await first.client.signUp("squatter-pass");
    const url = first.deps.config.databaseUrl;
    await using second = await startServer({ DATABASE_URL: url, ADMIN_EMAIL: squatter.email, ADMIN_PASSWORD: "operator-password" });
    expect(await second.deps.store.activeAdminCount()).toBe(0);
    expect(second.logs.some((l) => l.includes("never confirmed its address"))).toBe(true);
    const me = await second.client.send("GET", "/me", { token: (await second.client.login(squatter.email, "squatter-pass")).body.access_token });
    expect(me.body.role).toBe("user");

    await second.deps.store.updateAccount(squatter.id, { emailVerified: true }, {}, Date.now());
    await using third = await startServer({ DATABASE_URL: url, ADMIN_EMAIL: squatter.email, ADMIN_PASSWORD: "operator-password" });
    expect((await third.deps.store.userById(squatter.id))?.role).toBe("admin");
  });

  test("once an admin exists, a restart with other ADMIN_* values changes nothing", async () => {
    const url = server.deps.config.databaseUrl;
    await using again = await startServer({ DATABASE_URL: url, ADMIN_EMAIL: "other@admins.test", ADMIN_PASSWORD: "another-password" });
    expectProblem(await again.client.login("other@admins.test", "another-password"), 401, "invalid_credentials");
    expect((await again.client.login(ADMIN.email, ADMIN.password)).status).toBe(200);
  });

  test("create-admin creates an admin, promotes an existing account, and is a no-op the second time", async () => {
    await using fresh = await startServer({});
    const user = await fresh.client.signUp();
    const run = async (...args: string[]) => {
      const proc = Bun.spawn([process.execPath, MAIN, "create-admin", ...args], {
        env: { PATH: process.env.PATH ?? "", DATABASE_URL: fresh.deps.config.databaseUrl, ARGON2_MEMORY_KIB: "1024", ARGON2_TIME_COST: "1" },
        stdout: "pipe",
        stderr: "pipe",
      });
      const [code, out, err] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
      return { code, out: out ? JSON.parse(out) : undefined, err };
    };
    const created = await run("--email", "Boss@Admins.test", "--password", "boss-password-1", "--name", "The Boss");
    expect(created).toMatchObject({ code: 0, out: { action: "created", email: "boss@admins.test" } });
    const boss = await fresh.client.login("boss@admins.test", "boss-password-1");
    expect((await fresh.client.send("GET", "/me", { token: boss.body.access_token })).body).toMatchObject({ role: "admin", name: "The Boss" });

    // Unverified, the account may be a stranger's who signed up with that address first.
    const refused = await run("--email", user.email);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain("never confirmed its address");
    expect((await run("--email", user.email, "--trust-unverified")).out).toMatchObject({ action: "promoted", id: user.id });
    await fresh.deps.store.updateAccount(user.id, { role: "user" }, {}, Date.now());
    await fresh.deps.store.updateAccount(user.id, { emailVerified: true }, {}, Date.now());
    expect((await run("--email", user.email)).out).toMatchObject({ action: "promoted", id: user.id });
    expect((await run("--email", user.email)).out).toMatchObject({ action: "unchanged", id: user.id });
    expect((await fresh.client.login(user.email, user.password)).status).toBe(200); // password untouched

    const missing = await run("--email", "new@admins.test");
    expect(missing.code).toBe(1);
    expect(missing.err).toContain("--password");
    expect((await run("--email", "new@admins.test", "--password", "short")).err).toContain("--password must be");
    expect((await run()).code).toBe(2);
  });
});

describe("GET /users (admin)", () => {
  test("a user → 403; no token → 401", async () => {
    const user = await server.client.signUp();
    expectProblem(await as(user.token).get("/users"), 403, "forbidden");
    expectProblem(await server.client.send("GET", "/users"), 401, "invalid_token");
  });

  test("newest first, paginated with an opaque cursor, stable while people sign up", async () => {
    const prefix = `page${Date.now()}`;
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) {
      const reply = await server.client.register({ name: `${prefix} ${i}`, email: uniqueEmail() });
      ids.push(reply.body.id);
    }
    const first = await as(admin.token).get(`/users?limit=2&q=${prefix}`);
    expect(first.body.users.map((u: { id: number }) => u.id)).toEqual([ids[4], ids[3]]);
    expect(first.body.users[0]).not.toHaveProperty("password_hash");
    // Someone signs up between pages: the next page neither repeats nor skips anyone.
    await server.client.register({ name: `${prefix} late`, email: uniqueEmail() });
    const second = await as(admin.token).get(`/users?limit=2&q=${prefix}&cursor=${first.body.next_cursor}`);
    expect(second.body.users.map((u: { id: number }) => u.id)).toEqual([ids[2], ids[1]]);
    const third = await as(admin.token).get(`/users?limit=2&q=${prefix}&cursor=${second.body.next_cursor}`);
    expect(third.body.users.map((u: { id: number }) => u.id)).toEqual([ids[0]]);
    expect(third.body.next_cursor).toBeNull();
  });

  test("q finds names that start with a non-ASCII letter", async () => {
    const tag = `${Date.now()}`;
    const emile = await server.client.register({ name: `Émile ${tag}`, email: uniqueEmail() });
    const found = await as(admin.token).get(`/users?q=${encodeURIComponent(`Émile ${tag}`)}`);
    expect(found.body.users.map((u: { id: number }) => u.id)).toEqual([emile.body.id]);
  });

  test("q matches the start of a name or an email, case-insensitively, with LIKE's wildcards taken literally", async () => {
    const tag = `zq${Date.now()}`;
    const byName = await server.client.register({ name: `${tag.toUpperCase()} Smith`, email: uniqueEmail() });
    const byEmail = await server.client.register({ name: "Someone", email: `${tag}@example.com` });
    await server.client.register({ name: `x${tag}`, email: uniqueEmail() }); // contains, does not start with
    const found = await as(admin.token).get(`/users?q=${tag}`);
    expect(found.body.users.map((u: { id: number }) => u.id).sort()).toEqual([byName.body.id, byEmail.body.id].sort());
    expect((await as(admin.token).get(`/users?q=%25`)).body.users).toEqual([]);
    expect((await as(admin.token).get(`/users?q=_`)).body.users).toEqual([]);
  });

  test.each([["limit=0"], ["limit=101"], ["limit=ten"], ["cursor=bm90LWEtY3Vyc29y"], ["cursor=%%%"], ["q=a%00b"], [`q=${"x".repeat(255)}`]])("bad %s → 422", async (query) => {
    expectProblem(await as(admin.token).get(`/users?${query}`), 422, "validation_failed");
  });
});

describe("/users/{id}: the user themself or an admin", () => {
  test("GET: self 200, someone else 403, a missing id 404 (also for non-admins), an admin 200", async () => {
    const alice = await server.client.signUp();
    const bob = await server.client.signUp();
    expect((await as(alice.token).get(`/users/${alice.id}`)).body.email).toBe(alice.email);
    expectProblem(await as(alice.token).get(`/users/${bob.id}`), 403, "forbidden");
    expectProblem(await as(alice.token).get("/users/999999"), 404, "not_found");
    expectProblem(await as(alice.token).get("/users/abc"), 404, "not_found");
    expect((await as(admin.token).get(`/users/${bob.id}`)).body.email).toBe(bob.email);
  });

  test("PUT: someone else's → 403 and nothing changes; an admin changes name, email and bio", async () => {
    const alice = await server.client.signUp();
    const bob = await server.client.signUp();
    expectProblem(await as(alice.token).put(`/users/${bob.id}`, { name: "Hacked" }), 403, "forbidden");
    expect((await as(bob.token).get("/me")).body.name).toBe("Test User");
    const email = uniqueEmail("byadmin");
    const reply = await as(admin.token).put(`/users/${bob.id}`, { name: "Robert", email, bio: "set by admin" });
    expect(reply.status).toBe(200);
    expect(reply.body.user).toMatchObject({ id: bob.id, name: "Robert", email, bio: "set by admin", email_verified: false });
    expect((await as(bob.token).get("/me")).body.email).toBe(email); // bob's session goes on
  });

  test("an admin sets a password without knowing the old one: every session of that user ends", async () => {
    const bob = await server.client.signUp();
    expect((await as(admin.token).put(`/users/${bob.id}`, { password: "set-by-the-admin" })).status).toBe(200);
    expectProblem(await as(bob.token).get("/me"), 401, "invalid_token");
    expectProblem(await server.client.send("POST", "/token/refresh", { json: { refresh_token: bob.refresh } }), 401, "invalid_token");
    expect((await server.client.login(bob.email, "set-by-the-admin")).status).toBe(200);
    expect((await as(admin.token).get("/me")).status).toBe(200); // the admin's own session is untouched
  });

  test("only admins change roles: promote, and the new admin can list users", async () => {
    const carol = await server.client.signUp();
    const dave = await server.client.signUp();
    expectProblem(await as(carol.token).put(`/users/${dave.id}`, { role: "admin" }), 403, "forbidden");
    expect((await as(admin.token).put(`/users/${carol.id}`, { role: "admin" })).body.user.role).toBe("admin");
    expect((await as(carol.token).get("/users?limit=1")).status).toBe(200);
    expect((await as(carol.token).put(`/users/${carol.id}`, { role: "user" })).body.user.role).toBe("user");
    expectProblem(await as(carol.token).get("/users"), 403, "forbidden");
  });

  test("deactivation: tokens → 401, login → 403 account_disabled (401 with a wrong password); reactivation restores login", async () => {
    const erin = await server.client.signUp();
    const off = await as(admin.token).put(`/users/${erin.id}`, { active: false });
    expect(off.body.user.active).toBe(false);
    expectProblem(await as(erin.token).get("/me"), 401, "invalid_token");
    expectProblem(await server.client.send("POST", "/token/refresh", { json: { refresh_token: erin.refresh } }), 401, "invalid_token");
    expectProblem(await server.client.login(erin.email, "wrong-password"), 401, "invalid_credentials");
    expectProblem(await server.client.login(erin.email, erin.password), 403, "account_disabled");
    expect((await as(admin.token).get(`/users/${erin.id}`)).body.active).toBe(false);
    expect((await as(admin.token).put(`/users/${erin.id}`, { active: true })).body.user.active).toBe(true);
    expect((await server.client.login(erin.email, erin.password)).status).toBe(200);
  });

  test("DELETE: someone else's → 403; an admin's → 200, the account and its picture are gone", async () => {
    const frank = await server.client.signUp();
    const grace = await server.client.signUp();
    const upload = await server.client.upload(frank.token, png(20, 20));
    const file = join(server.dir, "static", "profile", `${frank.id}.jpg`);
    expect(upload.status).toBe(200);
    expectProblem(await as(grace.token).delete(`/users/${frank.id}`), 403, "forbidden");
    expect((await as(admin.token).delete(`/users/${frank.id}`)).status).toBe(200);
    expectProblem(await server.client.login(frank.email, frank.password), 401, "invalid_credentials");
    expect(existsSync(file)).toBe(false);
    expectProblem(await as(admin.token).delete(`/users/${frank.id}`), 404, "not_found");
  });

  test("POST/DELETE /users/{id}/profile-picture: self and admin yes, others 403, missing 404", async () => {
    const heidi = await server.client.signUp();
    const ivan = await server.client.signUp();
    const form = () => {
      const body = new FormData();
      body.append("file", new Blob([png(30, 30)], { type: "image/png" }), "me.png");
      return body;
    };
    const own = await server.client.send("POST", `/users/${heidi.id}/profile-picture`, { token: heidi.token, body: form() });
    expect(own.status).toBe(200);
    expect(own.body.image_url).toContain(`/static/profile/${heidi.id}.jpg`);
    expectProblem(await server.client.send("POST", `/users/${heidi.id}/profile-picture`, { token: ivan.token, body: form() }), 403, "forbidden");
    expectProblem(await server.client.send("POST", "/users/999999/profile-picture", { token: admin.token, body: form() }), 404, "not_found");
    expect((await server.client.send("POST", `/users/${ivan.id}/profile-picture`, { token: admin.token, body: form() })).status).toBe(200);
    expect((await as(ivan.token).get("/me")).body.image_url).toContain(`/static/profile/${ivan.id}.jpg`);
    expectProblem(await server.client.send("DELETE", `/users/${ivan.id}/profile-picture`, { token: heidi.token }), 403, "forbidden");
    expect((await server.client.send("DELETE", `/users/${ivan.id}/profile-picture`, { token: admin.token })).status).toBe(200);
    expect((await as(ivan.token).get("/me")).body.image_url).toBeNull();
  });
});

describe("admin rights are checked when the change lands", () => {
  test("an admin demoted while their request was in flight cannot land it (store level: the race window)", async () => {
    const mallory = await server.client.signUp();
    const victim = await server.client.signUp();
    await as(admin.token).put(`/users/${mallory.id}`, { role: "admin" });
    await as(admin.token).put(`/users/${mallory.id}`, { role: "user" }); // demoted before her change lands
    const store = server.deps.store;
    await expect(store.updateAccount(victim.id, { name: "Owned" }, { actingAdmin: mallory.id }, Date.now())).rejects.toThrow(NoLongerAdminError);
    await expect(store.updateAccount(mallory.id, { role: "admin" }, { actingAdmin: mallory.id }, Date.now())).rejects.toThrow(NoLongerAdminError);
    await expect(store.deleteUser(victim.id, mallory.id)).rejects.toThrow(NoLongerAdminError);
    expect((await store.userById(victim.id))?.name).toBe("Test User");
    expect((await store.userById(mallory.id))?.role).toBe("user");
    // Through HTTP the same request is refused up front.
    expectProblem(await as(mallory.token).put(`/users/${victim.id}`, { name: "Owned" }), 403, "forbidden");
  });
});

describe("the last active admin stays", () => {
  test("cannot be demoted, deactivated or deleted (409 last_admin); with a second admin, it can", async () => {
    await using solo = await startServer({ ADMIN_EMAIL: "only@admins.test", ADMIN_PASSWORD: "only-admin-pass" });
    const token = (await solo.client.login("only@admins.test", "only-admin-pass")).body.access_token;
    const id = (await solo.client.send("GET", "/me", { token })).body.id;
    for (const json of [{ role: "user" }, { active: false }]) {
      expectProblem(await solo.client.send("PUT", `/users/${id}`, { token, json }), 409, "last_admin");
    }
    expectProblem(await solo.client.send("DELETE", `/users/${id}`, { token }), 409, "last_admin");
    expectProblem(await solo.client.send("DELETE", "/me", { token }), 409, "last_admin");
    expect((await solo.client.send("GET", "/me", { token })).body.role).toBe("admin");

    const other = await solo.client.signUp();
    await solo.client.send("PUT", `/users/${other.id}`, { token, json: { role: "admin" } });
    expect((await solo.client.send("PUT", `/users/${id}`, { token, json: { role: "user" } })).body.user.role).toBe("user");
    expectProblem(await solo.client.send("PUT", `/users/${other.id}`, { token: other.token, json: { role: "user" } }), 409, "last_admin");
  });

  test("two admins demoting each other at the same moment: exactly one succeeds", async () => {
    await using duo = await startServer({ ADMIN_EMAIL: "a@admins.test", ADMIN_PASSWORD: "first-admin-pass" });
    const a = (await duo.client.login("a@admins.test", "first-admin-pass")).body.access_token;
    const aId = (await duo.client.send("GET", "/me", { token: a })).body.id;
    const b = await duo.client.signUp();
    await duo.client.send("PUT", `/users/${b.id}`, { token: a, json: { role: "admin" } });
    const results = await Promise.all([
      duo.client.send("PUT", `/users/${b.id}`, { token: a, json: { role: "user" } }),
      duo.client.send("PUT", `/users/${aId}`, { token: b.token, json: { role: "user" } }),
    ]);
    // The loser is refused either as the last admin (409) or, if the winner landed first, as no
    // longer an admin at all (403).
    const statuses = results.map((r) => r.status).sort();
    expect(statuses[0]).toBe(200);
    expect([403, 409]).toContain(statuses[1]!);
    expect(await duo.deps.store.activeAdminCount()).toBe(1);
  });
});
