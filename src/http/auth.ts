// Bearer token → the current user, and a route's access rule → who acts on which account. Every token
// failure is the same 401 invalid_token, except no credentials at all (a bare challenge) and expiry.
import type { AccessClaims } from "../auth/access.ts";
import { JwtError } from "../auth/jwt.ts";
import type { Ctx } from "../context.ts";
import type { SessionUser, UserRow } from "../store/index.ts";
import { credentialsRequired, HttpError, unauthorized } from "./problem.ts";
import type { Access } from "../app.ts";

/** `authTime`: when this session's login checked the password (epoch seconds). */
export type Session = { user: UserRow; sessionId: string; authTime: number };

const BEARER_SCHEME = /^Bearer(\s|$)/i;
const WHITESPACE = /\s/;

/** `Bearer`, spaces, the token, optional spaces (RFC 6750 §2.1): the token, or undefined. By hand, as a capturing regex cost more than the rest of a cached authentication. */
export function bearerToken(header: string): string | undefined {
  let start = "Bearer".length;
  while (header.charCodeAt(start) === 32) start++;
  let end = header.length;
  while (end > start && header.charCodeAt(end - 1) === 32) end--;
  if (start === "Bearer".length || end === start) return undefined;
  const token = header.slice(start, end);
  return WHITESPACE.test(token) ? undefined : token;
}

const invalid = () => unauthorized("invalid_token", "The access token is invalid.");

/** Did the request try a bearer token at all? Another scheme, or none, is no credentials (RFC 6750 §3.1). */
export const sentBearer = (req: Request): boolean => BEARER_SCHEME.test(req.headers.get("authorization") ?? "");

// Only a token whose signature checked out can have expired, so saying so tells a forger nothing;
// it tells a client to use its refresh token rather than send the user to log in.
function refusal(err: unknown): HttpError {
  if (err instanceof JwtError && err.code === "ERR_JWT_EXPIRED") {
    return unauthorized("invalid_token", "The access token has expired; trade the refresh token for a new one.", "The access token expired");
  }
  return invalid();
}

/**
 * The caller's session. A token verified before whose session is in the cache is answered at once, with
 * no promise to wait on: that is nearly every request. Anything else is verified and read afresh.
 */
export function authenticate(req: Request, ctx: Ctx): Session | Promise<Session> {
  const header = req.headers.get("authorization");
  if (header === null || !BEARER_SCHEME.test(header)) throw credentialsRequired("A bearer token is required.");
  const token = bearerToken(header);
  if (token === undefined) throw invalid();
  let claims: AccessClaims | undefined;
  try {
    claims = ctx.deps.accessTokens.remembered(token);
  } catch (err) {
    throw refusal(err);
  }
  const user = claims && ctx.deps.sessionCache?.remembered(claims.userId, claims.sessionId);
  return claims && user ? admit(user, claims, ctx) : authenticateAfresh(token, ctx);
}

async function authenticateAfresh(token: string, ctx: Ctx): Promise<Session> {
  let claims: AccessClaims;
  try {
    claims = await ctx.deps.accessTokens.verify(token);
  } catch (err) {
    throw refusal(err);
  }
  // From memory when the session cache may answer (src/auth/session-cache.ts), else from the database.
  const user = await (ctx.deps.sessionCache ?? ctx.deps.store).userBySession(claims.userId, claims.sessionId);
  return admit(user, claims, ctx);
}

// The version check makes a password change or a deletion end every token at once; the session
// check does the same for one login's tokens after logout or a detected refresh-token replay.
function admit(user: SessionUser | undefined, claims: AccessClaims, ctx: Ctx): Session {
  if (!user || user.tokenVersion !== claims.tokenVersion || !user.sessionAlive || user.disabledAt !== null) throw invalid();
  ctx.userId = user.id;
  return { user, sessionId: claims.sessionId, authTime: claims.authTime };
}

/** The signed-in user and the account the request acts on: their own, or for an admin the route's `:id`. */
export type Acting = Session & { target: UserRow };

const noSuchUser = () => new HttpError("not_found", "There is no user with this id.");

/**
 * Applies a route's access rule (src/app.ts): undefined for a public route, else who acts on
 * which account. On `:id`, anyone but an admin gets 403 for an account that exists and 404 for one
 * that does not.
 */
export function authorize(access: Access, req: Request, ctx: Ctx): Acting | Promise<Acting> | undefined {
  if (access === "public") return undefined;
  const session = authenticate(req, ctx);
  return session instanceof Promise ? session.then((known) => actingFor(access, known, ctx)) : actingFor(access, session, ctx);
}

function actingFor(access: Exclude<Access, "public">, session: Session, ctx: Ctx): Acting | Promise<Acting> {
  const own: Acting = { user: session.user, sessionId: session.sessionId, authTime: session.authTime, target: session.user };
  const isAdmin = session.user.role === "admin";
  if (access === "user") return own;
  if (access === "admin") {
    if (!isAdmin) throw new HttpError("forbidden", "Only admins may do this.");
    return own;
  }
  const raw = ctx.params.id ?? "";
  const id = /^[1-9]\d{0,15}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(id)) throw noSuchUser();
  if (id === session.user.id) return own;
  return ctx.deps.store.userById(id).then((target) => {
    if (!target) throw noSuchUser();
    if (!isAdmin) throw new HttpError("forbidden", "You may only manage your own account.");
    return { ...own, target };
  });
}
