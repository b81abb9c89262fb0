// Bearer token → the current user, and a route's access rule → who acts on which account. Every token
// failure is the same 401 invalid_token, except no credentials at all (a bare challenge) and expiry.
import { JwtError } from "../auth/jwt.ts";
import type { Ctx } from "../context.ts";
import type { UserRow } from "../store/index.ts";
import { credentialsRequired, HttpError, unauthorized } from "./problem.ts";
import type { Access } from "../app.ts";

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
  // From memory when the session cache may answer (src/auth/session-cache.ts), else from the database.
  const user = await (ctx.deps.sessionCache ?? ctx.deps.store).userBySession(claims.userId, claims.sessionId);
  // The version check makes a password change or a deletion end every token at once; the session
  // check does the same for one login's tokens after logout or a detected refresh-token replay.
  if (!user || user.tokenVersion !== claims.tokenVersion || !user.sessionAlive || user.disabledAt !== null) {
    throw invalid();
  }
  ctx.userId = user.id;
  return { user, sessionId: claims.sessionId, authTime: claims.authTime };
}

/** The signed-in user and the account the request acts on: their own, or for an admin the route's `:id`. */
export type Acting = Session & { target: UserRow };

const noSuchUser = () => new HttpError("not_found", "There is no user with this id.");

/**
 * Applies a route's access rule (src/http/route.ts): undefined for a public route, else who acts on
 * which account. On `:id`, anyone but an admin gets 403 for an account that exists and 404 for one
 * that does not.
 */
export async function authorize(access: Access, req: Request, ctx: Ctx): Promise<Acting | undefined> {
  if (access === "public") return undefined;
  const session = await authenticate(req, ctx);
  const isAdmin = session.user.role === "admin";
  if (access === "user") return { ...session, target: session.user };
  if (access === "admin") {
    if (!isAdmin) throw new HttpError("forbidden", "Only admins may do this.");
    return { ...session, target: session.user };
  }
  const raw = ctx.params.id ?? "";
  const id = /^[1-9]\d{0,15}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(id)) throw noSuchUser();
  if (id === session.user.id) return { ...session, target: session.user };
  const target = await ctx.deps.store.userById(id);
  if (!target) throw noSuchUser();
  if (!isAdmin) throw new HttpError("forbidden", "You may only manage your own account.");
  return { ...session, target };
}
