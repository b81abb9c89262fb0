// GET /users/{id}/avatar (issue 11.2 and 11.4): a 302 to the picture for an account that has one, a
// generated avatar (SVG, or a raster when asked) for one that has not, and no name that becomes markup.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { AVATAR_CSP, avatarColour, hex } from "../../src/images/avatar.ts";
import { initials } from "../../src/images/initials.ts";
import { acceptsWebp } from "../../src/routes/avatar.ts";
import { png } from "../fixtures/images.ts";
import { expectProblem, localUrl, serverForFile } from "../helpers/server.ts";

const server = await serverForFile();
const { client } = server;
const avatar = (id: number | string, query = "", headers: Record<string, string> = {}, method = "GET") =>
  client.send(method, `/users/${id}/avatar${query}`, { headers, binary: true });
const bytes = async (reply: { raw: Response }) => new Uint8Array(await reply.raw.arrayBuffer());

async function named(name: string) {
  const user = await client.signUp();
  const renamed = await client.send("PUT", "/me", { token: user.token, json: { name } });
  expect(renamed.status).toBe(200);
  return user;
}

describe("an account without a picture: the generated avatar", () => {
  test("SVG by default: 128 px, the initials on the id's colour, a strict CSP, short caching, an ETag", async () => {
    const user = await named("Émile Zola");
    const reply = await avatar(user.id, "", { Accept: "image/webp,image/*,*/*;q=0.8" });
    expect(reply.status).toBe(200);
    expect(reply.headers.get("content-type")).toBe("image/svg+xml; charset=utf-8");
    expect(reply.headers.get("content-security-policy")).toBe(AVATAR_CSP);
    expect(reply.headers.get("x-content-type-options")).toBe("nosniff");
    expect(reply.headers.get("cache-control")).toBe("public, max-age=60");
    expect(reply.headers.get("vary")).toContain("Accept");
    expect(reply.headers.get("etag")).toMatch(/^"av-[A-Za-z0-9_-]{22}"$/);
    expect(reply.body).toStartWith('<svg xmlns="http://www.w3.org/2000/svg" width="128" height="128" viewBox="0 0 128 128">');
    expect(reply.body).toContain(`fill="${hex(avatarColour(user.id))}"`);
    expect(reply.body).toContain(">ÉZ</text>");
  });

  test.each([64, 128, 256])("size=%p (a configured size) is honoured in every format", async (size) => {
    const user = await named("Ada Lovelace");
    const svg = await avatar(user.id, `?size=${size}`);
    expect(svg.body).toContain(`width="${size}" height="${size}"`);
    for (const format of ["png", "webp", "jpeg"] as const) {
      const reply = await avatar(user.id, `?size=${size}&format=${format}`);
      expect(reply.status).toBe(200);
      expect(reply.headers.get("content-type")).toBe(`image/${format}`);
      expect(reply.headers.get("content-security-policy")).toBeNull();
      expect(await new Bun.Image(await bytes(reply)).metadata()).toEqual({ format, width: size, height: size });
    }
  });

  test("format=svg is the SVG; Accept does not turn a generated avatar into a raster", async () => {
    const user = await named("Grace Hopper");
    for (const [query, accept] of [["?format=svg", "image/png"], ["", "image/webp"], ["", "image/png"]]) {
      expect((await avatar(user.id, query!, { Accept: accept! })).headers.get("content-type")).toBe("image/svg+xml; charset=utf-8");
    }
  });

  test("If-None-Match → 304 until the name changes; the tag differs per size and format", async () => {
    const user = await named("Alan Turing");
    const first = await avatar(user.id);
    const etag = first.headers.get("etag")!;
    const again = await avatar(user.id, "", { "If-None-Match": etag });
    expect(again.status).toBe(304);
    expect(again.headers.get("etag")).toBe(etag);
    expect(again.headers.get("cache-control")).toBe("public, max-age=60");
    expect(await again.raw.text()).toBe("");
    expect((await avatar(user.id, "?size=64", { "If-None-Match": etag })).status).toBe(200);
    expect((await avatar(user.id, "?format=png", { "If-None-Match": etag })).status).toBe(200);

    await client.send("PUT", "/me", { token: user.token, json: { name: "Joan Clarke" } });
    const renamed = await avatar(user.id, "", { "If-None-Match": etag });
    expect(renamed.status).toBe(200);
    expect(renamed.headers.get("etag")).not.toBe(etag);
    expect(renamed.body).toContain(">JC</text>");
  });

  test("HEAD answers GET's headers and length without a body", async () => {
    const user = await named("Kurt Gödel");
    const get = await avatar(user.id, "?format=png");
    const head = await avatar(user.id, "?format=png", {}, "HEAD");
    expect(head.status).toBe(200);
    expect(head.headers.get("etag")).toBe(get.headers.get("etag"));
    expect(head.headers.get("content-type")).toBe("image/png");
    expect(Number(head.headers.get("content-length"))).toBe((await bytes(get)).byteLength);
    expect(await head.raw.text()).toBe("");
  });

  test.each([
    ["Madonna", "M"],
    ["山田 太郎", "山"],
    ["👩‍💻 Ada", "👩‍💻A"],
    ["محمد علي", "م\u200Cع"],
  ])("%p → %p", async (name, expected) => {
    const user = await named(name);
    expect((await avatar(user.id)).body).toContain(`>${expected}</text>`);
  });
});

describe("an account with a picture: a redirect", () => {
  test("302 to the picture, short caching, Vary: Accept; with and without format, GET and HEAD", async () => {
    const user = await client.signUp();
    const upload = await client.upload(user.token, png(300, 200));
    expect(upload.status).toBe(200);
    const sizes = upload.body.image.sizes;
    const cases: Array<[string, string, string]> = [
      ["?size=128&format=webp", "", sizes["128"].webp],
      ["", "image/webp", sizes["128"].webp], // no format: WebP because Accept lists it, at the default 128
      ["?format=jpeg&size=256", "", sizes["256"].jpeg],
      ["?size=64", "image/png", sizes["64"].jpeg], // Accept without WebP: JPEG
      ["?format=png", "", sizes["128"].jpeg], // a photo has no PNG or SVG form
      ["?format=svg", "", sizes["128"].jpeg],
    ];
    for (const [query, accept, location] of cases) {
      const reply = await avatar(user.id, query, accept ? { Accept: accept } : {});
      expect(reply.status).toBe(302);
      expect(reply.headers.get("location")).toBe(location);
      expect(reply.headers.get("cache-control")).toBe("public, max-age=60");
      expect(reply.headers.get("vary")).toContain("Accept");
      expect(reply.headers.get("etag")).toBeNull();
    }
    const head = await avatar(user.id, "?size=128&format=webp", {}, "HEAD");
    expect([head.status, head.headers.get("location")]).toEqual([302, sizes["128"].webp]);
    // Followed, the redirect gives the immutable object itself, at the size asked for.
    const followed = await fetch(localUrl(server, sizes["128"].webp));
    expect(followed.headers.get("content-type")).toBe("image/webp");
    expect(followed.headers.get("cache-control")).toContain("immutable");
    expect(await new Bun.Image(new Uint8Array(await followed.arrayBuffer())).metadata()).toMatchObject({ format: "webp", width: 128, height: 128 });
  });

  test("after the picture is removed, the generated avatar again", async () => {
    const user = await client.signUp();
    await client.upload(user.token, png(64, 64));
    expect((await avatar(user.id)).status).toBe(302);
    expect((await client.send("DELETE", "/me/image", { token: user.token })).status).toBe(200);
    const reply = await avatar(user.id);
    expect(reply.status).toBe(200);
    expect(reply.headers.get("content-type")).toStartWith("image/svg+xml");
  });

  test("a deactivated account gets the generated avatar, never its picture", async () => {
    const user = await client.signUp();
    await client.upload(user.token, png(64, 64));
    await server.deps.store.updateAccount(user.id, { disabled: true }, {}, Date.now());
    const reply = await avatar(user.id, "?format=webp");
    expect(reply.status).toBe(200);
    expect(reply.headers.get("location")).toBeNull();
    expect(reply.headers.get("content-type")).toBe("image/webp");
  });

  test("Accept negotiation: image/webp with q above zero", () => {
    expect(acceptsWebp("image/avif,image/webp,image/apng,*/*;q=0.8")).toBe(true);
    expect(acceptsWebp("IMAGE/WEBP;q=0.5")).toBe(true);
    expect(acceptsWebp("image/webp;q=0")).toBe(false);
    expect(acceptsWebp("image/*,*/*")).toBe(false);
    expect(acceptsWebp("")).toBe(false);
  });
});

describe("refusals", () => {
  test("an unknown, malformed or deleted id → 404 problem+json", async () => {
    const gone = await client.signUp();
    expect((await client.send("DELETE", "/me", { token: gone.token })).status).toBeLessThan(300);
    for (const id of [gone.id, 999_999_999, "abc", "0", "01", "1e3", "9".repeat(20)]) {
      expectProblem(await avatar(id), 404, "not_found");
    }
  });

  test.each([
    ["?size=100", ["size"]],
    ["?size=1024", ["size"]],
    ["?size=0128", ["size"]],
    ["?size=", ["size"]],
    ["?size=128&size=64", ["size"]],
    ["?format=gif", ["format"]],
    ["?format=WEBP", ["format"]],
    ["?format=", ["format"]],
    ["?size=1&format=bmp", ["size", "format"]],
  ])("%s → 422 naming %p", async (query, fields) => {
    const user = await client.signUp();
    const problem = expectProblem(await avatar(user.id, query), 422, "validation_failed");
    expect(problem.errors.map((e: { field: string }) => e.field)).toEqual(fields);
  });
});

// Names as the API accepts them, and, written straight to the store, as older data or an import
// might hold them: no name may add an element, an attribute or an entity to the SVG.
const hostile = fc.oneof(
  fc.string({ unit: "binary", minLength: 1, maxLength: 100 }),
  fc.string({ unit: "grapheme", minLength: 1, maxLength: 40 }),
  fc
    .array(fc.constantFrom("<", ">", "&", '"', "'", "<script>alert(1)</script>", "</text>", "<![CDATA[", "]]>", "&amp;", "&#x3C;", "<!--", "-->", "<svg onload=alert(1)>", "\u202E", " ", "É", "x", "👩‍💻"), { minLength: 1, maxLength: 20 })
    .map((parts) => parts.join("")),
);

async function parse(svg: string) {
  const elements: { tag: string; attributes: string[] }[] = [];
  let text = "";
  await new HTMLRewriter()
    .on("*", { element: (el) => void elements.push({ tag: el.tagName, attributes: [...el.attributes].map(([name]) => name) }) })
    .on("text", { text: (chunk) => void (text += chunk.text) })
    .transform(new Response(svg))
    .text();
  return { elements, text };
}

const unescape = (text: string) =>
  text.replace(/&(amp|lt|gt|quot|#39);/g, (_, e: string) => ({ amp: "&", lt: "<", gt: ">", quot: '"', "#39": "'" })[e]!);

describe("markup injection through the route", () => {
  test("property: whatever the name, the SVG is the fixed template with the escaped initials as its only text", async () => {
    const user = await client.signUp();
    await fc.assert(
      fc.asyncProperty(hostile, async (name) => {
        const put = await client.send("PUT", "/me", { token: user.token, json: { name } });
        // Refused by the API (controls, bidi characters, blank): stored anyway, as an import could.
        if (put.status !== 200) {
          expect(put.status).toBe(422);
          await server.deps.store.updateAccount(user.id, { name: name.replaceAll("\u0000", "") }, {}, Date.now());
        }
        const stored = (await server.deps.store.userById(user.id))!.name;
        const reply = await avatar(user.id);
        expect(reply.status).toBe(200);
        expect(reply.headers.get("content-security-policy")).toBe(AVATAR_CSP);
        const svg: string = reply.body;
        const { elements, text } = await parse(svg);
        const expected = initials(stored);
        expect(elements.map((e) => e.tag)).toEqual(expected ? ["svg", "rect", "text"] : ["svg", "rect", "circle", "path"]);
        for (const { tag, attributes } of elements) {
          expect(attributes.every((a) => !a.startsWith("on") && a !== "href" && a !== "style")).toBe(true);
          expect(attributes.length).toBeLessThanOrEqual(tag === "text" ? 8 : 4);
        }
        const body = svg.match(/<text [^>]*>([^<]*)<\/text>/)?.[1] ?? "";
        expect(body).not.toMatch(/[<>"']|&(?!(amp|lt|gt|quot|#39);)/);
        expect(unescape(body)).toBe(expected);
        expect(text).toBe(body);
        expect(svg.match(/</g)!.length).toBe(5);
      }),
      { numRuns: 120 },
    );
  }, 60_000);
});
