// The admin's list of accounts, a page at a time behind an opaque cursor (one account by id is
// src/routes/accounts.ts, under the self-or-admin rule).
import { toProfile } from "../accounts/profile.ts";
import { json, type Ctx } from "../context.ts";
import { validationFailed } from "../http/problem.ts";
import { parseFields, rules } from "../http/validate.ts";

const DEFAULT_PAGE = 20;
const MAX_PAGE = 100;

// The cursor is opaque to clients (so its form may change) but carries only the last id seen.
const encodeCursor = (id: number) => Buffer.from(`u:${id}`).toString("base64url");
function decodeCursor(cursor: string): number {
  const match = /^u:([1-9]\d{0,15})$/.exec(Buffer.from(cursor, "base64url").toString("latin1"));
  if (!match || !Number.isSafeInteger(Number(match[1]))) throw validationFailed([{ field: "cursor", message: "is not a cursor this API gave out" }]);
  return Number(match[1]);
}

function pageSize(raw: string | null): number {
  if (raw === null) return DEFAULT_PAGE;
  const n = Number(raw);
  if (!/^\d{1,3}$/.test(raw) || n < 1 || n > MAX_PAGE) throw validationFailed([{ field: "limit", message: `must be a whole number from 1 to ${MAX_PAGE}` }]);
  return n;
}

/** GET /users?limit=&cursor=&q= — newest first; `q` matches the start of a name or an email. */
export async function list(req: Request, ctx: Ctx): Promise<Response> {
  const query = new URL(req.url).searchParams;
  const limit = pageSize(query.get("limit"));
  const cursor = query.get("cursor");
  // Control characters match no name or address, and PostgreSQL refuses a NUL outright.
  const raw = query.get("q");
  const { q } = parseFields(raw === null ? {} : { q: raw }, { q: rules.search });
  // One more than asked, to know without a second query whether another page follows.
  const rows = await ctx.deps.store.listUsers({
    limit: limit + 1,
    beforeId: cursor === null || cursor === "" ? undefined : decodeCursor(cursor),
    prefix: q === undefined || q === "" ? undefined : q,
  });
  const page = rows.slice(0, limit);
  const next = rows.length > limit ? encodeCursor(page[page.length - 1]!.id) : null;
  return json({ users: page.map((user) => toProfile(user, ctx.deps.storage)), next_cursor: next });
}
