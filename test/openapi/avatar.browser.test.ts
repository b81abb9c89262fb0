// /users/{id}/avatar in a real headless Chromium (as /docs is tested): for an account with a picture and
// one without, each format loads in an <img>, decodes, and has the size asked for. Nothing off the host.
import { afterAll, describe, expect, test } from "bun:test";
import { chromium } from "playwright-core";
import { avatarColour } from "../../src/images/avatar.ts";
import { DEFAULT_VARIANT_SIZES } from "../../src/images/variants.ts";
import { png } from "../fixtures/images.ts";
import { complaintsOf, findChromium } from "../helpers/chromium.ts";
import { serverForFile } from "../helpers/server.ts";

const CHROMIUM = await findChromium();
const server = await serverForFile();
// The address pictures are published under in tests (PUBLIC_BASE_URL): a CDN in front of this server.
const PUBLIC = "http://pictures.test/";

// Chromium follows a redirect inside its network stack, past any route handler, so the picture's
// host is mapped onto this server by the resolver; every other name fails to resolve at all.
const port = new URL(server.url).port;
const browser = await chromium.launch({
  executablePath: CHROMIUM.executablePath,
  env: { ...process.env, ...CHROMIUM.env },
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
    `--host-resolver-rules=MAP pictures.test:80 127.0.0.1:${port}, MAP * ~NOTFOUND, EXCLUDE 127.0.0.1`,
  ],
});
afterAll(() => browser.close());

const context = await browser.newContext();
const elsewhere: string[] = [];
const published: string[] = [];
// Every request the pages make, redirect hops included (the route handler does not see those).
context.on("request", (request) => {
  const url = request.url();
  if (url.startsWith(PUBLIC)) published.push(url);
  else if (!url.startsWith(`${server.url}/`)) elsewhere.push(url);
});
await context.route("**/*", (route) => {
  const url = route.request().url();
  if (url.startsWith(`${server.url}/`) || url.startsWith(PUBLIC)) return route.continue();
  return route.abort("blockedbyclient");
});
const page = await context.newPage();
const complaints = complaintsOf(page);
// A document of the service's own origin, so a generated avatar's pixels may be read back.
await page.goto(`${server.url}/healthz`);

type Loaded = { decoded: boolean; width: number; height: number; corner: number[] | null; error?: string };

/** Loads `src` in an <img>, waits for decode(), and reads its size and (same-origin only) its top-left pixel. */
const load = (src: string): Promise<Loaded> =>
  page.evaluate(async (src) => {
    // Runs in the page; this project's TypeScript has no DOM library.
    const document = (globalThis as any).document;
    const img = document.createElement("img");
    img.src = src;
    document.body.append(img);
    try {
      await img.decode();
    } catch (err) {
      return { decoded: false, width: 0, height: 0, corner: null, error: String(err) };
    }
    let corner: number[] | null = null;
    try {
      const canvas = document.createElement("canvas");
      [canvas.width, canvas.height] = [img.naturalWidth, img.naturalHeight];
      const g = canvas.getContext("2d")!;
      g.drawImage(img, 0, 0);
      corner = [...g.getImageData(1, 1, 1, 1).data.slice(0, 3)];
    } catch {
      corner = null; // another origin's picture taints the canvas
    }
    img.remove();
    return { decoded: true, width: img.naturalWidth, height: img.naturalHeight, corner };
  }, src);

const without = await server.client.signUp();
await server.client.send("PUT", "/me", { token: without.token, json: { name: "Émile Zola" } });
const withPicture = await server.client.signUp();
// Larger than every variant, so each size is a real downscale.
expect((await server.client.upload(withPicture.token, png(600, 400))).status).toBe(200);

describe("/users/{id}/avatar in Chromium", () => {
  test.each(["svg", "png", "webp", "jpeg"])("no picture, format=%s: decodes at every size, on the id's colour", async (format) => {
    for (const size of DEFAULT_VARIANT_SIZES) {
      const loaded = await load(`${server.url}/users/${without.id}/avatar?size=${size}&format=${format}`);
      expect(loaded).toMatchObject({ decoded: true, width: size, height: size });
      const expected = avatarColour(without.id);
      // Lossy formats may move a channel a little.
      loaded.corner!.forEach((channel, i) => expect(Math.abs(channel - expected[i]!)).toBeLessThanOrEqual(format === "jpeg" || format === "webp" ? 6 : 0));
    }
  }, 60_000);

  test("no picture, no format: the SVG, which Chromium draws", async () => {
    expect(await load(`${server.url}/users/${without.id}/avatar`)).toMatchObject({ decoded: true, width: 128, height: 128 });
  });

  test.each(["webp", "png", "svg", undefined])("a picture, format=%p: the redirect is followed and the variant decodes at every size", async (format) => {
    for (const size of DEFAULT_VARIANT_SIZES) {
      const before = published.length;
      const query = format === undefined ? `?size=${size}` : `?size=${size}&format=${format}`;
      const loaded = await load(`${server.url}/users/${withPicture.id}/avatar${query}`);
      expect(loaded).toMatchObject({ decoded: true, width: size, height: size });
      expect(published.length).toBe(before + 1);
    }
  }, 30_000);

  test("asked for nothing outside the service, and nothing complained", () => {
    expect(elsewhere).toEqual([]);
    expect(complaints).toEqual([]);
  });
});
