// `create-admin --email … [--password …] [--name …]`: the first admin, or any later one. An address
// that already has a verified account is promoted (and reactivated) with its password left as it
// is; an unverified one may be a stranger's, so it is refused. A new account needs --password and
// is created verified, since the operator vouches for it.
import { PasswordHasher } from "../auth/password.ts";
import type { Config } from "../config.ts";
import type { Store } from "../db/index.ts";
import { rules, type Rule } from "../http/validate.ts";

/** A rule's verdict as an error that names the option. */
function option<T>(name: string, rule: Rule<T>, value: unknown): T {
  try {
    return rule(value);
  } catch (err) {
    throw new Error(`--${name} ${(err as Error).message}`);
  }
}

export type CreateAdminResult = { action: "created" | "promoted" | "unchanged"; id: number; email: string };

export async function createAdmin(
  store: Store,
  config: Config,
  input: { email: string; password?: string; name?: string; trustUnverified?: boolean },
  now = new Date(),
): Promise<CreateAdminResult> {
  const email = option("email", rules.email, input.email);
  const existing = await store.userByEmail(email);
  if (existing) {
    if (existing.role === "admin" && existing.disabledAt === null) return { action: "unchanged", id: existing.id, email };
    if (!existing.emailVerified && !input.trustUnverified) {
      throw new Error(
        `the account for ${email} never confirmed its address, so it may not be yours: confirm it first, or delete it and run this again (or add --trust-unverified if you know whose it is)`,
      );
    }
    await store.updateAccount(existing.id, { role: "admin", disabled: false }, {}, now);
    return { action: "promoted", id: existing.id, email };
  }
  if (input.password === undefined) throw new Error(`there is no account for ${email}: give --password to create one`);
  const password = option("password", rules.password(config.passwordMinLength), input.password);
  const hasher = new PasswordHasher({ memoryKiB: config.argon2MemoryKiB, timeCost: config.argon2TimeCost, concurrency: 1, queueMax: 1 });
  try {
    const passwordHash = await hasher.hash(password);
    const id = await store.createUser({ name: option("name", rules.name, input.name ?? "Admin"), email, passwordHash, now, role: "admin", emailVerified: true });
    return { action: "created", id, email };
  } finally {
    hasher.close();
  }
}
