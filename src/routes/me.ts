// The signed-in user's own account: read it, change it, delete it (src/accounts/update.ts decides
// what a change needs).
import { self } from "../accounts/authorize.ts";
import { deleteAccount, updateAccount } from "../accounts/update.ts";
import { json, type Ctx } from "../context.ts";
import { toProfile } from "./profile.ts";

export async function getMe(req: Request, ctx: Ctx): Promise<Response> {
  const { user } = await self(req, ctx);
  return json(toProfile(user, ctx.deps.storage));
}

export async function updateMe(req: Request, ctx: Ctx): Promise<Response> {
  return updateAccount(req, ctx, await self(req, ctx));
}

export async function deleteMe(req: Request, ctx: Ctx): Promise<Response> {
  return deleteAccount(ctx, await self(req, ctx));
}
