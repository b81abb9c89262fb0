// GET /docs over plain HTTP: a page under a CSP that allows no inline script and nothing from
// elsewhere, and Swagger UI's files served byte for byte from the swagger-ui-dist package.
// (That it works in a browser: docs.browser.test.ts.)
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { serverForFile } from "../helpers/server.ts";
import { acceptsGzip } from "../../src/routes/docs.ts";

const server = await serverForFile();
const dist = join(import.meta.dir, "../../node_modules/swagger-ui-dist");

async function page() {
  const reply = await server.client.send("GET", "/docs");
  const html = reply.body as string;
  const urls = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
  return { reply, html, urls };
}

describe("GET /docs", () => {
  test("an HTML page whose CSP allows scripts, styles and requests from this origin only", async () => {
    const { reply, html } = await page();
    expect(reply.status).toBe(200);
    expect(reply.headers.get("content-type")).toBe("text/html; charset=utf-8");
    const csp = reply.headers.get("content-security-policy")!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self';");
    expect(csp).toContain("connect-src 'self';");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain("unsafe");
    expect(html).not.toMatch(/<script>|<script [^>]*>[^<]/); // no inline script
    expect(html).not.toMatch(/https?:\/\//); // nothing from a CDN
  });

  test.each([
    ["swagger-ui-bundle.js", "text/javascript; charset=utf-8"],
    ["swagger-ui.css", "text/css; charset=utf-8"],
    ["favicon-32x32.png", "image/png"],
  ])("links %s, served as it is in swagger-ui-dist, cacheable for a year", async (name, type) => {
    const { urls } = await page();
    const url = urls.find((u) => u.startsWith(`/docs/assets/${name}?v=`));
    expect(url).toBeDefined();
    const res = await fetch(server.url + url, { headers: { "Accept-Encoding": "identity" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe(type);
    expect(res.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(Buffer.from(await res.arrayBuffer()).equals(Buffer.from(await Bun.file(join(dist, name)).bytes()))).toBe(true);
  });

  test("init.js points Swagger UI at /openapi.json, with no validator badge (it would call validator.swagger.io)", async () => {
    const { urls } = await page();
    const script = await (await fetch(server.url + urls.find((u) => u.startsWith("/docs/assets/init.js?v="))!)).text();
    expect(script).toContain('url: "/openapi.json"');
    expect(script).toContain("validatorUrl: null");
  });

  test("the bundle goes gzipped to clients that take it; If-None-Match gives 304", async () => {
    const url = `${server.url}/docs/assets/swagger-ui-bundle.js`;
    const zipped = await fetch(url, { headers: { "Accept-Encoding": "gzip" }, decompress: false });
    expect(zipped.headers.get("content-encoding")).toBe("gzip");
    expect(zipped.headers.get("vary")).toBe("Accept-Encoding");
    const size = (await zipped.arrayBuffer()).byteLength;
    expect(size).toBeLessThan(Bun.file(join(dist, "swagger-ui-bundle.js")).size / 2);
    const again = await fetch(url, { headers: { "If-None-Match": zipped.headers.get("etag")! } });
    expect(again.status).toBe(304);
  });

  test("an unknown asset is 404 problem+json", async () => {
    const reply = await server.client.send("GET", "/docs/assets/swagger-ui.js.map");
    expect(reply.status).toBe(404);
    expect(reply.body.code).toBe("not_found");
  });
});

describe("Accept-Encoding for the docs assets (RFC 9110 §12.5.3)", () => {
  test.each([
    ["gzip", true],
    ["gzip, deflate, br", true],
    ["br;q=1.0, gzip;q=0.5", true],
    ["gzip;q=0", false],
    ["*", true],
    ["*;q=0", false],
    ["gzip;q=0, *", false],
    ["identity", false],
    ["", false],
  ] as const)("%p → gzip %p", (header, expected) => {
    expect(acceptsGzip(header)).toBe(expected);
  });
});
