// Sessions users can see and end (issue 10 §2): the list with device, address and last use, ending
// one at once, logout's scopes, the admin's view, and the mail on a login from a new device.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { lockTokenRow } from "../helpers/row-lock.ts";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp.ts";
import { expectProblem, startServer, uniqueEmail, type TestServer } from "../helpers/server.ts";

const FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0";
const IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";
const ADMIN = { email: "root@sessions.test", password: "admin-password-1" };

let smtp: SmtpSink;
let server: TestServer;

beforeAll(async () => {
  smtp = await startSmtpSink();
  // Behind one proxy, so each test can log in "from" the address it names.
  server = await startServer({ SMTP_URL: smtp.url, TRUST_PROXY: "1", ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password });
});
afterAll(async () => {
  await server.close();
  await smtp.close();
});

type Login = { access: string; refresh: string };

async function login(email: string, from: { ua?: string; ip?: string } = {}, password = "password123"): Promise<Login> {
  const headers: Record<string, string> = { "User-Agent": from.ua ?? FIREFOX, "X-Forwarded-For": from.ip ?? "198.51.100.7" };
  const reply = await server.client.send("POST", "/login", { json: { email, password }, headers });
  expect(reply.status).toBe(200);
  return { access: reply.body.access_token, refresh: reply.body.refresh_token };
}

async function account(name = "Test User") {
  const email = uniqueEmail("sess");
  const registered = await server.client.register({ email, name });
  expect(registered.status).toBe(201);
  return { id: registered.body.id as number, email };
}

const list = (token: string, path = "/me/sessions") => server.client.send("GET", path, { token });
const me = (token: string) => server.client.send("GET", "/me", { token });
const refresh = (token: string) => server.client.send("POST", "/token/refresh", { json: { refresh_token: token } });

/** Mail to `email` that came out of the outbox by now (registration's verification mail aside). */
async function alertsTo(email: string) {
  await server.deps.outbox.idle();
  return smtp.messages.filter((m) => m.to.includes(email.toLowerCase()) && m.subject === "New sign-in to your account");
}

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

describe("DELETE /me/sessions/{id}", () => {
  test("ends that session at once: its access token is refused on the next request, its refresh token too", async () => {
    const user = await account();
    const laptop = await login(user.email);
    const phone = await login(user.email, { ua: IPHONE });
    expect((await me(phone.access)).status).toBe(200);
    const other = ((await list(laptop.access)).body.sessions as any[]).find((s) => !s.current);
    const ended = await server.client.send("DELETE", `/me/sessions/${other.id}`, { token: laptop.access });
    expect(ended.status).toBe(204);
    expectProblem(await me(phone.access), 401, "invalid_token");
    expectProblem(await refresh(phone.refresh), 401, "invalid_token");
    expect((await me(laptop.access)).status).toBe(200);
    expect(((await list(laptop.access)).body.sessions as any[]).map((s) => s.current)).toEqual([true]);
    // Ending it again: there is no such session any more.
    expectProblem(await server.client.send("DELETE", `/me/sessions/${other.id}`, { token: laptop.access }), 404, "not_found");
  });

  test("another user's session id is 404, like one that never was, and that session lives on", async () => {
    const alice = await account();
    const bob = await account();
    const a = await login(alice.email);
    const b = await login(bob.email);
    const bobs = ((await list(b.access)).body.sessions as any[])[0].id;
    expectProblem(await server.client.send("DELETE", `/me/sessions/${bobs}`, { token: a.access }), 404, "not_found");
    expectProblem(await server.client.send("DELETE", "/me/sessions/AAAAAAAAAAAAAAAAAAAAAA", { token: a.access }), 404, "not_found");
    expectProblem(await server.client.send("DELETE", "/me/sessions/not-a-session", { token: a.access }), 404, "not_found");
    expect((await me(b.access)).status).toBe(200);
  });

  test("signed out: 401", async () => {
    expectProblem(await server.client.send("GET", "/me/sessions"), 401, "invalid_token");
    expectProblem(await server.client.send("DELETE", "/me/sessions/AAAAAAAAAAAAAAAAAAAAAA"), 401, "invalid_token");
  });
});

describe("ending a session while it refreshes leaves no live successor (PostgreSQL)", () => {
  // A third connection holds the session's token row; the refresh queues on it first, the ending
  // second. Released, the refresh commits its successor, and the ending must still take it away.
  const ways = {
    "DELETE /me/sessions/{id} from another session": (pg: TestServer, other: string, sid: string) =>
      pg.client.send("DELETE", `/me/sessions/${sid}`, { token: other }),
    "POST /logout scope=others from another session": (pg: TestServer, other: string) =>
      pg.client.send("POST", "/logout", { token: other, json: { scope: "others" } }),
  };
  for (const [name, end] of Object.entries(ways)) {
    test(name, async () => {
      await using pg = await startServer({}, { database: "postgres" });
      const user = await pg.client.signUp();
      const other = await pg.client.login(user.email, user.password);
      const sid = ((await pg.client.send("GET", "/me/sessions", { token: user.token })).body.sessions as any[]).find((s) => s.current).id;
      await using lock = await lockTokenRow(pg, user.refresh.split(".")[0]!);
      const refreshed = pg.client.send("POST", "/token/refresh", { json: { refresh_token: user.refresh } });
      await lock.waiters(1);
      const ended = end(pg, other.body.access_token, sid);
      await lock.waiters(2);
      await lock.release();
      const [rotation, ending] = await Promise.all([refreshed, ended]);
      expect({ rotation: rotation.status, ending: ending.status }).toEqual({ rotation: 200, ending: 204 });
      expectProblem(await pg.client.send("POST", "/token/refresh", { json: { refresh_token: rotation.body.refresh_token } }), 401, "invalid_token");
      expectProblem(await pg.client.send("GET", "/me", { token: rotation.body.access_token }), 401, "invalid_token");
      expect((await pg.client.send("GET", "/me", { token: other.body.access_token })).status).toBe(200);
    }, 30_000);
  }
});

describe("POST /logout scope", () => {
  async function three() {
    const user = await account();
    return [await login(user.email), await login(user.email, { ua: IPHONE }), await login(user.email, { ua: "curl/8.4.0" })] as const;
  }

  test("others: every other session ends, this one stays", async () => {
    const [a, b, c] = await three();
    expect((await server.client.send("POST", "/logout", { token: a.access, json: { scope: "others" } })).status).toBe(204);
    expect((await me(a.access)).status).toBe(200);
    expectProblem(await me(b.access), 401, "invalid_token");
    expectProblem(await me(c.access), 401, "invalid_token");
    expectProblem(await refresh(c.refresh), 401, "invalid_token");
    expect((await refresh(a.refresh)).status).toBe(200);
  });

  test("global (in the query, as Supabase's clients send it): all of them, this one too", async () => {
    const [a, b] = await three();
    expect((await server.client.send("POST", "/logout?scope=global", { token: a.access })).status).toBe(204);
    expectProblem(await me(a.access), 401, "invalid_token");
    expectProblem(await me(b.access), 401, "invalid_token");
    expectProblem(await refresh(a.refresh), 401, "invalid_token");
  });

  test("others by refresh token alone: the token's session stays", async () => {
    const [a, b] = await three();
    expect((await server.client.send("POST", "/logout", { json: { refresh_token: a.refresh, scope: "others" } })).status).toBe(204);
    expect((await me(a.access)).status).toBe(200);
    expectProblem(await me(b.access), 401, "invalid_token");
  });

  test("local is the default: only this session; an unknown scope is 422", async () => {
    const [a, b] = await three();
    expectProblem(await server.client.send("POST", "/logout", { token: a.access, json: { scope: "everything" } }), 422, "validation_failed");
    expectProblem(await server.client.send("POST", "/logout?scope=all", { token: a.access }), 422, "validation_failed");
    expect((await me(a.access)).status).toBe(200);
    expect((await server.client.send("POST", "/logout", { token: a.access })).status).toBe(204);
    expectProblem(await me(a.access), 401, "invalid_token");
    expect((await me(b.access)).status).toBe(200);
  });
});

describe("admins: /users/{id}/sessions", () => {
  test("an admin lists and ends a user's sessions; the user's token dies at once", async () => {
    const admin = await login(ADMIN.email, {}, ADMIN.password);
    const user = await account();
    const u = await login(user.email);
    const listed = await list(admin.access, `/users/${user.id}/sessions`);
    expect(listed.status).toBe(200);
    const [session] = listed.body.sessions as any[];
    expect(session).toMatchObject({ device: "Firefox on Linux", current: false });
    expect((await server.client.send("DELETE", `/users/${user.id}/sessions/${session.id}`, { token: admin.access })).status).toBe(204);
    expectProblem(await me(u.access), 401, "invalid_token");
    expect((await list(admin.access, `/users/${user.id}/sessions`)).body.sessions).toEqual([]);
    // The admin's own session id under that user: 404, as any id not theirs.
    const own = ((await list(admin.access)).body.sessions as any[]).find((s) => s.current).id;
    expectProblem(await server.client.send("DELETE", `/users/${user.id}/sessions/${own}`, { token: admin.access }), 404, "not_found");
    expect((await me(admin.access)).status).toBe(200);
    expectProblem(await list(admin.access, "/users/999999999/sessions"), 404, "not_found");
  });

  test("a user may use the route on themselves, not on someone else (403)", async () => {
    const alice = await account();
    const bob = await account();
    const a = await login(alice.email);
    await login(bob.email);
    expect((await list(a.access, `/users/${alice.id}/sessions`)).status).toBe(200);
    expectProblem(await list(a.access, `/users/${bob.id}/sessions`), 403, "forbidden");
    expectProblem(await server.client.send("DELETE", `/users/${bob.id}/sessions/AAAAAAAAAAAAAAAAAAAAAA`, { token: a.access }), 403, "forbidden");
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
