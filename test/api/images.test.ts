// The upload pipeline: what is accepted, what is refused and with which status, what the stored
// picture looks like, and that no colour profile or hidden payload survives.
import { describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { bmp, gif, hasExif, hasComment, HTML, jpeg, NOT_AN_IMAGE, png, pngClaiming, polyglot, POLYGLOT_PAYLOAD, SVG, truncated, webp } from "../fixtures/images.ts";
import type { ProblemCode } from "../../src/core.ts";
import { expectProblem, fetchBytes, localUrl, serverForFile, startServer } from "../helpers/server.ts";

const server = await serverForFile();
const { client } = server;

describe("accepted uploads", async () => {
  const accepted: Array<[string, () => Promise<Uint8Array> | Uint8Array]> = [
    ["JPEG", () => jpeg(120, 80)],
    ["PNG", () => png(120, 80)],
    ["GIF (two frames, first is used)", () => gif(120, 80, 2)],
    ["WebP", () => webp(120, 80)],
  ];
  test.each(accepted)("%s → 200, stored and served as a JPEG of the same size", async (_kind, make) => {
    const user = await client.signUp();
    const reply = await client.upload(user.token, await make(), { filename: "anything.bin", type: "application/octet-stream" });
    expect(reply.status).toBe(200);
    expect(reply.body.message).toBe("Upload successful");
    expect(reply.body.image_url).toMatch(new RegExp(`^http://pictures\\.test/static/profile/${user.id}\\.jpg\\?v=\\d+$`));
    const served = await fetch(localUrl(server, reply.body.image_url));
    expect(served.status).toBe(200);
    expect(served.headers.get("content-type")).toBe("image/jpeg");
    const meta = await new Bun.Image(new Uint8Array(await served.arrayBuffer())).metadata();
    expect(meta).toEqual({ format: "jpeg", width: 120, height: 80 });
    const me = await client.send("GET", "/me", { token: user.token });
    expect(me.body.image_url).toBe(reply.body.image_url);
  });

  test("the longest side is capped at IMAGE_MAX_SIDE, keeping the aspect ratio", async () => {
    const user = await client.signUp();
    const reply = await client.upload(user.token, png(2048, 1024));
    const meta = await new Bun.Image(await fetchBytes(localUrl(server, reply.body.image_url))).metadata();
    expect(meta).toEqual({ format: "jpeg", width: 1024, height: 512 });
  });

  test("EXIF orientation is applied and EXIF/GPS are dropped", async () => {
    const user = await client.signUp();
    const original = await jpeg(40, 20, { orientation: 6, gps: true });
    expect(hasExif(original)).toBe(true);
    const reply = await client.upload(user.token, original);
    const stored = await fetchBytes(localUrl(server, reply.body.image_url));
    expect(hasExif(stored)).toBe(false);
    expect(await new Bun.Image(stored).metadata()).toMatchObject({ width: 20, height: 40 });
  });

  test("a payload hidden after the image or in a comment is not kept", async () => {
    const user = await client.signUp();
    const reply = await client.upload(user.token, await polyglot());
    expect(reply.status).toBe(200);
    const stored = await fetchBytes(localUrl(server, reply.body.image_url));
    expect(Buffer.from(stored).includes(POLYGLOT_PAYLOAD)).toBe(false);
    expect(hasComment(stored, POLYGLOT_PAYLOAD)).toBe(false);
  });

  test("every upload changes the version in image_url, and replaces the picture", async () => {
    const user = await client.signUp();
    const first = await client.upload(user.token, png(50, 50));
    const second = await client.upload(user.token, png(70, 30));
    expect(second.body.image_url).not.toBe(first.body.image_url);
    const meta = await new Bun.Image(await fetchBytes(localUrl(server, second.body.image_url))).metadata();
    expect(meta).toMatchObject({ width: 70, height: 30 });
  });
});

describe("refused uploads", async () => {
  const refused: Array<[string, () => Promise<Uint8Array> | Uint8Array, number, ProblemCode]> = [
    ["a text file named .jpg", () => NOT_AN_IMAGE, 415, "unsupported_image_type"],
    ["SVG", () => SVG, 415, "unsupported_image_type"],
    ["HTML", () => HTML, 415, "unsupported_image_type"],
    ["BMP (decodable, but not accepted)", () => bmp(20, 20), 415, "unsupported_image_type"],
    ["a truncated JPEG", async () => truncated(await jpeg(200, 200)), 422, "invalid_image"],
    ["a truncated PNG", () => truncated(png(200, 200)), 422, "invalid_image"],
    ["a truncated GIF", () => truncated(gif(200, 200)), 422, "invalid_image"],
    ["a truncated WebP", async () => truncated(await webp(200, 200)), 422, "invalid_image"],
    ["a JPEG header and nothing else", () => new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 16]), 422, "invalid_image"],
    ["a pixel bomb (tiny PNG claiming 100000×100000)", () => pngClaiming(100_000, 100_000), 413, "image_too_large"],
    ["an empty file", () => new Uint8Array(0), 422, "validation_failed"],
  ];
  test.each(refused)("%s → %d", async (_kind, make, status, code) => {
    const user = await client.signUp();
    const started = performance.now();
    const reply = await client.upload(user.token, await make());
    expectProblem(reply, status, code);
    expect(performance.now() - started).toBeLessThan(2000);
    const me = await client.send("GET", "/me", { token: user.token });
    expect(me.body.image_url).toBeNull();
  });

  test("a refused upload leaves the previous picture in place", async () => {
    const user = await client.signUp();
    const good = await client.upload(user.token, png(30, 30));
    expectProblem(await client.upload(user.token, SVG), 415, "unsupported_image_type");
    expect((await client.send("GET", "/me", { token: user.token })).body.image_url).toBe(good.body.image_url);
    expect((await fetch(localUrl(server, good.body.image_url))).status).toBe(200);
  });

  test("a file over MAX_UPLOAD_BYTES → 413", async () => {
    await using small = await startServer({ MAX_UPLOAD_BYTES: "2048" });
    const user = await small.client.signUp();
    expectProblem(await small.client.upload(user.token, png(300, 300, { seed: 7 })), 413, "payload_too_large");
  });

  test("the wrong field name → 422 naming image (`file`, FastAPI's usual name, is accepted too)", async () => {
    const user = await client.signUp();
    expect((await client.upload(user.token, png(10, 10), { field: "file" })).status).toBe(200);
    const problem = expectProblem(await client.upload(user.token, png(10, 10), { field: "avatar" }), 422, "validation_failed");
    expect(problem.errors[0].field).toBe("image");
  });

  test("no token → 401 before the body is looked at", async () => {
    const form = new FormData();
    form.append("image", new Blob([png(10, 10)]), "a.png");
    expectProblem(await client.send("POST", "/me/upload-image", { body: form }), 401, "invalid_token");
  });

  test("16 parallel uploads all succeed and leave no temp files", async () => {
    const users = await Promise.all(Array.from({ length: 16 }, () => client.signUp()));
    const replies = await Promise.all(users.map((u, i) => client.upload(u.token, png(400 + i, 300))));
    expect(replies.map((r) => r.status)).toEqual(Array(16).fill(200));
    // Per user a folder of set objects; nothing else (no temp file) is left.
    const left = readdirSync(join(server.dir, "static", "profile"), { recursive: true }).map(String);
    expect(left.filter((n) => !/^\d+$|^\d+\/[0-9a-f]{16}-(full|\d+)\.(jpg|webp)$/.test(n))).toEqual([]);
  });
});

describe("colour profiles are not carried over", async () => {
  const { pngWithIcc, jpegWithIcc, webpWithIcc } = await import("../fixtures/bombs.ts");
  const payload = new TextEncoder().encode(`<script>alert("icc")</script>`.repeat(50));
  const cases: Array<[string, () => Promise<Uint8Array> | Uint8Array]> = [
    ["a PNG with a 50 MB (deflated to kilobytes) iCCP chunk", () => pngWithIcc(png(16, 16), new Uint8Array(50 * 1024 * 1024))],
    ["a PNG whose iCCP holds a script", () => pngWithIcc(png(16, 16), payload)],
    ["a JPEG whose APP2 ICC_PROFILE holds a script", async () => jpegWithIcc(await jpeg(16, 16), payload)],
    ["a WebP whose ICCP chunk holds a script", async () => webpWithIcc(await webp(16, 16), 16, 16, payload)],
  ];
  test.each(cases)("%s → 200, a small picture, no payload", async (_kind, make) => {
    const user = await client.signUp();
    const reply = await client.upload(user.token, await make());
    expect(reply.status).toBe(200);
    const stored = await fetchBytes(localUrl(server, reply.body.image_url));
    expect(stored.length).toBeLessThan(20_000);
    expect(Buffer.from(stored).includes("alert")).toBe(false);
    expect(await new Bun.Image(stored).metadata()).toMatchObject({ format: "jpeg", width: 16, height: 16 });
  });
});
