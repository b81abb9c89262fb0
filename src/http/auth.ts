// Bearer token → the current user. Every failure is the same 401 invalid_token from outside, with
// two exceptions a client needs: no credentials at all (a bare challenge), and an expired token.
import { JwtError } from "../auth/jwt.ts";
import type { Ctx } from "../context.ts";
import type { UserRow } from "../store/index.ts";
import { credentialsRequired, unauthorized } from "./problem.ts";

/** `authTime`: when this session's login checked the password (epoch seconds). */
export type Session = { user: UserRow; sessionId: string; authTime: number };

const BEARER = /^Bearer[ ]+([^\s]+)[ ]*$/i;

const invalid = () => unauthorized("invalid_token", "The access token is invalid.");

/** Did the request try a bearer token at all? Another scheme, or none, is no credentials (RFC 6750 §3.1). */
export const sentBearer = (req: Request): boolean => /^Bearer(\s|$)/i.test(req.headers.get("authorization") ?? "");

export async function authenticate(req: Request, ctx: Ctx): Promise<Session> {
  if (!sentBearer(req)) throw credentialsRequired("A bearer token is required.");
  const match = BEARER.exec(req.headers.get("authorization")!);
  if (!match) throw invalid();
  let claims;
  try {
    claims = await ctx.deps.accessTokens.verify(match[1]!);
  } catch (err) {
    // Only a token whose signature checked out can have expired, so saying so tells a forger nothing;
    // it tells a client to use its refresh token rather than send the user to log in.
    if (err instanceof JwtError && err.code === "ERR_JWT_EXPIRED") {
      throw unauthorized("invalid_token", "The access token has expired; trade the refresh token for a new one.", "The access token expired");
    }
    throw invalid();
  }
  const user = await ctx.deps.store.userBySession(claims.userId, claims.sessionId);
  // The version check makes a password change or a deletion end every token at once; the session
  // check does the same for one login's tokens after logout or a detected refresh-token replay.
  if (!user || user.tokenVersion !== claims.tokenVersion || !user.sessionAlive || user.disabledAt !== null) {
    throw invalid();
  }
  ctx.userId = user.id;
  return { user, sessionId: claims.sessionId, authTime: claims.authTime };
}
