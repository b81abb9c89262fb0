// Mailed links: a one-time token stored hashed, bound to the address it goes to, and a message
// with a link to the front end (APP_URL) or to this service's own small pages. Called through the
// Outbox, after the response, so no client waits on the mail server.
import { mintOpaque } from "../auth/opaque.ts";
import type { Ctx, Deps } from "../context.ts";
import type { AccountTokenPurpose } from "../db/account-tokens.ts";
import type { UserRow } from "../db/index.ts";
import { emailChangedMail, passwordResetMail, verificationMail } from "../mail/messages.ts";

type Recipient = Pick<UserRow, "id" | "name" | "email">;

/** The request a mail comes from: its dependencies, and its id for the log if the mail fails. */
export type MailContext = Pick<Ctx, "deps" | "requestId">;

const PAGES: Record<AccountTokenPurpose, string> = { email_verification: "/verify-email", password_reset: "/reset-password" };

/** The link, or undefined if the account is gone by now. */
async function mintLink(deps: Deps, user: Recipient, purpose: AccountTokenPurpose, ttlSeconds: number): Promise<string | undefined> {
  const { id, token, secretHash } = mintOpaque();
  const now = deps.clock();
  const expiresAt = new Date(now + ttlSeconds * 1000).toISOString();
  const stored = await deps.accountTokens.insert({ id, userId: user.id, purpose, email: user.email.toLowerCase(), secretHash, expiresAt }, new Date(now));
  if (!stored) return undefined;
  return `${deps.config.linkBaseUrl}${PAGES[purpose]}?token=${encodeURIComponent(token)}`;
}

export function sendVerification({ deps, requestId }: MailContext, user: Recipient): void {
  deps.outbox.later("email_verification", requestId, async () => {
    const ttl = deps.config.emailVerificationTtlSeconds;
    const link = await mintLink(deps, user, "email_verification", ttl);
    if (link === undefined) return false;
    await deps.mailer.send(verificationMail(user, link, ttl));
  });
}

/** Looks the address up in the background too, so the caller's timing says nothing about it. */
export function sendPasswordReset({ deps, requestId }: MailContext, email: string): void {
  deps.outbox.later("password_reset", requestId, async () => {
    const user = await deps.store.userByEmail(email);
    if (!user || user.disabledAt !== null) return false;
    const ttl = deps.config.passwordResetTtlSeconds;
    const link = await mintLink(deps, user, "password_reset", ttl);
    if (link === undefined) return false;
    await deps.mailer.send(passwordResetMail(user, link, ttl));
  });
}

/** After an email change: a notice to the old address, a verification link to the new one. */
export function sendEmailChanged(ctx: MailContext, before: Recipient, after: Recipient): void {
  ctx.deps.outbox.later("email_changed", ctx.requestId, () => ctx.deps.mailer.send(emailChangedMail(before, after.email)));
  sendVerification(ctx, after);
}
