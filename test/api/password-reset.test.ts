// Password reset end to end: forgot → mail → new password, its timing, expiry, races and policy;
// every message is read from a real SMTP server on 127.0.0.1 and its link followed through the HTTP API.
import { describe, expect, test } from "bun:test";
import { accountsServerForFile, tokenFrom } from "../helpers/smtp.ts";
import { expectProblem, uniqueEmail } from "../helpers/server.ts";

const { smtp, server, registered, me } = await accountsServerForFile();

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
