// Email verification and password reset, end to end: every message is read from a real SMTP
// server on 127.0.0.1 and its link followed through the HTTP API.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sendVerification } from "../../src/accounts/mail-links.ts";
import { startSmtpSink, tokenFrom, type SmtpSink } from "../helpers/smtp.ts";
import { expectProblem, startServer, uniqueEmail, type TestServer } from "../helpers/server.ts";

let smtp: SmtpSink;
let server: TestServer;
const FROM = "Profiles <accounts@profiles.test>";

beforeAll(async () => {
  // With credentials, so the test also proves SMTP_URL's user and password reach the server.
  smtp = await startSmtpSink({ user: "mailer", pass: "s3cret pass" });
  server = await startServer({ SMTP_URL: smtp.url, MAIL_FROM: FROM });
});
afterAll(async () => {
  await server.close();
  await smtp.close();
});

async function registered(email = uniqueEmail("acct")) {
  const reply = await server.client.register({ email });
  expect(reply.status).toBe(201);
  return { id: reply.body.id as number, email, password: "password123" };
}

const me = async (token: string) => (await server.client.send("GET", "/me", { token })).body;

describe("email verification", () => {
  test("registration mails a link (text and HTML, from MAIL_FROM); POST /email/verify marks email_verified, once", async () => {
    const user = await registered();
    const mail = await smtp.next(user.email);
    expect(mail.subject).toBe("Confirm your email address");
    expect(mail.from).toBe("accounts@profiles.test");
    expect(mail.raw).toMatch(/Content-Type: text\/plain/);
    expect(mail.raw).toMatch(/Content-Type: text\/html/);
    expect(mail.text).toContain("http://pictures.test/verify-email?token=");
    const login = await server.client.login(user.email);
    expect((await me(login.body.access_token)).email_verified).toBe(false);

    const verified = await server.client.send("POST", "/email/verify", { json: { token: tokenFrom(mail) } });
    expect(verified.status).toBe(200);
    expect(verified.body).toMatchObject({ email: user.email, email_verified: true });
    expect((await me(login.body.access_token)).email_verified).toBe(true);
    expectProblem(await server.client.send("POST", "/email/verify", { json: { token: tokenFrom(mail) } }), 400, "link_invalid");
  });

  test("a link past EMAIL_VERIFICATION_TTL_SECONDS (24 h) → 400, and the address stays unverified", async () => {
    const user = await registered();
    const token = tokenFrom(await smtp.next(user.email));
    server.clock.advance(24 * 3600 + 1);
    expectProblem(await server.client.send("POST", "/email/verify", { json: { token } }), 400, "link_invalid");
    const login = await server.client.login(user.email);
    expect((await me(login.body.access_token)).email_verified).toBe(false);
  });

  test.each([["garbage"], ["A".repeat(22) + "." + "B".repeat(43)], [""]])("a token that is not ours (%s) → 4xx, never 5xx", async (token) => {
    const reply = await server.client.send("POST", "/email/verify", { json: { token } });
    expect([400, 422]).toContain(reply.status);
  });

  test("a reset link is not a verification link, nor the other way round", async () => {
    const user = await registered();
    const verifyToken = tokenFrom(await smtp.next(user.email));
    await server.client.send("POST", "/password/forgot", { json: { email: user.email } });
    const resetToken = tokenFrom(await smtp.next(user.email));
    expectProblem(await server.client.send("POST", "/email/verify", { json: { token: resetToken } }), 400, "link_invalid");
    expectProblem(await server.client.send("POST", "/password/reset", { json: { token: verifyToken, new_password: "another-pass-1" } }), 400, "link_invalid");
  });

  test("POST /email/verify/resend with a bearer token → 202 and a fresh link that works", async () => {
    const user = await registered();
    await smtp.next(user.email);
    const login = await server.client.login(user.email);
    const resent = await server.client.send("POST", "/email/verify/resend", { token: login.body.access_token });
    expect(resent.status).toBe(202);
    const token = tokenFrom(await smtp.next(user.email));
    expect((await server.client.send("POST", "/email/verify", { json: { token } })).status).toBe(200);
    // Already verified: still 202, but nothing is sent.
    expect((await server.client.send("POST", "/email/verify/resend", { token: login.body.access_token })).status).toBe(202);
    await server.deps.outbox.idle();
    await expect(smtp.next(user.email, 300)).rejects.toThrow(/no mail/);
  });

  test("resend without a token takes {email}: 202 either way, mail only to an unverified account", async () => {
    const user = await registered();
    await smtp.next(user.email);
    const known = await server.client.send("POST", "/email/verify/resend", { json: { email: user.email } });
    const unknown = await server.client.send("POST", "/email/verify/resend", { json: { email: uniqueEmail("nobody") } });
    expect([known.status, unknown.status]).toEqual([202, 202]);
    expect(known.body).toEqual(unknown.body);
    expect(tokenFrom(await smtp.next(user.email))).toMatch(/\./);
  });

  test("changing the email: unverified again, a link to the new address, a notice to the old; the old link is dead", async () => {
    const user = await registered();
    const oldLink = tokenFrom(await smtp.next(user.email));
    const login = await server.client.login(user.email);
    const moved = uniqueEmail("moved");
    const reply = await server.client.send("PUT", "/me", { token: login.body.access_token, json: { email: moved, current_password: user.password } });
    expect(reply.body.user).toMatchObject({ email: moved, email_verified: false });
    const notice = await smtp.next(user.email);
    expect(notice.subject).toBe("Your email address was changed");
    expect(notice.text).toContain(moved);
    const newLink = tokenFrom(await smtp.next(moved));
    expectProblem(await server.client.send("POST", "/email/verify", { json: { token: oldLink } }), 400, "link_invalid");
    expect((await server.client.send("POST", "/email/verify", { json: { token: newLink } })).status).toBe(200);
    expect((await me(login.body.access_token)).email_verified).toBe(true);
  });
});

describe("password reset", () => {
  test("POST /password/forgot → 202 with the same body for a known and an unknown address; only the known one gets mail", async () => {
    const user = await registered();
    await smtp.next(user.email);
    const nobody = uniqueEmail("nobody");
    const known = await server.client.send("POST", "/password/forgot", { json: { email: user.email } });
    const unknown = await server.client.send("POST", "/password/forgot", { json: { email: nobody } });
    expect([known.status, unknown.status]).toEqual([202, 202]);
    expect(known.body).toEqual(unknown.body);
    expect(Object.fromEntries(known.headers)).toMatchObject({ "content-type": unknown.headers.get("content-type")! });
    const mail = await smtp.next(user.email);
    expect(mail.subject).toBe("Reset your password");
    expect(mail.text).toContain("http://pictures.test/reset-password?token=");
    await server.deps.outbox.idle();
    expect(smtp.messages.some((m) => m.to.includes(nobody))).toBe(false);
  });

  test("the lookup happens after the answer: a slow lookup does not slow the response", async () => {
    const store = server.deps.store;
    const original = store.userByEmail;
    // Synchronous, like a bun:sqlite query: if it ran before the answer, the answer would wait.
    store.userByEmail = (email: string) => {
      const until = performance.now() + 60;
      while (performance.now() < until);
      return original.call(store, email);
    };
    try {
      server.logs.length = 0;
      expect((await server.client.send("POST", "/password/forgot", { json: { email: uniqueEmail("slow") } })).status).toBe(202);
      await server.deps.outbox.idle();
      const line = server.logs.map((l) => JSON.parse(l)).find((l) => l.route === "/password/forgot");
      expect(line.duration_ms).toBeLessThan(30);
    } finally {
      store.userByEmail = original;
    }
  });

  test("no measurable timing difference between a known and an unknown address (the server's own clock)", async () => {
    const user = await registered();
    await smtp.next(user.email);
    const durations: Record<"known" | "unknown", number[]> = { known: [], unknown: [] };
    for (let i = 0; i < 40; i++) {
      for (const kind of ["known", "unknown"] as const) {
        server.logs.length = 0;
        const email = kind === "known" ? user.email : uniqueEmail("ghost");
        expect((await server.client.send("POST", "/password/forgot", { json: { email } })).status).toBe(202);
        // Each request alone: the previous one's mail must not run into this one's timing.
        await server.deps.outbox.idle();
        durations[kind].push(server.logs.map((l) => JSON.parse(l)).find((l) => l.route === "/password/forgot").duration_ms);
      }
    }
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    // Before the lookup moved behind the answer, the known address was slower by its SQLite lookup
    // and token insert (about half a millisecond here, measured by the review).
    expect(Math.abs(median(durations.known) - median(durations.unknown))).toBeLessThan(0.25);
  });

  test("the link sets a new password, once, and ends every session and refresh token", async () => {
    const user = await registered();
    await smtp.next(user.email);
    const sessions = [await server.client.login(user.email), await server.client.login(user.email)];
    await server.client.send("POST", "/password/forgot", { json: { email: user.email } });
    const token = tokenFrom(await smtp.next(user.email));

    const reset = await server.client.send("POST", "/password/reset", { json: { token, new_password: "a-brand-new-password" } });
    expect(reset.status).toBe(200);
    for (const session of sessions) {
      expectProblem(await server.client.send("GET", "/me", { token: session.body.access_token }), 401, "invalid_token");
      expectProblem(await server.client.send("POST", "/token/refresh", { json: { refresh_token: session.body.refresh_token } }), 401, "invalid_token");
    }
    expectProblem(await server.client.login(user.email), 401, "invalid_credentials");
    const fresh = await server.client.login(user.email, "a-brand-new-password");
    expect(fresh.status).toBe(200);
    // The link reached the inbox, so the address is proven too.
    expect((await me(fresh.body.access_token)).email_verified).toBe(true);
    expectProblem(await server.client.send("POST", "/password/reset", { json: { token, new_password: "yet-another-pass" } }), 400, "link_invalid");
  });

  test("a link expires after 30 minutes; asking again gives a working one", async () => {
    const user = await registered();
    await smtp.next(user.email);
    await server.client.send("POST", "/password/forgot", { json: { email: user.email } });
    const old = tokenFrom(await smtp.next(user.email));
    server.clock.advance(30 * 60 + 1);
    expectProblem(await server.client.send("POST", "/password/reset", { json: { token: old, new_password: "too-late-pass" } }), 400, "link_invalid");
    await server.client.send("POST", "/password/forgot", { json: { email: user.email } });
    const token = tokenFrom(await smtp.next(user.email));
    expect((await server.client.send("POST", "/password/reset", { json: { token, new_password: "in-time-pass" } })).status).toBe(200);
  });

  test("two links of one account used at the same moment: one 200, one 400, never a 500 (a deadlock on PostgreSQL)", async () => {
    for (let round = 0; round < 5; round++) {
      const user = await registered();
      await smtp.next(user.email);
      await server.client.send("POST", "/password/forgot", { json: { email: user.email } });
      await server.client.send("POST", "/password/forgot", { json: { email: user.email } });
      const tokens = [tokenFrom(await smtp.next(user.email)), tokenFrom(await smtp.next(user.email))];
      const replies = await Promise.all(
        tokens.map((token, i) => server.client.send("POST", "/password/reset", { json: { token, new_password: `racing-pass-${i}` } })),
      );
      expect(replies.map((r) => r.status).sort()).toEqual([200, 400]);
    }
  });

  test("mail carries no text the account holder chose (anyone can sign up with someone else's address)", async () => {
    const email = uniqueEmail("spoof");
    await server.client.register({ email, name: "Your account is locked, go to evil.example" });
    const mail = await smtp.next(email);
    expect(mail.text).not.toContain("evil.example");
    expect(mail.raw).not.toContain("evil.example");
  });

  test("a password changed another way voids the links in flight", async () => {
    const user = await registered();
    await smtp.next(user.email);
    await server.client.send("POST", "/password/forgot", { json: { email: user.email } });
    const token = tokenFrom(await smtp.next(user.email));
    const login = await server.client.login(user.email);
    await server.client.send("PUT", "/me", { token: login.body.access_token, json: { password: "changed-directly", current_password: user.password } });
    expectProblem(await server.client.send("POST", "/password/reset", { json: { token, new_password: "attacker-choice" } }), 400, "link_invalid");
    expect((await server.client.login(user.email, "changed-directly")).status).toBe(200);
  });

  test("the new password follows the length policy → 422, and the link still works afterwards", async () => {
    const user = await registered();
    await smtp.next(user.email);
    await server.client.send("POST", "/password/forgot", { json: { email: user.email } });
    const token = tokenFrom(await smtp.next(user.email));
    const short = await server.client.send("POST", "/password/reset", { json: { token, new_password: "short" } });
    expect(expectProblem(short, 422, "validation_failed").errors[0].field).toBe("new_password");
    expect((await server.client.send("POST", "/password/reset", { json: { token, new_password: "long-enough-now" } })).status).toBe(200);
  });

  test("a malformed address → 422 (that says nothing about accounts)", async () => {
    expectProblem(await server.client.send("POST", "/password/forgot", { json: { email: "not-an-address" } }), 422, "validation_failed");
  });

  test("the pages links land on: HTML with a strict CSP that posts to the API", async () => {
    for (const [path, action] of [["/reset-password?token=x", "/password/reset"], ["/verify-email?token=x", "/email/verify"]]) {
      const page = await server.client.send("GET", path!);
      expect(page.status).toBe(200);
      expect(page.headers.get("content-type")).toStartWith("text/html");
      expect(page.headers.get("content-security-policy")).toContain("default-src 'none'");
      expect(page.headers.get("referrer-policy")).toBe("no-referrer");
      expect(page.body).toContain(`data-action="${action}"`);
    }
  });
});

describe("rate limits on mail", () => {
  test("forgot: per email (3 / 15 min) and per IP (10 / 15 min) → 429 with Retry-After", async () => {
    await using limited = await startServer({ RATE_LIMITS: "on", SMTP_URL: smtp.url });
    const email = uniqueEmail("flood");
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await limited.client.send("POST", "/password/forgot", { json: { email } })).status);
    expect(statuses).toEqual([202, 202, 202, 429]);
    for (let i = 0; i < 6; i++) expect((await limited.client.send("POST", "/password/forgot", { json: { email: uniqueEmail() } })).status).toBe(202);
    const over = await limited.client.send("POST", "/password/forgot", { json: { email: uniqueEmail() } });
    expect(expectProblem(over, 429, "rate_limited")).toBeDefined();
    expect(Number(over.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  test("resend: 3 per account per 15 min", async () => {
    await using limited = await startServer({ RATE_LIMITS: "on", SMTP_URL: smtp.url });
    const user = await limited.client.signUp();
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await limited.client.send("POST", "/email/verify/resend", { token: user.token })).status);
    expect(statuses).toEqual([202, 202, 202, 429]);
  });
});

describe("REQUIRE_EMAIL_VERIFICATION=true", () => {
  test("login before verifying → 403 email_not_verified (only with the right password); after → 200", async () => {
    await using strict = await startServer({ REQUIRE_EMAIL_VERIFICATION: "true", SMTP_URL: smtp.url });
    const email = uniqueEmail("strict");
    expect((await strict.client.register({ email })).status).toBe(201);
    expectProblem(await strict.client.login(email, "wrong-password"), 401, "invalid_credentials");
    const refused = expectProblem(await strict.client.login(email), 403, "email_not_verified");
    expect(refused.type).toBe("/problems/email-not-verified");
    const token = tokenFrom(await smtp.next(email));
    expect((await strict.client.send("POST", "/email/verify", { json: { token } })).status).toBe(200);
    expect((await strict.client.login(email)).status).toBe(200);
  });
});

describe("mail after the answer", () => {
  test("an account deleted before its mail goes out: no mail, no error (found by the request fuzzer on PostgreSQL)", async () => {
    const email = uniqueEmail("gone");
    const id = await server.deps.store.createUser({ name: "Gone", email, passwordHash: "x", now: Date.now() });
    await server.deps.store.deleteUser(id);
    server.logs.length = 0;
    sendVerification({ deps: server.deps, requestId: "test" }, { id, name: "Gone", email });
    await server.deps.outbox.idle();
    expect(server.logs.filter((line) => line.includes('"level":"error"'))).toEqual([]);
    await expect(smtp.next(email, 300)).rejects.toThrow(/no mail/);
  });
});

describe("mail transport", () => {
  test("a mail server that accepts and never answers: at most MAIL_QUEUE_MAX messages wait, the rest are dropped and counted", async () => {
    const silent = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      await using flooded = await startServer({ SMTP_URL: `smtp://127.0.0.1:${silent.port}`, MAIL_QUEUE_MAX: "2" });
      for (let i = 0; i < 5; i++) expect((await flooded.client.register({ email: uniqueEmail("flood") })).status).toBe(201);
      await Bun.sleep(50);
      expect(flooded.deps.outbox.depth).toBe(2);
      const metrics = await (await fetch(flooded.metricsUrl!)).text();
      expect(metrics).toMatch(/^mail_messages_total\{result="dropped"\} 3$/m);
      expect(flooded.logs.filter((l) => l.includes("mail dropped")).length).toBe(1);
      silent.stop(true); // the waiting ones fail now (connections closed, new ones refused), not in 10 s
    } finally {
      silent.stop(true);
    }
  });

  test("without SMTP_URL (development) each message goes to the log, link included", async () => {
    await using local = await startServer({});
    const email = uniqueEmail("logged");
    await local.client.register({ email });
    await local.deps.outbox.idle();
    const line = local.logs.map((l) => JSON.parse(l)).find((l) => l.to === email);
    expect(line.msg).toContain("not sent");
    expect(line.text).toContain("http://pictures.test/verify-email?token=");
  });

  test("APP_URL points the links at a front end", async () => {
    await using withApp = await startServer({ SMTP_URL: smtp.url, APP_URL: "https://app.example/" });
    const email = uniqueEmail("app");
    await withApp.client.register({ email });
    expect((await smtp.next(email)).text).toContain("https://app.example/verify-email?token=");
  });

  test("a mail server that is down fails no request; the error is logged without the SMTP password", async () => {
    await using down = await startServer({ SMTP_URL: "smtp://mailer:hunter2-secret@127.0.0.1:1" });
    expect((await down.client.register({ email: uniqueEmail("down") })).status).toBe(201);
    await down.deps.outbox.idle();
    const failures = down.logs.filter((l) => l.includes("mail not sent"));
    expect(failures.length).toBe(1);
    // Logged once, with the id of the request it came from.
    const registerLine = down.logs.map((l) => JSON.parse(l)).find((l) => l.msg === "request" && l.route === "/register");
    expect(JSON.parse(failures[0]!).request_id).toBe(registerLine.request_id);
    expect(down.logs.join("\n")).not.toContain("hunter2-secret");
  });
});
