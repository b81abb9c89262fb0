// Sessions their owner (or an admin) can see and end: one per login, listed with its device, coarse
// address and last use, and ended at once, its refresh token and access tokens alike.
import { actingOf, json, type Ctx } from "../context.ts";
import { HttpError } from "../http/problem.ts";
import type { SessionSummary } from "../store/index.ts";

// Session ids are 16 random bytes in base64url (src/auth/opaque.ts newId).
const SESSION_ID = /^[A-Za-z0-9_-]{22}$/;

const wire = (session: SessionSummary, current: string) => ({
  id: session.id,
  created_at: session.createdAt,
  last_used_at: session.lastUsedAt,
  device: session.device,
  ip: session.ip,
  current: session.id === current,
});

/** GET /me/sessions, GET /users/:id/sessions: the account's live sessions, most recently used first. */
export async function list(_req: Request, ctx: Ctx): Promise<Response> {
  const { target, sessionId } = actingOf(ctx);
  const sessions = await ctx.deps.sessions.list(target.id);
  return json({ sessions: sessions.map((session) => wire(session, sessionId)) });
}

/**
 * DELETE /me/sessions/:sid, DELETE /users/:id/sessions/:sid: ends one session of the account. An id
 * that is not one of the account's sessions is 404, whoever's it is: an id says nothing about others.
 */
export async function end(_req: Request, ctx: Ctx): Promise<Response> {
  const { target } = actingOf(ctx);
  const sid = ctx.params.sid ?? "";
  const ended = SESSION_ID.test(sid) && (await ctx.deps.sessions.endOwned(target.id, sid));
  if (!ended) throw new HttpError("not_found", "There is no session with this id.");
  return new Response(null, { status: 204 });
}
