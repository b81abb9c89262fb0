// Sessions users can end (issue 10 §2): one at once, even while it refreshes, logout's scopes, and the
// admin's view of a user's sessions.
import { describe, expect, test } from "bun:test";
import { lockTokenRow } from "../helpers/database.ts";
import { ADMIN, IPHONE, sessionsServerForFile } from "../helpers/sessions.ts";
import { expectProblem, startServer, type TestServer } from "../helpers/server.ts";

const { server, login, account, list, me, refresh } = await sessionsServerForFile();

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
