// Which network a client address belongs to, for rate limits. An IPv4 address is its own network;
// an IPv6 one is its /64 (configurable), since one customer gets a whole /64 and can rotate in it.
import { isIPv4, isIPv6 } from "node:net";

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
