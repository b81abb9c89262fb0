// How client addresses become the networks rate limits count: IPv4 as is, IPv6 by prefix (a /64
// unless RATE_LIMIT_IPV6_PREFIX says otherwise), whatever spelling the address arrives in.
import { describe, expect, test } from "bun:test";
import { ConfigError, loadConfig } from "../../src/config.ts";
import { networkOf } from "../../src/ratelimit/limiter.ts";

describe("networkOf", () => {
  test.each([
    ["10.0.0.1", "10.0.0.1"],
    ["::ffff:10.0.0.1", "10.0.0.1"],
    ["::FFFF:a00:1", "10.0.0.1"],
    ["0:0:0:0:0:ffff:10.0.0.1", "10.0.0.1"],
    ["[::ffff:127.0.0.1]", "127.0.0.1"],
    ["2001:db8:0:1::5", "2001:db8:0:1:0:0:0:0/64"],
    ["2001:0DB8:0000:0001:ffff:ffff:ffff:ffff", "2001:db8:0:1:0:0:0:0/64"],
    ["2001:db8:0:1:0:0:10.1.2.3", "2001:db8:0:1:0:0:0:0/64"],
    ["[2001:db8:0:1::9]", "2001:db8:0:1:0:0:0:0/64"],
    ["fe80::1%eth0", "fe80:0:0:0:0:0:0:0/64"],
    ["::1", "0:0:0:0:0:0:0:0/64"],
    ["2001:db8:0:2::5", "2001:db8:0:2:0:0:0:0/64"],
    ["unknown", "unknown"],
    ["not:an:address", "not:an:address"],
  ])("%s → %s", (address, network) => {
    expect(networkOf(address)).toBe(network);
  });

  test("the prefix is configurable, including bits inside a word", () => {
    expect(networkOf("2001:db8:abcd:12ff::1", 48)).toBe("2001:db8:abcd:0:0:0:0:0/48");
    expect(networkOf("2001:db8:abcd:12ff::1", 56)).toBe("2001:db8:abcd:1200:0:0:0:0/56");
    expect(networkOf("2001:db8::1", 128)).toBe("2001:db8:0:0:0:0:0:1/128");
    expect(networkOf("10.0.0.1", 48)).toBe("10.0.0.1");
  });
});

describe("RATE_LIMIT_IPV6_PREFIX", () => {
  test("defaults to 64; 16 to 128 are accepted, anything else is a configuration error", () => {
    expect(loadConfig({}).rateLimitIpv6Prefix).toBe(64);
    expect(loadConfig({ RATE_LIMIT_IPV6_PREFIX: "56" }).rateLimitIpv6Prefix).toBe(56);
    for (const bad of ["8", "129", "/64"]) expect(() => loadConfig({ RATE_LIMIT_IPV6_PREFIX: bad })).toThrow(ConfigError);
  });
});
