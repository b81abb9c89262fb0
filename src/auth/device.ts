// A readable device label ("Firefox on Linux") and a coarse client address, for lists of sessions and sign-in mail.
// Both only ever return words from our own tables or a validated address, so neither can carry text an attacker chose.
import { isIPv4, isIPv6 } from "node:net";

/** Longer User-Agents are cut first: every lookup below is then a bounded number of substring scans. */
export const MAX_USER_AGENT_LENGTH = 512;

type Rule = { label: string; any: readonly string[]; none?: readonly string[] };

// Order matters: Edge, Opera and Samsung Internet also say "Chrome/", Chrome also says "Safari/",
// Android also says "Linux", and iOS also says "Mac OS X"; the more specific rule comes first.
const BROWSERS: readonly Rule[] = [
  { label: "Edge", any: ["Edg/", "EdgA/", "EdgiOS/", "Edge/"] },
  { label: "Opera", any: ["OPR/", "OPT/", "Opera"] },
  { label: "Samsung Internet", any: ["SamsungBrowser/"] },
  { label: "Vivaldi", any: ["Vivaldi/"] },
  { label: "Firefox", any: ["Firefox/", "FxiOS/"] },
  { label: "Chrome", any: ["Chrome/", "CriOS/", "Chromium/"] },
  { label: "Safari", any: ["Safari/"], none: ["Android"] },
];

const SYSTEMS: readonly Rule[] = [
  { label: "iPhone", any: ["iPhone"] },
  { label: "iPad", any: ["iPad"] },
  { label: "Android", any: ["Android"] },
  { label: "ChromeOS", any: ["CrOS"] },
  { label: "Windows", any: ["Windows"] },
  { label: "macOS", any: ["Macintosh", "Mac OS X"] },
  { label: "Linux", any: ["Linux", "X11"] },
];

// Programs that are not browsers name themselves first; only the product token is matched, never echoed.
const CLIENTS: readonly [prefix: string, label: string][] = [
  ["curl/", "curl"],
  ["Wget/", "Wget"],
  ["HTTPie/", "HTTPie"],
  ["PostmanRuntime/", "Postman"],
  ["insomnia/", "Insomnia"],
  ["python-requests/", "Python requests"],
  ["python-httpx/", "Python httpx"],
  ["Python-urllib/", "Python urllib"],
  ["aiohttp/", "Python aiohttp"],
  ["Go-http-client/", "Go HTTP client"],
  ["okhttp/", "OkHttp"],
  ["node-fetch", "Node.js"],
  ["node", "Node.js"],
  ["undici", "Node.js"],
  ["Bun/", "Bun"],
  ["Deno/", "Deno"],
  ["axios/", "axios"],
  ["Java/", "Java"],
];

export const UNKNOWN_DEVICE = "Unknown device";

const matches = (ua: string, rule: Rule) =>
  rule.any.some((token) => ua.includes(token)) && !(rule.none ?? []).some((token) => ua.includes(token));

/** "Firefox on Linux", "Safari on iPhone", "curl", or "Unknown device"; never any text from the header itself. */
export function deviceLabel(userAgent: string | null | undefined): string {
  if (typeof userAgent !== "string") return UNKNOWN_DEVICE;
  const ua = userAgent.slice(0, MAX_USER_AGENT_LENGTH);
  for (const [prefix, label] of CLIENTS) if (ua.startsWith(prefix)) return label;
  const browser = BROWSERS.find((rule) => matches(ua, rule))?.label;
  const system = SYSTEMS.find((rule) => matches(ua, rule))?.label;
  if (browser && system) return `${browser} on ${system}`;
  if (browser) return browser;
  if (system) return `Browser on ${system}`;
  return UNKNOWN_DEVICE;
}

/**
 * The client address without port, brackets or zone, IPv4-mapped IPv6 as plain IPv4; undefined when it is
 * not an address. Sessions show the whole address (the issue asks for "no port", not a network prefix).
 */
export function coarseIp(address: string | null | undefined): string | undefined {
  if (typeof address !== "string" || address.length === 0 || address.length > 64) return undefined;
  let host = address.trim();
  if (host.startsWith("[")) {
    // "[::1]:443" or "[::1]"
    const close = host.indexOf("]");
    if (close < 0) return undefined;
    const rest = host.slice(close + 1);
    if (rest !== "" && !/^:\d{1,5}$/.test(rest)) return undefined;
    host = host.slice(1, close);
  } else if (/^[\d.]+:\d{1,5}$/.test(host)) {
    host = host.slice(0, host.lastIndexOf(":")); // "192.0.2.1:5678"
  }
  const zone = host.indexOf("%");
  if (zone >= 0) host = host.slice(0, zone); // "fe80::1%eth0": the zone names our interface, not the client
  if (isIPv4(host)) return host;
  if (!isIPv6(host)) return undefined;
  // The URL parser writes the one canonical spelling (RFC 5952), so one client always reads the same.
  const canonical = new URL(`http://[${host}]/`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
  if (!mapped) return canonical;
  const high = parseInt(mapped[1]!, 16);
  const low = parseInt(mapped[2]!, 16);
  return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
}

/**
 * The network a coarse address belongs to, for telling a new device from a known one: the /24 of an
 * IPv4 address, the /64 of an IPv6 one (one home or office line each, as a rule), "" when unknown.
 */
export function coarseNetwork(ip: string | null | undefined): string {
  if (typeof ip !== "string") return "";
  if (isIPv4(ip)) return `${ip.split(".").slice(0, 3).join(".")}.0/24`;
  if (!isIPv6(ip)) return "";
  const [head = "", tail] = ip.split("::");
  const groups = head === "" ? [] : head.split(":");
  // "::" stands for as many zero groups as the written ones leave out of eight.
  if (tail !== undefined) {
    const rest = tail === "" ? [] : tail.split(":");
    groups.push(...Array(8 - groups.length - rest.length).fill("0"), ...rest);
  }
  return `${groups.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(":")}::/64`;
}
