// Who may act on which account: the user themself, or an admin. Everyone else gets 403 for an
// account that exists and 404 for one that does not (seed 002: "unless admin").
import type { Ctx } from "../context.ts";
import type { UserRow } from "../store/index.ts";
import { authenticate, type Session } from "../http/auth.ts";
import { HttpError } from "../http/problem.ts";

export type Acting = Session & { target: UserRow };

/** Who is acting on which account, for a request; throws the 401/403/404 when nobody may. */
export type Authorizer = (req: Request, ctx: Ctx) => Promise<Acting>;

const notFound = () => new HttpError("not_found", "There is no user with this id.");

export function requireAdmin(session: Session): void {
  if (session.user.role !== "admin") throw new HttpError("forbidden", "Only admins may do this.");
}

/** The signed-in user and the account named by the route's `:id`, if they may act on it. */
export async function authorizeTarget(req: Request, ctx: Ctx): Promise<Acting> {
  const session = await authenticate(req, ctx);
  const raw = ctx.params.id ?? "";
  const id = /^[1-9]\d{0,15}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(id)) throw notFound();
  if (id === session.user.id) return { ...session, target: session.user };
  const target = await ctx.deps.store.userById(id);
  if (!target) throw notFound();
  if (session.user.role !== "admin") throw new HttpError("forbidden", "You may only manage your own account.");
  return { ...session, target };
}

/** For the /me routes: the signed-in user acting on their own account. */
export async function self(req: Request, ctx: Ctx): Promise<Acting> {
  const session = await authenticate(req, ctx);
  return { ...session, target: session.user };
}
