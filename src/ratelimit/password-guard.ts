// Every check of a password against an account (a login, a current_password) goes through here, so
// both count against the same limits and a flood of wrong guesses is refused before it is hashed.
import type { LimitName, RateLimiter } from "./limiter.ts";

// Past the account's ceiling, each check waits this long, doubled for every failure past it, at most MAX.
const CEILING_DELAY_MS = 100;
const CEILING_DELAY_MAX_MS = 2000;

export const ceilingDelayMs = (excess: number): number => Math.min(CEILING_DELAY_MAX_MS, CEILING_DELAY_MS * 2 ** Math.max(0, excess - 1));

/**
 * Runs `check` (false: wrong password) for `account` (its canonical email) from `ip`, under two limits:
 *
 * - login_account, per network and account (10 a minute): the guess is counted *before* the check
 *   and given back if it was right, so 400 parallel guesses cannot all pass a look at an empty
 *   counter. The 11th is a 429 before any hashing, and the hashing queue stays free for others.
 * - account_failures, per account from anywhere (20 per 15 minutes): past it, a network that has
 *   already failed on this account in that window is refused (429, no hashing). A network that has
 *   not still gets its check, after a delay that doubles with each failure past the ceiling (0.1 s
 *   to 2 s), and a wrong guess is then a 429, not the usual answer. So guesses spread over many
 *   addresses get one per network per window, slowly, while the owner with the right password
 *   from a network that has not failed is let in, late but not refused: nobody can lock them out.
 *
 * Throws 429 as above; an error from `check` (a full hashing queue) is not counted as a failure.
 */
export async function guardPasswordCheck<T>(
  limiter: RateLimiter,
  account: string,
  ip: string,
  check: () => Promise<T | false>,
  sleep: (ms: number) => Promise<unknown> = Bun.sleep,
): Promise<T | false> {
  // "<network>|<account>" and "any|<account>": a login may name any string as its account, but no
  // network is spelt "any", so no account's total can be counted under another's network.
  const here = `${limiter.network(ip)}|${account}`;
  const anywhere = `any|${account}`;
  const taken: Array<[LimitName, string]> = [];
  const giveBack = () => Promise.all(taken.map(([name, key]) => limiter.count(name, key, -1)));

  // Rate limits off (RATE_LIMITS=off): nothing is counted, so only the check itself is left.
  if ((await limiter.take("login_account", here)) === undefined) return check();
  taken.push(["login_account", here]);
  const total = (await limiter.count("account_failures", anywhere, 1))!;
  taken.push(["account_failures", anywhere]);
  // This network's share of the account's failures, in the same window: 1 is this attempt alone.
  const mine = (await limiter.count("account_failures", here, 1))!;
  taken.push(["account_failures", here]);
  const excess = total.count - total.limit.max;
  if (excess > 0) {
    if (mine.count > 1) limiter.refuse(total);
    await sleep(ceilingDelayMs(excess));
  }

  let result: T | false;
  try {
    result = await check();
  } catch (err) {
    await giveBack();
    throw err;
  }
  if (result !== false) {
    await giveBack();
    return result;
  }
  if (excess > 0) limiter.refuse(total);
  return false;
}
