// Proof that an account's owner is at the keyboard, asked before changing its email or password and
// before deleting it: the current password, or a recent login. A stolen access token alone is not enough.
import type { Ctx } from "../context.ts";
import type { Acting } from "../http/auth.ts";
import { HttpError, validationFailed } from "../http/problem.ts";
import { guardPasswordCheck } from "../ratelimit/password-guard.ts";

/**
 * The current password, or a login less than REAUTH_WINDOW_SECONDS old (GitHub's "sudo mode"), which
 * is what lets older clients, which send no current password, change theirs right after logging in.
 */
export async function confirmOwner(ctx: Ctx, acting: Acting, currentPassword: string | undefined, action = "change email or password"): Promise<void> {
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
