// The named limits and how a request meets them: per client network (an IPv6 /64), per account.
// Over a limit is a 429 with Retry-After and RateLimit headers (draft-ietf-httpapi-ratelimit-headers).
import { isIPv4, isIPv6 } from "node:net";
import { CodedError } from "../core.ts";
import type { Counters } from "./counters.ts";

export type Limit = { max: number; windowSeconds: number };
export type LimitName =
  | "register_ip"
  | "login_ip"
  | "login_account"
  | "account_failures"
  | "refresh_ip"
  | "forgot_ip"
  | "forgot_email"
  | "verify_resend"
  | "email_change"
  | "link_ip";
export type Limits = Record<LimitName, Limit>;

// In the spirit of Supabase Auth's defaults: 30 sign-ups or sign-ins per 5 minutes per IP, 10
// failed logins a minute for one account from one address, 150 token refreshes per 5 minutes.
// account_failures is the ceiling across all addresses (src/ratelimit/password-guard.ts).
// Mail costs money and reputation and lands in someone's inbox: a few per address per 15 minutes,
// and an email change mails two inboxes, so it is limited like a verification resend.
// Mailed links carry 256 random bits, so guessing is hopeless; link_ip only bounds the work.
export const DEFAULT_LIMITS: Limits = {
  register_ip: { max: 30, windowSeconds: 300 },
  login_ip: { max: 30, windowSeconds: 300 },
  login_account: { max: 10, windowSeconds: 60 },
  account_failures: { max: 20, windowSeconds: 900 },
  refresh_ip: { max: 150, windowSeconds: 300 },
  forgot_ip: { max: 10, windowSeconds: 900 },
  forgot_email: { max: 3, windowSeconds: 900 },
  verify_resend: { max: 3, windowSeconds: 900 },
  email_change: { max: 3, windowSeconds: 900 },
  link_ip: { max: 30, windowSeconds: 300 },
};

export type Verdict = { name: LimitName; limit: Limit; count: number; remaining: number; resetSeconds: number };

// The limits whose key is the client's address: counted per network, so that the many addresses of
// one IPv6 /64 are one client (RATE_LIMIT_IPV6_PREFIX).
const BY_ADDRESS: ReadonlySet<LimitName> = new Set(["register_ip", "login_ip", "refresh_ip", "forgot_ip", "link_ip"]);

export class RateLimiter {
  constructor(
    private readonly counters: Counters | undefined,
    private readonly limits: Limits,
    private readonly clock: () => number,
    private readonly onRefused: (name: LimitName) => void = () => {},
    private readonly ipv6Prefix = 64,
  ) {}

  /** The network a client address is counted as: itself for IPv4, its /64 (by default) for IPv6. */
  network(ip: string): string {
    return networkOf(ip, this.ipv6Prefix);
  }

  /** Counts one request against `name` for `key` (cost 1) or only looks (cost 0); throws 429 when over. */
  async take(name: LimitName, key: string, cost: 1 | 0 = 1): Promise<Verdict | undefined> {
    const verdict = await this.count(name, key, cost);
    // Looking (cost 0) refuses once the window is full; counting refuses the request that overflows it.
    if (verdict && (cost === 0 ? verdict.count >= verdict.limit.max : verdict.count > verdict.limit.max)) this.refuse(verdict);
    return verdict;
  }

  /** Adds `cost` (negative gives back what an attempt took) and says where the window stands; never refuses. */
  async count(name: LimitName, key: string, cost: number): Promise<Verdict | undefined> {
    if (!this.counters) return undefined;
    const limit = this.limits[name];
    const counted = BY_ADDRESS.has(name) ? this.network(key) : key;
    const { count, resetMs } = await this.counters.add(`${name}:${counted}`, limit.windowSeconds * 1000, cost, this.clock());
    return { name, limit, count, remaining: Math.max(0, limit.max - count), resetSeconds: Math.max(1, Math.ceil(resetMs / 1000)) };
  }

  /** The 429 for a window that is full. */
  refuse(verdict: Verdict): never {
    this.onRefused(verdict.name);
    throw new CodedError("rate_limited", `Too many requests; try again in ${verdict.resetSeconds} seconds.`, {
      headers: { "Retry-After": String(verdict.resetSeconds), ...rateLimitHeaders(verdict) },
    });
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

// Which network a client address belongs to. An IPv4 address is its own network; an IPv6 one is
// its /64 (configurable), since one customer gets a whole /64 and can rotate in it.
/** "2001:db8:0:1::5" → "2001:db8:0:1:0:0:0:0/64"; "::ffff:10.0.0.1" → "10.0.0.1"; unparseable → as given. */
export function networkOf(address: string, ipv6Prefix = 64): string {
  let ip = address.trim();
  if (ip.startsWith("[")) ip = ip.slice(1, ip.includes("]") ? ip.indexOf("]") : undefined);
  if (ip.includes("%")) ip = ip.slice(0, ip.indexOf("%")); // a zone (fe80::1%eth0) says nothing about the client
  if (isIPv4(ip)) return ip;
  if (!isIPv6(ip)) return address;
  const words = ipv6Words(ip);
  // IPv4-mapped, in any spelling (::ffff:10.0.0.1, ::ffff:a00:1): the IPv4 client it stands for.
  if (words.slice(0, 5).every((word) => word === 0) && words[5] === 0xffff) {
    return [words[6]! >> 8, words[6]! & 0xff, words[7]! >> 8, words[7]! & 0xff].join(".");
  }
  const masked = words.map((word, i) => {
    const bits = Math.min(16, Math.max(0, ipv6Prefix - 16 * i));
    return word & ((0xffff << (16 - bits)) & 0xffff);
  });
  return `${masked.map((word) => word.toString(16)).join(":")}/${ipv6Prefix}`;
}

/** The eight 16-bit words of a valid IPv6 address, "::" expanded and a dotted IPv4 tail split in two. */
function ipv6Words(ip: string): number[] {
  let text = ip.toLowerCase();
  const tail = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (tail) {
    const [a, b, c, d] = tail.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, tail.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const words = (part: string) => (part === "" ? [] : part.split(":").map((hex) => parseInt(hex, 16)));
  const [head, rest] = text.split("::") as [string, string | undefined];
  if (rest === undefined) return words(head);
  const left = words(head);
  const right = words(rest);
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}
