// Email verification end to end: the link mailed at registration, resend, a changed address, and
// REQUIRE_EMAIL_VERIFICATION; every message is read from a real SMTP server on 127.0.0.1.
import { describe, expect, test } from "bun:test";
import { accountsServerForFile, tokenFrom } from "../helpers/smtp.ts";
import { expectProblem, startServer, uniqueEmail } from "../helpers/server.ts";

const { smtp, server, registered, me } = await accountsServerForFile();

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
