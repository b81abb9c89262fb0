// The named limits and how a request meets them: per client IP, and per IP + account for logins.
// Over a limit is a 429 with Retry-After and RateLimit headers (draft-ietf-httpapi-ratelimit-headers).
import { HttpError } from "../http/problem.ts";
import type { Counters } from "./counters.ts";

export type Limit = { max: number; windowSeconds: number };
export type LimitName =
  | "register_ip"
  | "login_ip"
  | "login_account"
  | "refresh_ip"
  | "forgot_ip"
  | "forgot_email"
  | "verify_resend"
  | "link_ip";
export type Limits = Record<LimitName, Limit>;

// In the spirit of Supabase Auth's defaults: 30 sign-ups or sign-ins per 5 minutes per IP, 10
// failed logins a minute for one account from one address, 150 token refreshes per 5 minutes.
// Mail costs money and reputation and lands in someone's inbox: a few per address per 15 minutes.
// Mailed links carry 256 random bits, so guessing is hopeless; link_ip only bounds the work.
export const DEFAULT_LIMITS: Limits = {
  register_ip: { max: 30, windowSeconds: 300 },
  login_ip: { max: 30, windowSeconds: 300 },
  login_account: { max: 10, windowSeconds: 60 },
  refresh_ip: { max: 150, windowSeconds: 300 },
  forgot_ip: { max: 10, windowSeconds: 900 },
  forgot_email: { max: 3, windowSeconds: 900 },
  verify_resend: { max: 3, windowSeconds: 900 },
  link_ip: { max: 30, windowSeconds: 300 },
};

export type Verdict = { name: LimitName; limit: Limit; remaining: number; resetSeconds: number };

export class RateLimiter {
  constructor(
    private readonly counters: Counters | undefined,
    private readonly limits: Limits,
    private readonly clock: () => number,
    private readonly onRefused: (name: LimitName) => void = () => {},
  ) {}

  get enabled(): boolean {
    return this.counters !== undefined;
  }

  /** Counts one request against `name` for `key` (cost 1) or only looks (cost 0); throws 429 when over. */
  async take(name: LimitName, key: string, cost: 1 | 0 = 1): Promise<Verdict | undefined> {
    if (!this.counters) return undefined;
    const limit = this.limits[name];
    const { count, resetMs } = await this.counters.add(`${name}:${key}`, limit.windowSeconds * 1000, cost, this.clock());
    const verdict: Verdict = { name, limit, remaining: Math.max(0, limit.max - count), resetSeconds: Math.max(1, Math.ceil(resetMs / 1000)) };
    // Looking (cost 0) refuses once the window is full; counting refuses the request that overflows it.
    if (cost === 0 ? count >= limit.max : count > limit.max) {
      this.onRefused(name);
      throw new HttpError("rate_limited", `Too many requests; try again in ${verdict.resetSeconds} seconds.`, {
        headers: { "Retry-After": String(verdict.resetSeconds), ...rateLimitHeaders(verdict) },
      });
    }
    return verdict;
  }

  close(): void {
    this.counters?.close();
  }
}

export function rateLimitHeaders(verdict: Verdict): Record<string, string> {
  return {
    RateLimit: `limit=${verdict.limit.max}, remaining=${verdict.remaining}, reset=${verdict.resetSeconds}`,
    "RateLimit-Policy": `${verdict.limit.max};w=${verdict.limit.windowSeconds}`,
  };
}

/** "10/60" → ten per sixty seconds. */
export function parseLimit(text: string): Limit | undefined {
  const match = /^(\d{1,9})\/(\d{1,7})$/.exec(text.trim());
  if (!match) return undefined;
  const limit = { max: Number(match[1]), windowSeconds: Number(match[2]) };
  return limit.max > 0 && limit.windowSeconds > 0 ? limit : undefined;
}
