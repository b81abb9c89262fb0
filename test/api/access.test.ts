// The route table's access rules, as a client meets them: every entry that is not public answers
// 401 without a token, and 403 to a signed-in user where it wants an admin or another's account.
import { describe, expect, test } from "bun:test";
import { resolve, routes } from "../../src/app.ts";
import { serverForFile } from "../helpers/server.ts";

const server = await serverForFile();
const { client } = server;

// Every entry, aliases included, with its `:id` filled in (the caller's own id where it matters).
const entries = Object.entries(routes).flatMap(([route, value]) =>
  Object.entries(resolve(routes, value)).map(([method, entry]) => ({ route, method, access: entry.access })),
);
const bodyFor = (method: string) => (method === "GET" || method === "HEAD" ? {} : { json: {} });
const concrete = (route: string, id: number) => route.replace(":id", String(id)).replace(":file", "1.jpg").replace(":name", "x");

describe("access rules from the route table", () => {
  test("the table has routes for every rule", () => {
    expect(new Set(entries.map((e) => e.access))).toEqual(new Set(["public", "user", "self-or-admin", "admin"]));
  });

  test.each(entries.filter((e) => e.access !== "public").map((e) => [`${e.method} ${e.route}`, e] as const))(
    "%s: 401 invalid_token without a bearer token, with the bare challenge",
    async (_, { route, method }) => {
      const reply = await client.send(method, concrete(route, 1), bodyFor(method));
      expect({ status: reply.status, code: reply.body?.code }).toEqual({ status: 401, code: "invalid_token" });
      expect(reply.headers.get("www-authenticate")).toBe('Bearer realm="api"');
    },
  );

  test("a user: 403 forbidden on another's account and on admin routes, through canonical names and aliases", async () => {
    const me = await client.signUp();
    const other = await client.signUp();
    for (const { route, method, access } of entries.filter((e) => e.access === "admin" || e.access === "self-or-admin")) {
      const reply = await client.send(method, concrete(route, other.id), { token: me.token, ...bodyFor(method) });
      expect({ route, method, access, status: reply.status, code: reply.body?.code }).toEqual({ route, method, access, status: 403, code: "forbidden" });
    }
  });

  test("self-or-admin: an id no account has is 404 (not 403) for a user, and a malformed id too", async () => {
    const me = await client.signUp();
    for (const path of ["/users/999999999", "/users/abc", "/profile/0"]) {
      const reply = await client.send("GET", path, { token: me.token });
      expect({ path, status: reply.status, code: reply.body?.code }).toEqual({ path, status: 404, code: "not_found" });
    }
  });
});
