// Device labels from real User-Agent strings, bounded work and no echo of hostile input,
// and coarse client addresses: ports, brackets and zones dropped, IPv4-mapped IPv6 shown as IPv4.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { coarseIp, coarseNetwork, deviceLabel, MAX_USER_AGENT_LENGTH, UNKNOWN_DEVICE } from "../../src/auth/device.ts";

const UA = {
  firefoxLinux: "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
  firefoxWindows: "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
  chromeAndroid: "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
  chromeMac: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
  chromeIphone: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
  safariIphone: "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
  safariIpad: "Mozilla/5.0 (iPad; CPU OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.7 Mobile/15E148 Safari/604.1",
  safariMac: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
  edgeWindows: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
  operaWindows: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 OPR/115.0.0.0",
  samsungAndroid: "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
  chromeOs: "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
  androidWebView: "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Mobile Safari/537.36",
};

describe("deviceLabel", () => {
  test.each([
    [UA.firefoxLinux, "Firefox on Linux"],
    [UA.firefoxWindows, "Firefox on Windows"],
    [UA.chromeAndroid, "Chrome on Android"],
    [UA.chromeMac, "Chrome on macOS"],
    [UA.chromeIphone, "Chrome on iPhone"],
    [UA.safariIphone, "Safari on iPhone"],
    [UA.safariIpad, "Safari on iPad"],
    [UA.safariMac, "Safari on macOS"],
    [UA.edgeWindows, "Edge on Windows"],
    [UA.operaWindows, "Opera on Windows"],
    [UA.samsungAndroid, "Samsung Internet on Android"],
    [UA.chromeOs, "Chrome on ChromeOS"],
    [UA.androidWebView, "Browser on Android"],
    ["curl/8.5.0", "curl"],
    ["Wget/1.21.4", "Wget"],
    ["python-requests/2.32.3", "Python requests"],
    ["Go-http-client/1.1", "Go HTTP client"],
    ["PostmanRuntime/7.42.0", "Postman"],
    ["Mozilla/5.0 Firefox/133.0", "Firefox"],
    ["", UNKNOWN_DEVICE],
    ["MyApp/1.0 (build 42)", UNKNOWN_DEVICE],
    [null, UNKNOWN_DEVICE],
    [undefined, UNKNOWN_DEVICE],
  ])("%p → %p", (ua, label) => {
    expect(deviceLabel(ua)).toBe(label);
  });

  test("a client's version, build or comment is never part of the label", () => {
    expect(deviceLabel("curl/8.5.0 <script>alert(1)</script>")).toBe("curl");
    expect(deviceLabel(`${UA.firefoxLinux} http://evil.example/?click=here`)).toBe("Firefox on Linux");
  });

  test("whatever the input, the label is one of our words: safe to put in an email", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), fc.constantFrom("", ...Object.values(UA), "curl/1"), (noise, ua) => {
        const label = deviceLabel(ua + noise);
        expect(label).toMatch(/^[A-Za-z][A-Za-z. ]*$/);
        expect(label.length).toBeLessThanOrEqual(40);
        if (noise.length > 3 && /^[a-z]+$/.test(noise)) expect(label).not.toContain(noise);
      }),
      { numRuns: 500 },
    );
  });

  test("only the first MAX_USER_AGENT_LENGTH characters are read, so hostile lengths cost nothing extra", () => {
    const padded = `Mozilla/5.0 (${"x".repeat(MAX_USER_AGENT_LENGTH)}`;
    // Tokens past the cut are not seen: the label depends on the prefix alone.
    expect(deviceLabel(`${padded} Firefox/133.0 (X11; Linux)`)).toBe(UNKNOWN_DEVICE);
    const huge = `${UA.firefoxLinux}${"(".repeat(5_000_000)}`;
    expect(deviceLabel(huge)).toBe(deviceLabel(huge.slice(0, MAX_USER_AGENT_LENGTH)));
    expect(deviceLabel(huge)).toBe("Firefox on Linux");
  });
});

describe("coarseIp", () => {
  test.each([
    ["192.0.2.1", "192.0.2.1"],
    ["192.0.2.1:5678", "192.0.2.1"],
    ["::1", "::1"],
    ["[::1]:443", "::1"],
    ["[2001:db8::1]", "2001:db8::1"],
    ["2001:DB8:0:0:0:0:0:1", "2001:db8::1"],
    ["fe80::1%eth0", "fe80::1"],
    ["[fe80::1%25eth0]:80", "fe80::1"],
    ["::ffff:192.0.2.1", "192.0.2.1"],
    ["[::ffff:192.0.2.1]:80", "192.0.2.1"],
    ["::ffff:7f00:1", "127.0.0.1"],
    ["0:0:0:0:0:FFFF:C000:0201", "192.0.2.1"],
  ])("%p → %p", (address, expected) => {
    expect(coarseIp(address)).toBe(expected);
  });

  test.each([
    ["192.0.2.256"],
    ["01.2.3.4"],
    ["example.com"],
    ["[::1"],
    ["[::1]garbage"],
    ["192.0.2.1:port"],
    ["<b>192.0.2.1</b>"],
    [""],
    [`192.0.2.1${" ".repeat(100)}`],
  ])("%p is not an address", (address) => {
    expect(coarseIp(address)).toBeUndefined();
  });

  test("null and undefined are not addresses", () => {
    expect(coarseIp(null)).toBeUndefined();
    expect(coarseIp(undefined)).toBeUndefined();
  });
});

describe("coarseNetwork", () => {
  test.each([
    ["192.0.2.77", "192.0.2.0/24"],
    ["2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"],
    ["2001:db8::1", "2001:db8:0:0::/64"],
    ["2001:db8:0:0:1::", "2001:db8:0:0::/64"],
    ["::1", "0:0:0:0::/64"],
    ["not an address", ""],
  ])("%p → %p", (ip, network) => {
    expect(coarseNetwork(ip)).toBe(network);
  });

  test("unknown is one value, and one network whatever the host", () => {
    expect(coarseNetwork(null)).toBe("");
    expect(coarseNetwork(undefined)).toBe("");
    expect(coarseNetwork("2001:db8:a:b::1")).toBe(coarseNetwork("2001:db8:a:b:ffff:1:2:3"));
  });
});
