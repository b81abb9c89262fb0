// Verification links die with an email change (issue 14.10): register with A, move to B, move back
// to A, and the first link for A must not confirm A again. Mail is read from a real SMTP sink.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startSmtpSink, tokenFrom, type SmtpSink } from "../helpers/smtp.ts";
import { expectProblem, startServer, uniqueEmail, type TestServer } from "../helpers/server.ts";

let smtp: SmtpSink;
let server: TestServer;

beforeAll(async () => {
  smtp = await startSmtpSink();
  server = await startServer({ SMTP_URL: smtp.url });
});
afterAll(async () => {
  await server.close();
  await smtp.close();
});

const profile = async (token: string) => (await server.client.send("GET", "/me", { token })).body;

describe("an email change voids every mailed link", () => {
  test("A → B → A: the first link for A → 400 link_invalid, and the address stays unconfirmed", async () => {
    const a = uniqueEmail("first");
    const b = uniqueEmail("second");
    expect((await server.client.register({ email: a })).status).toBe(201);
    const firstLinkForA = tokenFrom(await smtp.next(a));
    const login = await server.client.login(a);
    const token = login.body.access_token;

    expect((await server.client.send("PUT", "/me", { token, json: { email: b, current_password: "password123" } })).status).toBe(200);
    await smtp.next(a); // the notice to the old address
    await smtp.next(b); // the link for B
    expect((await server.client.send("PUT", "/me", { token, json: { email: a, current_password: "password123" } })).status).toBe(200);
    await smtp.next(b); // the notice to B
    const secondLinkForA = tokenFrom(await smtp.next(a));

    expectProblem(await server.client.send("POST", "/email/verify", { json: { token: firstLinkForA } }), 400, "link_invalid");
    expect((await profile(token)).email_verified).toBe(false);
    // The link sent for A's return is the one that works.
    expect((await server.client.send("POST", "/email/verify", { json: { token: secondLinkForA } })).status).toBe(200);
    expect((await profile(token)).email_verified).toBe(true);
  });

  test("a password reset link asked for before the change dies with it too", async () => {
    const a = uniqueEmail("reset");
    const b = uniqueEmail("moved");
    const user = await server.client.register({ email: a });
    expect(user.status).toBe(201);
    await smtp.next(a);
    expect((await server.client.send("POST", "/password/forgot", { json: { email: a } })).status).toBe(202);
    const reset = tokenFrom(await smtp.next(a));
    const token = (await server.client.login(a)).body.access_token;
    expect((await server.client.send("PUT", "/me", { token, json: { email: b } })).status).toBe(200);
    expect((await server.client.send("PUT", "/me", { token, json: { email: a } })).status).toBe(200);
    expectProblem(await server.client.send("POST", "/password/reset", { json: { token: reset, new_password: "another-pass-1" } }), 400, "link_invalid");
  });

  test("a link stored only after the address changed again is not stored at all", async () => {
    const a = uniqueEmail("late");
    const reply = await server.client.register({ email: a });
    await smtp.next(a);
    const id = reply.body.id as number;
    // As when the outbox gets to a link for B after the account has moved on from B.
    const late = {
      id: "late-link-" + id,
      userId: id,
      purpose: "email_verification" as const,
      email: uniqueEmail("no-longer"),
      secretHash: "x".repeat(64),
      expiresAt: server.clock.now + 3_600_000,
    };
    expect(await server.deps.accountTokens.insert(late, server.clock.now)).toBe(false);
    expect(await server.deps.accountTokens.find(late.id)).toBeUndefined();
    expect(await server.deps.accountTokens.insert({ ...late, email: a }, server.clock.now)).toBe(true);
  });
});
