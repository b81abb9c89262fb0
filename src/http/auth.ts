// Bearer token → the current user. Every failure (no header, bad token, expired, revoked, deleted
// account) is the same 401 from outside; the precise JwtError code stays internal.
import type { Ctx } from "../context.ts";
import type { UserRow } from "../db/index.ts";
import { unauthorized } from "./problem.ts";

export type Session = { user: UserRow; sessionId: string };

const BEARER = /^Bearer[ ]+([^\s]+)[ ]*$/i;

export async function authenticate(req: Request, ctx: Ctx): Promise<Session> {
  const match = BEARER.exec(req.headers.get("authorization") ?? "");
  if (!match) throw unauthorized("invalid_token", "A bearer token is required.");
  let claims;
  try {
    claims = await ctx.deps.accessTokens.verify(match[1]!);
  } catch {
    throw unauthorized("invalid_token", "The access token is invalid or has expired.");
  }
  const user = await ctx.deps.store.userById(claims.userId);
  // The version check is what makes logout-everywhere, password change and deletion immediate.
  if (!user || user.tokenVersion !== claims.tokenVersion) {
    throw unauthorized("invalid_token", "The access token is invalid or has expired.");
  }
  ctx.userId = user.id;
  return { user, sessionId: claims.sessionId };
}
