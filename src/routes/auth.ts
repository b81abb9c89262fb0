// Registration, login, token refresh and logout: the routes that hand out and take back credentials.
// Every login failure looks the same from outside, and an unknown email still pays for a hash check.
import { sendVerification } from "../accounts/mail-links.ts";
import { json, type Ctx } from "../context.ts";
import { readJson, readJsonOrForm } from "../http/body.ts";
import { HttpError, unauthorized, validationFailed } from "../http/problem.ts";
import { foldNameAliases, parseFields, rules } from "../http/validate.ts";
import type { RefreshResult } from "../auth/refresh.ts";

const NO_STORE = { "Cache-Control": "no-store" };

export async function register(req: Request, ctx: Ctx): Promise<Response> {
  const { config, hasher, store, clock, limiter } = ctx.deps;
  await limiter.take("register_ip", ctx.ip());
  const body = foldNameAliases(await readJson(req));
  const input = parseFields(body, { name: rules.name, email: rules.email, password: rules.password(config.passwordMinLength) }, [
    "name",
    "email",
    "password",
  ]);
  const passwordHash = await hasher.hash(input.password!);
  const id = await store.createUser({ name: input.name!, email: input.email!, passwordHash, now: new Date(clock()) });
  sendVerification(ctx, { id, name: input.name!, email: input.email! });
  return json({ id, message: "User registered successfully" }, 201, NO_STORE);
}

const LOGIN_FIELDS = {
  email: rules.loginEmail, // shape only: a malformed email is just another failed login
  username: rules.loginEmail, // OAuth2 password form and seed-003 clients send the email here
  password: rules.credential,
  grant_type: rules.ignored,
  scope: rules.ignored,
  client_id: rules.ignored,
  client_secret: rules.ignored,
};

const badCredentials = () => unauthorized("invalid_credentials", "Incorrect email or password.");

async function tokenPair(ctx: Ctx, session: RefreshResult) {
  const access = await ctx.deps.accessTokens.issue(
    { id: session.userId, tokenVersion: session.tokenVersion },
    { id: session.familyId, authenticatedAt: session.authenticatedAt },
  );
  return json(
    { access_token: access.token, token_type: "bearer", expires_in: access.expiresIn, refresh_token: session.token },
    200,
    NO_STORE,
  );
}

export async function login(req: Request, ctx: Ctx): Promise<Response> {
  const { config, hasher, store, refreshTokens, log, limiter } = ctx.deps;
  await limiter.take("login_ip", ctx.ip());
  const input = parseFields(await readJsonOrForm(req), LOGIN_FIELDS, ["password"]);
  const email = input.email ?? input.username;
  if (email === undefined) {
    throw validationFailed([{ field: "email", message: "is required" }]);
  }
  // Only failures count against an account, so its owner logging in is never what locks it.
  const account = `${ctx.ip()}|${email}`;
  await limiter.take("login_account", account, 0);
  const checking = performance.now();
  const failed = async () => {
    await limiter.take("login_account", account).catch(() => {});
    // Every failure takes as long as the slowest password check (see PasswordHasher.failureFloorMs).
    const wait = hasher.failureFloorMs - (performance.now() - checking);
    if (wait > 0) await Bun.sleep(wait);
    return badCredentials();
  };
  const user = await store.userByEmail(email);
  if (!user) {
    await hasher.verifyAgainstDummy(input.password!);
    throw await failed();
  }
  if (!(await hasher.verify(input.password!, user.passwordHash))) throw await failed();
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
  const session = await refreshTokens.issue(user);
  if (!session) throw badCredentials(); // the password changed (or the account went) meanwhile
  return tokenPair(ctx, session);
}

export async function refresh(req: Request, ctx: Ctx): Promise<Response> {
  await ctx.deps.limiter.take("refresh_ip", ctx.ip());
  const input = parseFields(await readJson(req), { refresh_token: rules.token }, ["refresh_token"]);
  const rotated = await ctx.deps.refreshTokens.rotate(input.refresh_token!);
  if (!rotated) throw unauthorized("invalid_token", "The refresh token is invalid, expired or already used.");
  ctx.userId = rotated.userId;
  return tokenPair(ctx, rotated);
}

export async function logout(req: Request, ctx: Ctx): Promise<Response> {
  const input = parseFields(await readJson(req), { refresh_token: rules.token }, ["refresh_token"]);
  await ctx.deps.refreshTokens.revoke(input.refresh_token!);
  return new Response(null, { status: 204, headers: NO_STORE });
}
