// Bearer token → the current user. Every failure (no header, bad token, expired, revoked, deleted
// account) is the same 401 from outside; the precise JwtError code stays internal.
import type { Ctx } from "../context.ts";
import type { UserRow } from "../db/index.ts";
import { unauthorized } from "./problem.ts";

/** `authTime`: when this session's login checked the password (epoch seconds). */
export type Session = { user: UserRow; sessionId: string; authTime: number };

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
  const user = await ctx.deps.store.userBySession(claims.userId, claims.sessionId);
  // The version check makes a password change or a deletion end every token at once; the session
  // check does the same for one login's tokens after logout or a detected refresh-token replay.
  if (!user || user.tokenVersion !== claims.tokenVersion || !user.sessionAlive || user.disabledAt !== null) {
    throw unauthorized("invalid_token", "The access token is invalid or has expired.");
  }
  ctx.userId = user.id;
  return { user, sessionId: claims.sessionId, authTime: claims.authTime };
}
