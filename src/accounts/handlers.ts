// Read, change and delete one account, as route handlers for whoever `who` says is acting on
// which account: the signed-in user on their own (/me and the seeds' names for it), or an owner or
// admin on the account a route names by id (/users/{id}, seed 004's /profile/{id}).
import { json, type Handler } from "../context.ts";
import { toProfile } from "../routes/profile.ts";
import type { Authorizer } from "./authorize.ts";
import { deleteAccount, updateAccount } from "./update.ts";

export const readAccount =
  (who: Authorizer): Handler =>
  async (req, ctx) =>
    json(toProfile((await who(req, ctx)).target, ctx.deps.storage));

export const changeAccount =
  (who: Authorizer): Handler =>
  async (req, ctx) =>
    updateAccount(req, ctx, await who(req, ctx));

export const removeAccount =
  (who: Authorizer): Handler =>
  async (req, ctx) =>
    deleteAccount(ctx, await who(req, ctx));
