// Forgotten passwords and email verification, the routes behind the links we mail. A request naming an
// address answers alike whether an account has it, looking it up after answering: no body or timing tells.
import { sendPasswordReset, sendVerification, sendVerificationTo } from "../accounts/mail-links.ts";
import { parseOpaque, secretMatches } from "../auth/session.ts";
import { json, type Ctx } from "../context.ts";
import type { AccountTokenPurpose } from "../store/index.ts";
import { authenticate } from "../http/auth.ts";
import { readJson } from "../http/body.ts";
import { HttpError } from "../http/problem.ts";
import { parseFields, rules } from "../http/validate.ts";

const badLink = () => new HttpError("link_invalid", "This link is invalid, has expired or was already used; ask for a new one.");

/** A mailed token that is ours, for this purpose, unspent and unexpired; 400 otherwise. */
async function checkLink(ctx: Ctx, token: string, purpose: AccountTokenPurpose) {
  const parts = parseOpaque(token);
  const row = parts && (await ctx.deps.accountTokens.find(parts.id));
  if (!parts || !row || !secretMatches(parts.secret, row.secretHash)) throw badLink();
  if (row.purpose !== purpose || row.usedAt !== null || row.expiresAt <= ctx.deps.clock()) throw badLink();
  return row;
}

export async function forgotPassword(req: Request, ctx: Ctx): Promise<Response> {
  const { email } = parseFields(await readJson(req), { email: rules.email }, ["email"]);
  await ctx.deps.limiter.take("forgot_email", email!);
  sendPasswordReset(ctx, email!);
  return json({ message: "If an account uses this address, a link to reset its password is on its way." }, 202);
}

export async function resetPassword(req: Request, ctx: Ctx): Promise<Response> {
  const { config, hasher, accountTokens, clock } = ctx.deps;
  const input = parseFields(
    await readJson(req),
    { token: rules.token, new_password: rules.password(config.passwordMinLength) },
    ["token", "new_password"],
  );
  const row = await checkLink(ctx, input.token!, "password_reset");
  const passwordHash = await hasher.hash(input.new_password!);
  // Spent here, conditionally: of two requests racing with one link, one wins.
  const userId = await accountTokens.resetPassword(row.id, passwordHash, clock());
  if (userId === undefined) throw badLink();
  ctx.userId = userId;
  return json({ message: "Password changed. Every session was signed out; log in with the new password." });
}

export async function verifyEmail(req: Request, ctx: Ctx): Promise<Response> {
  const { token } = parseFields(await readJson(req), { token: rules.token }, ["token"]);
  const row = await checkLink(ctx, token!, "email_verification");
  const userId = await ctx.deps.accountTokens.verifyEmail(row.id, ctx.deps.clock());
  if (userId === undefined) throw badLink();
  ctx.userId = userId;
  return json({ message: "Email address confirmed.", email: row.email, email_verified: true });
}

/**
 * Signed in: a new link for the account's address. Not signed in, with `{email}`: the same, if an
 * account has that address and is unverified; this is how someone REQUIRE_EMAIL_VERIFICATION keeps
 * from logging in gets a new link. Either way the answer does not say whether one was sent.
 */
export async function resendVerification(req: Request, ctx: Ctx): Promise<Response> {
  const { limiter } = ctx.deps;
  const accepted = json({ message: "If the address still needs confirming, a new link is on its way." }, 202);
  if (req.headers.has("authorization")) {
    const { user } = await authenticate(req, ctx);
    await limiter.take("verify_resend", `user:${user.id}`);
    if (!user.emailVerified) sendVerification(ctx, user);
    return accepted;
  }
  await limiter.take("forgot_ip", ctx.ip());
  const { email } = parseFields(await readJson(req), { email: rules.email }, ["email"]);
  await limiter.take("verify_resend", `email:${email}`);
  sendVerificationTo(ctx, email!);
  return accepted;
}
