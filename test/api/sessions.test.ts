// Sessions users can see (issue 10 §2): the list with device, address and last use, and the mail
// on a login from a new device or network.
import { describe, expect, test } from "bun:test";
import { FIREFOX, IPHONE, sessionsServerForFile } from "../helpers/sessions.ts";
import { startSmtpSink } from "../helpers/smtp.ts";
import { expectProblem, startServer } from "../helpers/server.ts";

const { server, login, account, list, me, refresh, alertsTo } = await sessionsServerForFile();

describe("GET /me/sessions", () => {
  test("one entry per login: device from the User-Agent, address without port, which one is the caller's", async () => {
    const user = await account();
    const laptop = await login(user.email, { ua: FIREFOX, ip: "198.51.100.7" });
    const phone = await login(user.email, { ua: IPHONE, ip: "[2001:db8::5]:4431" });
    const reply = await list(laptop.access);
    expect(reply.status).toBe(200);
    const sessions = reply.body.sessions as any[];
    expect(sessions).toHaveLength(2);
    const mine = sessions.find((s) => s.current);
    const other = sessions.find((s) => !s.current);
    expect(mine).toMatchObject({ device: "Firefox on Linux", ip: "198.51.100.7", current: true });
    expect(other).toMatchObject({ device: "Safari on iPhone", ip: "2001:db8::5", current: false });
    for (const s of sessions) {
      expect(s.id).toMatch(/^[A-Za-z0-9_-]{22}$/);
      expect(Date.parse(s.created_at)).toBeGreaterThan(0);
      expect(Date.parse(s.last_used_at)).toBeGreaterThanOrEqual(Date.parse(s.created_at));
    }
    // The phone sees the same two, the other way round.
    const fromPhone = (await list(phone.access)).body.sessions as any[];
    expect(fromPhone.find((s) => s.current).id).toBe(other.id);
  });

  test("a refreshed session is still one entry, with its device; a logged-out one is gone", async () => {
    const user = await account();
    const a = await login(user.email);
    const b = await login(user.email, { ua: "curl/8.4.0" });
    const rotated = await refresh(b.refresh);
    expect(rotated.status).toBe(200);
    const sessions = (await list(a.access)).body.sessions as any[];
    expect(sessions.map((s) => s.device).sort()).toEqual(["Firefox on Linux", "curl"]);
    expect((await server.client.send("POST", "/logout", { token: rotated.body.access_token })).status).toBe(204);
    expect(((await list(a.access)).body.sessions as any[]).map((s) => s.device)).toEqual(["Firefox on Linux"]);
  });

  test("after a password change only the session that made it is listed, and it still works", async () => {
    const user = await account();
    const a = await login(user.email);
    await login(user.email, { ua: IPHONE });
    const changed = await server.client.send("PUT", "/me", { token: a.access, json: { password: "new-password-456", current_password: "password123" } });
    expect(changed.status).toBe(200);
    const token = changed.body.access_token as string;
    const sessions = (await list(token)).body.sessions as any[];
    expect(sessions.map((s) => [s.device, s.current])).toEqual([["Firefox on Linux", true]]);
  });

  test("a session from before this was kept (no device, address or last use) lists with nulls and its start", async () => {
    const user = await account();
    const a = await login(user.email);
    await server.deps.store.sql`UPDATE refresh_tokens SET device = NULL, ip = NULL, last_used_at = NULL WHERE user_id = ${user.id}`;
    const [session] = (await list(a.access)).body.sessions as any[];
    expect(session).toMatchObject({ device: null, ip: null, current: true });
    expect(Date.parse(session.last_used_at)).toBeGreaterThan(0);
  });

  test("last used moves with requests, but at most once a minute", async () => {
    const user = await account();
    const a = await login(user.email);
    const lastUsed = async () => ((await list(a.access)).body.sessions as any[])[0].last_used_at as string;
    const first = await lastUsed();
    server.clock.advance(30);
    expect((await me(a.access)).status).toBe(200);
    expect(await lastUsed()).toBe(first); // within the minute: not written
    server.clock.advance(31);
    expect((await me(a.access)).status).toBe(200);
    // The write happens beside the request, not in it.
    let later = first;
    for (let i = 0; i < 50 && later === first; i++) {
      await Bun.sleep(20);
      later = await lastUsed();
    }
    expect(Date.parse(later) - Date.parse(first)).toBeGreaterThanOrEqual(60_000);
  });

  test("last-used writes: one per session per minute however many requests (a spy on the store)", async () => {
    const user = await account();
    const a = await login(user.email);
    const rows = server.deps.store.sessions;
    const original = rows.touch.bind(rows);
    let writes = 0;
    rows.touch = (...args) => {
      writes++;
      return original(...args);
    };
    try {
      server.clock.advance(61);
      for (let i = 0; i < 20; i++) expect((await me(a.access)).status).toBe(200);
      expect(writes).toBe(1);
      server.clock.advance(61);
      for (let i = 0; i < 5; i++) expect((await me(a.access)).status).toBe(200);
      expect(writes).toBe(2);
    } finally {
      rows.touch = original;
    }
  });
});

describe("new-device mail", () => {
  test("not on the first login; not from a known device and network; yes from a new device or a new network", async () => {
    const user = await account("Your account is locked, go to evil.example");
    await login(user.email, { ua: FIREFOX, ip: "203.0.113.10" });
    expect(await alertsTo(user.email)).toHaveLength(0); // nothing to compare with
    await login(user.email, { ua: FIREFOX, ip: "203.0.113.99" }); // the same /24
    expect(await alertsTo(user.email)).toHaveLength(0);
    await login(user.email, { ua: IPHONE, ip: "203.0.113.10" });
    const [mail] = await alertsTo(user.email);
    expect(mail).toBeDefined();
    expect(mail!.text).toContain("Device: Safari on iPhone");
    expect(mail!.text).toContain("Address: 203.0.113.10");
    expect(mail!.text).not.toContain("evil.example");
    expect(mail!.raw).not.toContain("evil.example");
    await login(user.email, { ua: FIREFOX, ip: "192.0.2.1" }); // a known device on a new network
    expect(await alertsTo(user.email)).toHaveLength(2);
    await login(user.email, { ua: IPHONE, ip: "203.0.113.11" }); // known by now
    expect(await alertsTo(user.email)).toHaveLength(2);
  });

  test("an account remembers its last 20 (device, network) pairs: the 21st back counts as new again", async () => {
    const user = await account();
    const sessions = server.deps.sessions;
    const from = (i: number) => ({ device: "Firefox on Linux", ip: `10.${i}.0.1` });
    expect(await sessions.rememberLogin(user.id, from(0))).toBe("first");
    for (let i = 1; i <= 20; i++) {
      server.clock.advance(1);
      expect(await sessions.rememberLogin(user.id, from(i))).toBe("new");
    }
    server.clock.advance(1);
    expect(await sessions.rememberLogin(user.id, from(20))).toBe("known");
    expect(await sessions.rememberLogin(user.id, { device: "Firefox on Linux", ip: "10.20.0.200" })).toBe("known"); // same /24
    expect(await sessions.rememberLogin(user.id, from(0))).toBe("new"); // pruned: 1..20 are the last 20
  });

  test("a wrong password from a new device mails nothing", async () => {
    const user = await account();
    await login(user.email);
    const wrong = await server.client.send("POST", "/login", { json: { email: user.email, password: "wrong-password" }, headers: { "User-Agent": IPHONE } });
    expectProblem(wrong, 401, "invalid_credentials");
    expect(await alertsTo(user.email)).toHaveLength(0);
  });

  test("NEW_DEVICE_ALERTS=off: no mail", async () => {
    const sink = await startSmtpSink();
    const quiet = await startServer({ SMTP_URL: sink.url, NEW_DEVICE_ALERTS: "off" });
    try {
      const user = await quiet.client.signUp();
      expect((await quiet.client.send("POST", "/login", { json: { email: user.email, password: user.password }, headers: { "User-Agent": IPHONE } })).status).toBe(200);
      await quiet.deps.outbox.idle();
      expect(sink.messages.filter((m) => m.subject === "New sign-in to your account")).toHaveLength(0);
      expect(quiet.deps.config.newDeviceAlerts).toBe(false);
      expect(server.deps.config.newDeviceAlerts).toBe(true);
    } finally {
      await quiet.close();
      await sink.close();
    }
  });
});
