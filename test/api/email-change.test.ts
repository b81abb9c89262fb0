// Email changes mail two inboxes and say (409) whether an address is taken: limited per account and
// per new address, as verification resends are, with the mails read from a real SMTP sink.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp.ts";
import { expectProblem, startServer, uniqueEmail, type Reply, type TestServer } from "../helpers/server.ts";

let smtp: SmtpSink;
let server: TestServer;

beforeAll(async () => {
  smtp = await startSmtpSink();
  server = await startServer({ RATE_LIMITS: "on", SMTP_URL: smtp.url });
});
afterAll(async () => {
  await server.close();
  await smtp.close();
});

const changeEmail = (token: string, email: string) => server.client.send("PUT", "/me", { token, json: { email } });

function expectLimited(reply: Reply) {
  expectProblem(reply, 429, "rate_limited");
  expect(Number(reply.headers.get("retry-after"))).toBeGreaterThan(0);
}

describe("email changes are limited (3 per 15 minutes)", () => {
  test("per account: flipping between two strangers' addresses mails them 5 times, not 80", async () => {
    const user = await server.client.signUp();
    const [a, b] = [uniqueEmail("stranger-a"), uniqueEmail("stranger-b")];
    const replies: Reply[] = [];
    let current = user.email;
    for (let i = 0; i < 40; i++) {
      const reply = await changeEmail(user.token, current === a ? b : a);
      if (reply.status === 200) current = reply.body.user.email;
      // A link is mailed only while its address is still the account's: let each go out before the next change.
      await server.deps.outbox.idle();
      replies.push(reply);
    }
    expect(replies.slice(0, 3).map((reply) => reply.status)).toEqual([200, 200, 200]);
    replies.slice(3).forEach(expectLimited);
    await server.deps.outbox.idle();
    const strangers = smtp.messages.filter((mail) => mail.to.includes(a) || mail.to.includes(b));
    // a: verify, notice, verify; b: verify, notice.
    expect(strangers).toHaveLength(5);
  });

  test("per new address: the fourth account asking for a registered address gets 429, not a fourth 409", async () => {
    const owner = await server.client.signUp();
    const askers = await Promise.all(Array.from({ length: 4 }, () => server.client.signUp()));
    const replies: Reply[] = [];
    for (const asker of askers) replies.push(await changeEmail(asker.token, owner.email));
    replies.slice(0, 3).forEach((reply) => expectProblem(reply, 409, "email_taken"));
    expectLimited(replies[3]!);
  });

  test("per account: probing for registered addresses stops at the fourth", async () => {
    const registered = await Promise.all(Array.from({ length: 5 }, () => server.client.signUp()));
    const prober = await server.client.signUp();
    const replies: Reply[] = [];
    for (const { email } of registered) replies.push(await changeEmail(prober.token, email));
    replies.slice(0, 3).forEach((reply) => expectProblem(reply, 409, "email_taken"));
    replies.slice(3).forEach(expectLimited);
  });

  test("a profile change without a new email is not limited", async () => {
    const user = await server.client.signUp();
    for (let i = 0; i < 6; i++) expect((await server.client.send("PUT", "/me", { token: user.token, json: { bio: `bio ${i}`, email: user.email } })).status).toBe(200);
  });
});
