// Registration, login, token refresh, logout, and the sessions they make, seen and ended: the routes
// that hand out and take back credentials. Every login failure looks the same from outside.
import { sendVerification } from "../accounts/mail-links.ts";
import { actingOf, json, type Ctx } from "../context.ts";
import { authenticate, sentBearer, type Session } from "../http/auth.ts";
import { JSON_LIMIT_BYTES, readJson, readJsonOrForm, readLimited } from "../http/body.ts";
import { credentialsRequired, HttpError, unauthorized, validationFailed } from "../http/problem.ts";
import { foldNameAliases, parseFields, rules } from "../http/validate.ts";
import { coarseIp, deviceLabel } from "../auth/device.ts";
import type { Client, IssuedSession } from "../auth/session.ts";
import { newDeviceMail } from "../mail/messages.ts";
import type { SessionSummary, UserRow } from "../store/index.ts";
import { guardPasswordCheck } from "../ratelimit/password-guard.ts";

export async function register(req: Request, ctx: Ctx): Promise<Response> {
  const { config, hasher, store, clock } = ctx.deps;
  const body = foldNameAliases(await readJson(req));
  const input = parseFields(body, { name: rules.name, email: rules.email, password: rules.password(config.passwordMinLength) }, [
    "name",
    "email",
    "password",
  ]);
  const passwordHash = await hasher.hash(input.password!, req.signal);
  const id = await store.createUser({ name: input.name!, email: input.email!, passwordHash, now: clock() });
  sendVerification(ctx, { id, name: input.name!, email: input.email! });
  return json({ id, message: "User registered successfully" }, 201);
}

const LOGIN_FIELDS = {
  email: rules.loginEmail, // shape only: a malformed email is just another failed login
  username: rules.loginEmail, // the OAuth2 password form, and clients of /users/login, send the email here
  password: rules.credential,
  grant_type: rules.ignored,
  scope: rules.ignored,
  client_id: rules.ignored,
  client_secret: rules.ignored,
};

const badCredentials = () => unauthorized("invalid_credentials", "Incorrect email or password.");

async function tokenPair(ctx: Ctx, session: IssuedSession) {
  const access = await ctx.deps.accessTokens.issue(
    { id: session.userId, tokenVersion: session.tokenVersion },
    { sessionId: session.sessionId, authTime: session.authTime },
  );
  return json(
    { access_token: access.token, token_type: "bearer", expires_in: access.expiresIn, refresh_token: session.token },
  );
}

export async function login(req: Request, ctx: Ctx): Promise<Response> {
  const { config, hasher, store, sessions, log, limiter } = ctx.deps;
  const input = parseFields(await readJsonOrForm(req), LOGIN_FIELDS, ["password"]);
  const email = input.email ?? input.username;
  if (email === undefined) {
    throw validationFailed([{ field: "email", message: "is required" }]);
  }
  // Only failures count against the account (src/ratelimit/password-guard.ts), so its owner
  // logging in is never what locks it.
  // An unknown email still pays for a hash check, so timing tells nothing either.
  const user = await guardPasswordCheck(limiter, email, ctx.ip(), async () => {
    const checking = performance.now();
    const found = await store.userByEmail(email);
    const right = found
      ? await hasher.verify(input.password!, found.passwordHash, req.signal)
      : await hasher.verifyAgainstDummy(input.password!, req.signal);
    if (right && found) return found;
    // Every failure takes as long as the slowest password check (see PasswordHasher.failureFloorMs).
    const wait = hasher.failureFloorMs - (performance.now() - checking);
    if (wait > 0) await Bun.sleep(wait);
    return false;
  });
  if (!user) throw badCredentials();
  if (hasher.needsRehash(user.passwordHash)) {
    // An upgrade that fails must not fail the login; the next login tries again.
    await hasher
      .hash(input.password!)
      .then((fresh) => store.upgradePasswordHash(user.id, user.passwordHash, fresh))
      .catch((err) => log.warn("password rehash failed", { user_id: user.id, error: String(err?.name) }));
  }
  ctx.userId = user.id;
  // Told only to someone who knows the password, so these say nothing to a guesser.
  if (user.disabledAt !== null) throw new HttpError("account_disabled", "This account has been deactivated by an administrator.");
  if (config.requireEmailVerification && !user.emailVerified) {
    throw new HttpError("email_not_verified", "Confirm your email address first: follow the link we sent, or ask for a new one at POST /email/verify/resend.");
  }
  const client: Client = { device: deviceLabel(req.headers.get("user-agent")), ip: coarseIp(ctx.ip()) ?? null };
  const session = await sessions.issue(user, client);
  if (!session) throw badCredentials(); // the password changed (or the account went) meanwhile
  await noticeDevice(ctx, user, client);
  return tokenPair(ctx, session);
}

/**
 * Remembers where this login came from and, if the account has logged in before but not from this
 * device label and network lately, mails its owner (NEW_DEVICE_ALERTS). A failure here is logged and
 * does not fail the login: the session exists already.
 */
async function noticeDevice(ctx: Ctx, user: UserRow, client: Client): Promise<void> {
  const { sessions, config, outbox, mailer, log, clock } = ctx.deps;
  const seen = await sessions.rememberLogin(user.id, client).catch((err) => {
    log.warn("login device not recorded", { user_id: user.id, request_id: ctx.requestId, error: String(err?.name) });
    return "known" as const;
  });
  if (seen !== "new" || !config.newDeviceAlerts) return;
  const at = clock();
  outbox.later("new_device", ctx.requestId, () => mailer.send(newDeviceMail(user, { ...client, at })));
}

export async function refresh(req: Request, ctx: Ctx): Promise<Response> {
  const input = parseFields(await readJson(req), { refresh_token: rules.token }, ["refresh_token"]);
  const rotated = await ctx.deps.sessions.rotate(input.refresh_token!);
  if (!rotated.ok) {
    // Someone kept a spent token past the reuse window: a thief, or a client that stores tokens
    // wrongly. Either way its owner has been signed out, which an operator may be asked about.
    const { revoked } = rotated;
    if (revoked) ctx.deps.log.warn("spent refresh token presented after the reuse window; session ended", { user_id: revoked.userId, session: revoked.sessionId });
    throw unauthorized("invalid_token", "The refresh token is invalid, expired or already used.");
  }
  ctx.userId = rotated.session.userId;
  if (rotated.reused) ctx.deps.log.info("spent refresh token reused within the window", { user_id: rotated.session.userId, session: rotated.session.sessionId });
  return tokenPair(ctx, rotated.session);
}

/** Logout's body is optional: a request with none (no Content-Type, no bytes) reads as `{}`. */
async function optionalJson(req: Request) {
  if (req.headers.has("content-type")) return readJson(req);
  if ((await readLimited(req, JSON_LIMIT_BYTES)).byteLength === 0) return {};
  throw new HttpError("unsupported_media_type", "Content-Type must be application/json.");
}

/**
 * Ends the session of the refresh token in the body (204 whatever it is: logout reveals nothing)
 * and the session of the bearer access token, if one is sent. A bearer alone must be valid (401);
 * beside a refresh token a stale one is passed over, so a client can always end its session.
 * `scope` (in the body, or the query as Supabase Auth's clients send it): `local` ends that session,
 * `others` every other session of its user, `global` all of them; 204 in every case.
 */
export async function logout(req: Request, ctx: Ctx): Promise<Response> {
  const { sessions } = ctx.deps;
  const input = parseFields(await optionalJson(req), { refresh_token: rules.token, scope: rules.logoutScope });
  const query = new URL(req.url).searchParams.get("scope");
  const scope = input.scope ?? (query === null ? "local" : parseFields({ scope: query }, { scope: rules.logoutScope }).scope!);
  const refreshToken = input.refresh_token;
  if (refreshToken === undefined && !sentBearer(req)) throw credentialsRequired("Send the session's bearer access token or its refresh_token.");
  let session: Session | undefined;
  if (sentBearer(req)) {
    try {
      session = await authenticate(req, ctx);
    } catch (err) {
      if (refreshToken === undefined || !(err instanceof HttpError) || err.code !== "invalid_token") throw err;
    }
  }
  if (scope !== "local") {
    // "This session": the bearer's, else the refresh token's; neither known, nothing to end.
    const current = session ? { userId: session.user.id, sessionId: session.sessionId } : refreshToken !== undefined ? await sessions.owner(refreshToken) : undefined;
    if (current) await sessions.endAll(current.userId, scope === "others" ? current.sessionId : undefined);
    return new Response(null, { status: 204 });
  }
  if (session) await sessions.end(session.sessionId);
  if (refreshToken !== undefined) await sessions.revoke(refreshToken);
  return new Response(null, { status: 204 });
}

// Session ids are 16 random bytes in base64url (src/auth/session.ts newId).
const SESSION_ID = /^[A-Za-z0-9_-]{22}$/;

const sessionWire = (session: SessionSummary, current: string) => ({
  id: session.id,
  created_at: session.createdAt,
  last_used_at: session.lastUsedAt,
  device: session.device,
  ip: session.ip,
  current: session.id === current,
});

/** GET /me/sessions, GET /users/:id/sessions: the account's live sessions, most recently used first. */
export async function listSessions(_req: Request, ctx: Ctx): Promise<Response> {
  const { target, sessionId } = actingOf(ctx);
  const sessions = await ctx.deps.sessions.list(target.id);
  return json({ sessions: sessions.map((session) => sessionWire(session, sessionId)) });
}

/**
 * DELETE /me/sessions/:sid, DELETE /users/:id/sessions/:sid: ends one session of the account. An id
 * that is not one of the account's sessions is 404, whoever's it is: an id says nothing about others.
 */
export async function endSession(_req: Request, ctx: Ctx): Promise<Response> {
  const { target } = actingOf(ctx);
  const sid = ctx.params.sid ?? "";
  const ended = SESSION_ID.test(sid) && (await ctx.deps.sessions.endOwned(target.id, sid));
  if (!ended) throw new HttpError("not_found", "There is no session with this id.");
  return new Response(null, { status: 204 });
}
