// Mailed links: a one-time token stored hashed, bound to its address, in a message linking to APP_URL
// or our own pages; sent through the Outbox after the response, so no client waits on the mail server.
import { mintOpaque } from "../auth/session.ts";
import type { Config } from "../config.ts";
import type { Ctx, Deps } from "../context.ts";
import type { Mail } from "../mail/mailer.ts";
import { emailChangedMail, passwordResetMail, verificationMail } from "../mail/messages.ts";
import type { AccountTokenPurpose, UserRow } from "../store/index.ts";

type Recipient = Pick<UserRow, "id" | "name" | "email">;

/** The request a mail comes from: its dependencies, and its id for the log if the mail fails. */
export type MailContext = Pick<Ctx, "deps" | "requestId">;

// Per kind of link: the page it opens, how long it works, and the message that carries it.
const LINKS: Record<AccountTokenPurpose, { page: string; ttl: (config: Config) => number; mail: (to: Recipient, link: string, ttl: number) => Mail }> = {
  email_verification: { page: "/verify-email", ttl: (c) => c.emailVerificationTtlSeconds, mail: verificationMail },
  password_reset: { page: "/reset-password", ttl: (c) => c.passwordResetTtlSeconds, mail: passwordResetMail },
};

/** Stores a token for `user` and mails its link; false if the account is gone by now. */
async function sendLink(deps: Deps, user: Recipient, purpose: AccountTokenPurpose): Promise<boolean> {
  const { page, ttl, mail } = LINKS[purpose];
  const seconds = ttl(deps.config);
  const { id, token, secretHash } = mintOpaque();
  const now = deps.clock();
  const expiresAt = now + seconds * 1000;
  const stored = await deps.accountTokens.insert({ id, userId: user.id, purpose, email: user.email.toLowerCase(), secretHash, expiresAt }, now);
  if (!stored) return false;
  await deps.mailer.send(mail(user, `${deps.config.linkBaseUrl}${page}?token=${encodeURIComponent(token)}`, seconds));
  return true;
}

/**
 * For requests that name an address: the lookup happens in the background too, so the caller's
 * timing says nothing about whether an account has it. Active accounts only, and only if `wanted`.
 */
function sendLinkToAddress(ctx: MailContext, purpose: AccountTokenPurpose, email: string, wanted: (user: UserRow) => boolean): void {
  ctx.deps.outbox.later(purpose, ctx.requestId, async () => {
    const user = await ctx.deps.store.userByEmail(email);
    return user !== undefined && user.disabledAt === null && wanted(user) && sendLink(ctx.deps, user, purpose);
  });
}

export function sendVerification(ctx: MailContext, user: Recipient): void {
  ctx.deps.outbox.later("email_verification", ctx.requestId, () => sendLink(ctx.deps, user, "email_verification"));
}

/** A new verification link for whoever has `email`, if that address still needs confirming. */
export function sendVerificationTo(ctx: MailContext, email: string): void {
  sendLinkToAddress(ctx, "email_verification", email, (user) => !user.emailVerified);
}

export function sendPasswordReset(ctx: MailContext, email: string): void {
  sendLinkToAddress(ctx, "password_reset", email, () => true);
}

/** After an email change: a notice to the old address, a verification link to the new one. */
export function sendEmailChanged(ctx: MailContext, before: Recipient, after: Recipient): void {
  ctx.deps.outbox.later("email_changed", ctx.requestId, () => ctx.deps.mailer.send(emailChangedMail(before, after.email)));
  sendVerification(ctx, after);
}
