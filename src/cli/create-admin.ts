// Making an admin, the one way both paths take: `create-admin --email … [--password …]` and the
// server's ADMIN_EMAIL + ADMIN_PASSWORD at start-up (src/wire.ts), with registration's email rule.
import { rules, type Rule } from "../http/validate.ts";
import type { Store } from "../store/index.ts";

/** Why no admin was made; the message says what to do. */
export class AdminRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AdminRefusedError";
  }
}

/** A rule's verdict as an error that names the option. */
function option<T>(name: string, rule: Rule<T>, value: unknown): T {
  try {
    return rule(value);
  } catch (err) {
    throw new AdminRefusedError(`--${name} ${(err as Error).message}`);
  }
}

export type CreateAdminInput = { email: string; password?: string; name?: string; trustUnverified?: boolean };
export type CreateAdminResult = { action: "created" | "promoted" | "unchanged"; id: number; email: string };

/**
 * Creates or promotes the admin for `input.email`. An address that already has a verified account
 * is promoted (and reactivated) with its password left as it is; an unverified one may be a
 * stranger's (registered before the operator chose the address), so it is refused unless the
 * operator says they know whose it is. A new account is created verified: the operator vouches. `hash` hashes a new account's password (only
 * called when one is created). Throws AdminRefusedError, or EmailTakenError when another process
 * created the account between our read and our insert.
 */
export async function createAdmin(
  store: Store,
  hash: (password: string) => Promise<string>,
  passwordMinLength: number,
  input: CreateAdminInput,
  now: number,
): Promise<CreateAdminResult> {
  const email = option("email", rules.email, input.email);
  const existing = await store.userByEmail(email);
  if (existing) {
    if (existing.role === "admin" && existing.disabledAt === null) return { action: "unchanged", id: existing.id, email };
    if (!existing.emailVerified && !input.trustUnverified) {
      throw new AdminRefusedError(
        `the account for ${email} never confirmed its address, so it may not be yours: confirm it first, or delete it and run this again (or add --trust-unverified if you know whose it is)`,
      );
    }
    await store.updateAccount(existing.id, { role: "admin", disabled: false }, {}, now);
    return { action: "promoted", id: existing.id, email };
  }
  if (input.password === undefined) throw new AdminRefusedError(`there is no account for ${email}: give --password to create one`);
  const password = option("password", rules.password(passwordMinLength), input.password);
  const name = option("name", rules.name, input.name ?? "Admin");
  const id = await store.createUser({ name, email, passwordHash: await hash(password), now, role: "admin", emailVerified: true });
  return { action: "created", id, email };
}
