// The signed-in user's own account: read it, change it, delete it. Changing the email or password
// needs the current password; a new password ends every other session at once.
import { json, type Ctx } from "../context.ts";
import { authenticate } from "../http/auth.ts";
import { readJson } from "../http/body.ts";
import { HttpError, unauthorized, validationFailed } from "../http/problem.ts";
import { parseFields, rules } from "../http/validate.ts";
import { toProfile } from "./profile.ts";

export async function getMe(req: Request, ctx: Ctx): Promise<Response> {
  const { user } = await authenticate(req, ctx);
  return json(toProfile(user, ctx.deps.storage));
}

export async function updateMe(req: Request, ctx: Ctx): Promise<Response> {
  const { user, sessionId } = await authenticate(req, ctx);
  const { config, hasher, store, accessTokens, clock, storage } = ctx.deps;
  const input = parseFields(await readJson(req), {
    name: rules.name,
    bio: rules.bio,
    email: rules.email,
    password: rules.password(config.passwordMinLength),
    current_password: rules.credential,
  });
  const { current_password: currentPassword, password, ...profile } = input;
  if (password === undefined && Object.keys(profile).length === 0) {
    throw validationFailed([{ field: "body", message: "must contain at least one of name, bio, email, password" }]);
  }
  const sensitive = password !== undefined || (input.email !== undefined && input.email !== user.email);
  if (sensitive) {
    if (currentPassword === undefined) {
      throw validationFailed([{ field: "current_password", message: "is required to change email or password" }]);
    }
    if (!(await hasher.verify(currentPassword, user.passwordHash))) {
      throw new HttpError("forbidden", "The current password is incorrect.");
    }
  }
  const passwordHash = password === undefined ? undefined : await hasher.hash(password);
  const expect = { tokenVersion: user.tokenVersion, passwordHash: sensitive ? user.passwordHash : undefined, keepFamily: sessionId };
  const updated = await store.updateProfile(user.id, { ...profile, passwordHash }, expect, new Date(clock()));
  // Revoked, deleted or re-passworded while we worked: this session no longer speaks for the account.
  if (!updated) throw unauthorized("invalid_token", "The session is no longer valid.");
  const body: Record<string, unknown> = { message: "Profile updated successfully", user: toProfile(updated, storage) };
  if (passwordHash !== undefined) {
    // Every access token died with the version bump; this session gets a fresh one to carry on.
    const access = await accessTokens.issue(updated, sessionId);
    Object.assign(body, { access_token: access.token, token_type: "bearer", expires_in: access.expiresIn });
  }
  return json(body, 200, { "Cache-Control": "no-store" });
}

export async function deleteMe(req: Request, ctx: Ctx): Promise<Response> {
  const { user } = await authenticate(req, ctx);
  const { store, storage, imageLocks } = ctx.deps;
  await imageLocks.run(user.id, async () => {
    const picture = (await store.userById(user.id))?.imageVersion ?? null;
    // Row first: if we crash before the picture goes, start-up reconciliation removes the orphan.
    await store.deleteUser(user.id);
    if (picture !== null) await storage.remove(user.id, picture);
  });
  return json({ message: "Account deleted" });
}
