// Registration, login, refresh and logout through real HTTP, as the contract states them.
import { describe, expect, test } from "bun:test";
import { expectProblem, serverForFile, startServer, uniqueEmail } from "../helpers/server.ts";

const server = await serverForFile();
const { client } = server;

describe("POST /register", () => {
  test("201 with the new id and the canonical message", async () => {
    const reply = await client.register({ name: "John Doe", email: uniqueEmail("john") });
    expect(reply.status).toBe(201);
    expect(reply.body).toEqual({ id: expect.any(Number), message: "User registered successfully" });
  });

  test("the email is trimmed, lower-cased and unique case-insensitively (409)", async () => {
    const email = uniqueEmail("Case");
    expect((await client.register({ email: `  ${email.toUpperCase()} ` })).status).toBe(201);
    const me = await client.login(email);
    expect(me.status).toBe(200);
    const profile = await client.send("GET", "/me", { token: me.body.access_token });
    expect(profile.body.email).toBe(email.toLowerCase());
    expectProblem(await client.register({ email: email.toLowerCase() }), 409, "email_taken");
  });

  const invalid: Array<[string, Record<string, unknown>, string]> = [
    ["empty name", { name: "   " }, "name"],
    ["101-character name", { name: "x".repeat(101) }, "name"],
    ["control character in name", { name: "bad\u0007name" }, "name"],
    ["number as name", { name: 42 }, "name"],
    ["email without a domain", { email: "john@" }, "email"],
    ["email without a tld", { email: "john@localhost" }, "email"],
    ["email with spaces inside", { email: "jo hn@example.com" }, "email"],
    ["email over 254 characters", { email: `${"a".repeat(64)}@${"b".repeat(190)}.com` }, "email"],
    ["7-character password", { password: "1234567" }, "password"],
    ["257-character password", { password: "p".repeat(257) }, "password"],
    ["mass-assigned role", { role: "admin" }, "role"],
    ["mass-assigned id", { id: 1 }, "id"],
    ["mass-assigned image_url", { image_url: "http://evil/x.jpg" }, "image_url"],
  ];
  test.each(invalid)("422 for %s, naming the field", async (_why, override, field) => {
    const body = { name: "Valid Name", email: uniqueEmail(), password: "password123", ...override };
    const problem = expectProblem(await client.send("POST", "/register", { json: body }), 422, "validation_failed");
    expect(problem.errors.map((e: { field: string }) => e.field)).toContain(field);
  });

  test("a missing body field is listed with every other problem at once", async () => {
    const problem = expectProblem(await client.send("POST", "/register", { json: { email: "nope" } }), 422, "validation_failed");
    expect(problem.errors.map((e: { field: string }) => e.field).sort()).toEqual(["email", "name", "password"]);
  });

  test("the name is trimmed and bios start empty", async () => {
    const email = uniqueEmail();
    await client.register({ name: "  Ada Lovelace  ", email });
    const token = (await client.login(email)).body.access_token;
    const me = await client.send("GET", "/me", { token });
    expect(me.body).toMatchObject({ name: "Ada Lovelace", bio: "", image_url: null, role: "user" });
  });

  test("20 parallel registrations of one email give exactly one 201 and nineteen 409s", async () => {
    const email = uniqueEmail("race");
    const replies = await Promise.all(Array.from({ length: 20 }, () => client.register({ email })));
    const statuses = replies.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(19);
  });
});

describe("POST /login", () => {
  test("200 with a bearer token pair and its lifetime", async () => {
    const email = uniqueEmail();
    await client.register({ email });
    const reply = await client.login(email);
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({
      access_token: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/),
      token_type: "bearer",
      expires_in: 900,
      refresh_token: expect.any(String),
    });
    expect(reply.headers.get("cache-control")).toBe("no-store");
  });

  test("the access token carries sub, user_id, iat, exp, jti and a version", async () => {
    const user = await client.signUp();
    const claims = JSON.parse(Buffer.from(user.token.split(".")[1]!, "base64url").toString());
    expect(claims).toMatchObject({ sub: String(user.id), user_id: user.id, ver: 0 });
    expect(claims.exp - claims.iat).toBe(900);
    expect(typeof claims.jti).toBe("string");
  });

  test("unknown email and wrong password get one identical 401", async () => {
    const user = await client.signUp();
    const wrongPassword = await client.login(user.email, "not-the-password");
    const unknownEmail = await client.login(uniqueEmail("ghost"), "not-the-password");
    expectProblem(wrongPassword, 401, "invalid_credentials");
    expect(wrongPassword.headers.get("www-authenticate")).toStartWith("Bearer");
    expect(unknownEmail.status).toBe(401);
    expect(unknownEmail.body).toEqual(wrongPassword.body);
    expect(unknownEmail.headers.get("www-authenticate")).toBe(wrongPassword.headers.get("www-authenticate"));
  });

  test("an email no account can have (a NUL byte, which PostgreSQL text refuses) is just an unknown email → 401", async () => {
    // Found by test/fuzz/requests.test.ts on PostgreSQL, where the lookup itself failed with a 500.
    expectProblem(await client.login("a\u0000b@example.com", "not-the-password"), 401, "invalid_credentials");
    const form = new URLSearchParams({ username: "\u0000", password: "x" }).toString();
    const reply = await client.send("POST", "/login", { body: form, headers: { "Content-Type": "application/x-www-form-urlencoded" } });
    expectProblem(reply, 401, "invalid_credentials");
  });

  test("the email is matched case-insensitively", async () => {
    const user = await client.signUp();
    expect((await client.login(user.email.toUpperCase())).status).toBe(200);
  });

  test("the OAuth2 password form works (username = email)", async () => {
    const user = await client.signUp();
    const form = new URLSearchParams({ grant_type: "password", username: user.email, password: user.password });
    const reply = await client.send("POST", "/login", {
      body: form.toString(),
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
    });
    expect(reply.status).toBe(200);
    expect(reply.body.token_type).toBe("bearer");
  });

  test("422 when the password or the email is missing", async () => {
    expectProblem(await client.send("POST", "/login", { json: { email: "a@b.co" } }), 422, "validation_failed");
    expectProblem(await client.send("POST", "/login", { json: { password: "password123" } }), 422, "validation_failed");
  });
});

describe("POST /token/refresh", () => {
  test("returns a new pair and the old refresh token is spent", async () => {
    const user = await client.signUp();
    const first = await client.send("POST", "/token/refresh", { json: { refresh_token: user.refresh } });
    expect(first.status).toBe(200);
    expect(first.body.refresh_token).not.toBe(user.refresh);
    expect((await client.send("GET", "/me", { token: first.body.access_token })).status).toBe(200);
    const second = await client.send("POST", "/token/refresh", { json: { refresh_token: first.body.refresh_token } });
    expect(second.status).toBe(200);
  });

  test("replaying a spent token after the reuse window → 401 and revokes its whole family", async () => {
    const user = await client.signUp();
    const rotated = await client.send("POST", "/token/refresh", { json: { refresh_token: user.refresh } });
    server.clock.advance(11); // REFRESH_TOKEN_REUSE_SECONDS is 10 (test/api/refresh-reuse.test.ts covers the window)
    const replay = await client.send("POST", "/token/refresh", { json: { refresh_token: user.refresh } });
    expectProblem(replay, 401, "invalid_token");
    // The legitimate successor dies with the family: the thief and the victim both have to log in again.
    const successor = await client.send("POST", "/token/refresh", { json: { refresh_token: rotated.body.refresh_token } });
    expectProblem(successor, 401, "invalid_token");
  });

  test("another login's family is untouched by a replay", async () => {
    const user = await client.signUp();
    const other = await client.login(user.email);
    await client.send("POST", "/token/refresh", { json: { refresh_token: user.refresh } });
    server.clock.advance(11);
    expectProblem(await client.send("POST", "/token/refresh", { json: { refresh_token: user.refresh } }), 401, "invalid_token");
    expect((await client.send("POST", "/token/refresh", { json: { refresh_token: other.body.refresh_token } })).status).toBe(200);
  });

  test("concurrent use of one token (two tabs): each gets a pair that works, in the same session", async () => {
    const user = await client.signUp();
    const replies = await Promise.all(
      Array.from({ length: 5 }, () => client.send("POST", "/token/refresh", { json: { refresh_token: user.refresh } })),
    );
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    for (const reply of replies) {
      expect((await client.send("GET", "/me", { token: reply.body.access_token })).status).toBe(200);
      expect((await client.send("POST", "/token/refresh", { json: { refresh_token: reply.body.refresh_token } })).status).toBe(200);
    }
  });

  const bad: Array<[string, unknown]> = [
    ["garbage", "not-a-token"],
    ["a well-shaped unknown token", `${"A".repeat(22)}.${"B".repeat(43)}`],
    ["an access token", "eyJhbGciOiJIUzI1NiJ9.e30.c2ln"],
  ];
  test.each(bad)("401 for %s", async (_why, token) => {
    expectProblem(await client.send("POST", "/token/refresh", { json: { refresh_token: token } }), 401, "invalid_token");
  });

  test("a right id with a wrong secret → 401 and does not revoke the real session", async () => {
    const user = await client.signUp();
    const [id] = user.refresh.split(".");
    const forged = `${id}.${"x".repeat(43)}`;
    expectProblem(await client.send("POST", "/token/refresh", { json: { refresh_token: forged } }), 401, "invalid_token");
    expect((await client.send("POST", "/token/refresh", { json: { refresh_token: user.refresh } })).status).toBe(200);
  });

  test("an expired refresh token → 401", async () => {
    await using isolated = await startServer({ REFRESH_TOKEN_TTL_SECONDS: "120" });
    const user = await isolated.client.signUp();
    isolated.clock.advance(121);
    expectProblem(await isolated.client.send("POST", "/token/refresh", { json: { refresh_token: user.refresh } }), 401, "invalid_token");
  });

  test("422 without a refresh_token", async () => {
    expectProblem(await client.send("POST", "/token/refresh", { json: {} }), 422, "validation_failed");
  });
});

describe("POST /logout", () => {
  test("204 and the refresh token no longer works", async () => {
    const user = await client.signUp();
    const reply = await client.send("POST", "/logout", { json: { refresh_token: user.refresh } });
    expect(reply.status).toBe(204);
    expect(reply.body).toBe("");
    expectProblem(await client.send("POST", "/token/refresh", { json: { refresh_token: user.refresh } }), 401, "invalid_token");
  });

  test("204 for an unknown token too: logout reveals nothing", async () => {
    expect((await client.send("POST", "/logout", { json: { refresh_token: "whatever" } })).status).toBe(204);
  });

  test("a bearer alone, no body → 204 and that session is over; another session of the user is not", async () => {
    const user = await client.signUp();
    const other = await client.login(user.email);
    const reply = await client.send("POST", "/logout", { token: user.token });
    expect(reply.status).toBe(204);
    expectProblem(await client.send("GET", "/me", { token: user.token }), 401, "invalid_token");
    expectProblem(await client.send("POST", "/token/refresh", { json: { refresh_token: user.refresh } }), 401, "invalid_token");
    expect((await client.send("GET", "/me", { token: other.body.access_token })).status).toBe(200);
  });

  test("neither a bearer nor a refresh token → 401 with a bare challenge (no body, or an empty one)", async () => {
    for (const init of [{}, { json: {} }]) {
      const reply = await client.send("POST", "/logout", init);
      expectProblem(reply, 401, "invalid_token");
      expect(reply.headers.get("www-authenticate")).toBe('Bearer realm="api"');
    }
  });

  test("a bad or spent bearer alone → 401 invalid_token", async () => {
    const user = await client.signUp();
    expectProblem(await client.send("POST", "/logout", { token: "not.a.token" }), 401, "invalid_token");
    expect((await client.send("POST", "/logout", { token: user.token })).status).toBe(204);
    expectProblem(await client.send("POST", "/logout", { token: user.token }), 401, "invalid_token");
  });

  test("a refresh token with a stale bearer still logs out (204): the client's session must be able to end", async () => {
    const user = await client.signUp();
    const stale = await client.signUp();
    expect((await client.send("POST", "/logout", { token: stale.token })).status).toBe(204);
    const reply = await client.send("POST", "/logout", { token: stale.token, json: { refresh_token: user.refresh } });
    expect(reply.status).toBe(204);
    expectProblem(await client.send("POST", "/token/refresh", { json: { refresh_token: user.refresh } }), 401, "invalid_token");
  });

  test("a bearer and a refresh token of two sessions end both", async () => {
    const user = await client.signUp();
    const other = await client.login(user.email);
    expect((await client.send("POST", "/logout", { token: user.token, json: { refresh_token: other.body.refresh_token } })).status).toBe(204);
    expectProblem(await client.send("GET", "/me", { token: user.token }), 401, "invalid_token");
    expectProblem(await client.send("GET", "/me", { token: other.body.access_token }), 401, "invalid_token");
  });

  test("a body that is not JSON is still 415", async () => {
    const reply = await client.send("POST", "/logout", { body: "refresh_token=x", headers: { "Content-Type": "text/plain" } });
    expectProblem(reply, 415, "unsupported_media_type");
  });
});

describe("unicode in names and emails", () => {
  const refused: Array<[string, string]> = [
    ["a NUL byte", "a\u0000b@example.com"],
    ["DEL", "x\u007fy@example.com"],
    ["a right-to-left override", "ab\u202ec@example.com"],
    ["a zero-width space", "ab\u200bc@example.com"],
    ["a lone surrogate", "ab\ud800c@example.com"],
  ];
  test.each(refused)("an email with %s → 422", async (_why, email) => {
    const problem = expectProblem(await client.register({ email }), 422, "validation_failed");
    expect(problem.errors[0].field).toBe("email");
  });

  test("composed and decomposed spellings of one email are one account", async () => {
    const stamp = Date.now();
    expect((await client.register({ email: `jos\u00e9${stamp}@example.com` })).status).toBe(201);
    expectProblem(await client.register({ email: `jose\u0301${stamp}@example.com` }), 409, "email_taken");
    expect((await client.login(`JOSE\u0301${stamp}@example.com`)).status).toBe(200);
  });

  test("lower-casing can decompose: H + U+0331 and its lower-case ẖ (U+1E96) are one account", async () => {
    // Found by test/fuzz/validate.test.ts: there is no upper-case ẖ, so NFC before lower-casing alone kept two spellings.
    const stamp = Date.now();
    expect((await client.register({ email: `H\u0331${stamp}@example.com` })).status).toBe(201);
    expectProblem(await client.register({ email: `\u1e96${stamp}@example.com` }), 409, "email_taken");
    expect((await client.login(`\u1e96${stamp}@example.com`)).status).toBe(200);
    expect((await client.login(`H\u0331${stamp}@example.com`)).status).toBe(200);
  });

  test("a name is measured after normalisation: 100 decomposed characters that compose to more are refused", async () => {
    // U+1D160 (musical eighth note) decomposes to three code points under NFC.
    expectProblem(await client.register({ name: "\u{1D160}".repeat(100) }), 422, "validation_failed");
    expect((await client.register({ name: "\u{1D160}".repeat(33) })).status).toBe(201);
  });
});
