// Read, change and delete one account, as route handlers for whoever `who` says is acting on
// which account: the signed-in user on their own (/me and the seeds' names for it), or an owner or
// admin on the account a route names by id (/users/{id}, seed 004's /profile/{id}).
import { json, type Handler } from "../context.ts";
import { readJson, type JsonObject } from "../http/body.ts";
import { parseFields, rules } from "../http/validate.ts";
import { toProfile } from "../routes/profile.ts";
import type { Authorizer } from "./authorize.ts";
import { confirmOwner, deleteAccount, updateAccount } from "./update.ts";

export const readAccount =
  (who: Authorizer): Handler =>
  async (req, ctx) =>
    json(toProfile((await who(req, ctx)).target, ctx.deps.storage));

export const changeAccount =
  (who: Authorizer): Handler =>
  async (req, ctx) =>
    updateAccount(req, ctx, await who(req, ctx));

/** A DELETE may come without a body, or with an empty one under a Content-Type: that is `{}`. */
async function optionalJson(req: Request): Promise<JsonObject> {
  const length = req.headers.get("content-length");
  const none = !req.headers.has("content-type") && !req.headers.has("transfer-encoding") && length === null;
  return none || length === "0" ? {} : readJson(req);
}

/**
 * Deleting one's own account, by any route, asks what changing its email or password asks: the
 * current password or a recent login (a stolen access token alone must not end the account for
 * good). An admin deleting someone else's account is not asked.
 */
export const removeAccount =
  (who: Authorizer): Handler =>
  async (req, ctx) => {
    const acting = await who(req, ctx);
    if (acting.target.id === acting.user.id) {
      const input = parseFields(await optionalJson(req), { current_password: rules.credential });
      await confirmOwner(ctx, acting, input.current_password, "delete the account");
    }
    return deleteAccount(ctx, acting);
  };
