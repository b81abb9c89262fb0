// Accounts: one read, changed or deleted, for /me (the caller's own) and /users/{id} (its owner or an
// admin) alike, the access rule picking which; and the admin's paged list of all of them.
import { sendEmailChanged } from "../accounts/mail-links.ts";
import { profileJson, toProfile } from "../accounts/profile.ts";
import { actingOf, json, jsonText, type Ctx } from "../context.ts";
import type { Acting } from "../http/auth.ts";
import { pictureObjects, type AccountChanges, type Expectation } from "../store/index.ts";
import { readJson, type JsonObject } from "../http/body.ts";
import { HttpError, unauthorized, validationFailed } from "../http/problem.ts";
import { foldNameAliases, parseFields, rules } from "../http/validate.ts";
import { guardPasswordCheck } from "../ratelimit/password-guard.ts";

export function read(_req: Request, ctx: Ctx): Response {
  return jsonText(profileJson(actingOf(ctx).target, ctx.deps.storage));
}

/**
 * The current password, or a login less than REAUTH_WINDOW_SECONDS old (GitHub's "sudo mode"), which
 * is what lets older clients, which send no current password, change theirs right after logging in.
 * A stolen access token alone must not change the email or password, or end the account for good.
 */
async function confirmOwner(ctx: Ctx, acting: Acting, currentPassword: string | undefined, action = "change email or password"): Promise<void> {
  if (currentPassword === undefined) {
    const age = ctx.deps.clock() / 1000 - acting.authTime;
    if (age <= ctx.deps.config.reauthWindowSeconds) return;
    throw validationFailed([{ field: "current_password", message: `is required to ${action} (or log in again first)` }]);
  }
  // A guess at the password like a login's: the same per-IP and per-account limits and queue.
  const { hasher, limiter } = ctx.deps;
  await limiter.take("login_ip", ctx.ip());
  // Stored addresses are canonical already (every write goes through rules.email), as login's key is.
  const right = await guardPasswordCheck(limiter, acting.user.email, ctx.ip(), () =>
    hasher.verify(currentPassword, acting.user.passwordHash),
  );
  if (!right) throw new HttpError("forbidden", "The current password is incorrect.");
}

/**
 * An email change mails the old address and the new one, and a taken address answers 409: limited
 * per account and per address it goes to, as verification resends are, before anything is tried.
 */
async function limitEmailChange(ctx: Ctx, userId: number, newEmail: string): Promise<void> {
  await ctx.deps.limiter.take("email_change", `user:${userId}`);
  await ctx.deps.limiter.take("email_change", `email:${newEmail}`);
}

export async function update(req: Request, ctx: Ctx): Promise<Response> {
  const { config, hasher, store, accessTokens, clock, storage } = ctx.deps;
  const acting = actingOf(ctx);
  const input = parseFields(foldNameAliases(await readJson(req)), {
    name: rules.name,
    bio: rules.bio,
    email: rules.email,
    password: rules.password(config.passwordMinLength),
    current_password: rules.credential,
    role: rules.role,
    active: rules.boolean,
  });
  const { current_password: currentPassword, ...wanted } = input;
  if (Object.keys(wanted).length === 0) {
    throw validationFailed([{ field: "body", message: "must contain at least one of name, bio, email, password" }]);
  }
  const { target, user: actor } = acting;
  const isSelf = target.id === actor.id;
  if ((input.role !== undefined || input.active !== undefined) && actor.role !== "admin") {
    throw new HttpError("forbidden", "Only admins may change roles or deactivate accounts.");
  }
  const newEmail = input.email !== undefined && input.email !== target.email ? input.email : undefined;
  const sensitive = input.password !== undefined || newEmail !== undefined;
  if (isSelf && sensitive) await confirmOwner(ctx, acting, currentPassword);
  if (newEmail !== undefined) await limitEmailChange(ctx, target.id, newEmail);

  const changes: AccountChanges = {
    name: input.name,
    bio: input.bio,
    email: newEmail,
    passwordHash: input.password === undefined ? undefined : await hasher.hash(input.password),
    role: input.role,
    disabled: input.active === undefined ? undefined : !input.active,
  };
  // The owner's change holds only if nothing was revoked or re-passworded while we worked; an
  // admin's applies to the account as it is.
  const usesAdminRights = !isSelf || input.role !== undefined || input.active !== undefined;
  const expect: Expectation = isSelf
    ? { tokenVersion: target.tokenVersion, passwordHash: sensitive ? target.passwordHash : undefined, keepSession: acting.sessionId }
    : {};
  if (usesAdminRights) expect.actingAdmin = actor.id;
  const updated = await store.updateAccount(target.id, changes, expect, clock());
  if (!updated) {
    if (isSelf) throw unauthorized("invalid_token", "The session is no longer valid.");
    throw new HttpError("not_found", "There is no user with this id.");
  }
  if (newEmail !== undefined) sendEmailChanged(ctx, target, updated);

  const body: Record<string, unknown> = { message: "Profile updated successfully", user: toProfile(updated, storage) };
  if (isSelf && changes.passwordHash !== undefined && updated.disabledAt === null) {
    // Every access token died with the version bump; this session gets a fresh one to carry on.
    const access = await accessTokens.issue(updated, { sessionId: acting.sessionId, authTime: acting.authTime });
    Object.assign(body, { access_token: access.token, token_type: "bearer", expires_in: access.expiresIn });
  }
  return json(body);
}

/** A DELETE may come without a body, or with an empty one under a Content-Type: that is `{}`. */
async function optionalJson(req: Request): Promise<JsonObject> {
  const length = req.headers.get("content-length");
  const none = !req.headers.has("content-type") && !req.headers.has("transfer-encoding") && length === null;
  return none || length === "0" ? {} : readJson(req);
}

/**
 * Deletes the account and its picture; the last active admin stays (409). Deleting one's own asks
 * what changing its email or password asks; an admin deleting someone else's is not asked.
 */
export async function remove(req: Request, ctx: Ctx): Promise<Response> {
  const { store, sweeper, imageLocks } = ctx.deps;
  const acting = actingOf(ctx);
  if (acting.target.id === acting.user.id) {
    const input = parseFields(await optionalJson(req), { current_password: rules.credential });
    await confirmOwner(ctx, acting, input.current_password, "delete the account");
  }
  const id = acting.target.id;
  const actingAdmin = id === acting.user.id ? undefined : acting.user.id;
  await imageLocks.run(id, async () => {
    const row = await store.userById(id);
    const picture = row?.imageVersion ?? null;
    // Row first, the commit point: a picture storage cannot remove now goes later (src/storage/sweeper.ts).
    await store.deleteUser(id, actingAdmin);
    if (row?.imageSet) await sweeper.discardObjects(id, pictureObjects(row.imageSet));
    else if (picture !== null) await sweeper.discard(id, picture, undefined);
  });
  return json({ message: "Account deleted" });
}

// The admin's list of accounts, a page at a time behind an opaque cursor.
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
