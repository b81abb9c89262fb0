// Mail as a whole: rate limits on sending, mail for an account gone meanwhile, and the transport
// (a silent or absent mail server, no SMTP_URL, APP_URL); read from a real SMTP server on 127.0.0.1.
import { describe, expect, test } from "bun:test";
import { sendVerification } from "../../src/accounts/mail-links.ts";
import { accountsServerForFile } from "../helpers/smtp.ts";
import { expectProblem, startServer, uniqueEmail } from "../helpers/server.ts";

const { smtp, server } = await accountsServerForFile();

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
