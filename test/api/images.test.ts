// The upload pipeline and the static route: what is accepted, what is refused and with which
// status, what the stored picture looks like, and that nothing outside the picture folder is served.
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bmp, gif, hasExif, hasComment, HTML, jpeg, NOT_AN_IMAGE, png, pngClaiming, polyglot, POLYGLOT_PAYLOAD, SVG, truncated, webp } from "../fixtures/images.ts";
import { progressiveScanBomb, solidPng } from "../fixtures/bombs.ts";
import { childrenOf } from "../helpers/held-upload.ts";
import type { ProblemCode } from "../../src/core.ts";
import { expectProblem, serverForFile, startServer } from "../helpers/server.ts";

const server = await serverForFile();
const { client } = server;
const fetchBytes = async (url: string) => new Uint8Array(await (await fetch(url)).arrayBuffer());
const localUrl = (imageUrl: string) => imageUrl.replace("http://pictures.test", server.url);

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
    const served = await fetch(localUrl(reply.body.image_url));
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
    const meta = await new Bun.Image(await fetchBytes(localUrl(reply.body.image_url))).metadata();
    expect(meta).toEqual({ format: "jpeg", width: 1024, height: 512 });
  });

  test("EXIF orientation is applied and EXIF/GPS are dropped", async () => {
    const user = await client.signUp();
    const original = await jpeg(40, 20, { orientation: 6, gps: true });
    expect(hasExif(original)).toBe(true);
    const reply = await client.upload(user.token, original);
    const stored = await fetchBytes(localUrl(reply.body.image_url));
    expect(hasExif(stored)).toBe(false);
    expect(await new Bun.Image(stored).metadata()).toMatchObject({ width: 20, height: 40 });
  });

  test("a payload hidden after the image or in a comment is not kept", async () => {
    const user = await client.signUp();
    const reply = await client.upload(user.token, await polyglot());
    expect(reply.status).toBe(200);
    const stored = await fetchBytes(localUrl(reply.body.image_url));
    expect(Buffer.from(stored).includes(POLYGLOT_PAYLOAD)).toBe(false);
    expect(hasComment(stored, POLYGLOT_PAYLOAD)).toBe(false);
  });

  test("every upload changes the version in image_url, and replaces the picture", async () => {
    const user = await client.signUp();
    const first = await client.upload(user.token, png(50, 50));
    const second = await client.upload(user.token, png(70, 30));
    expect(second.body.image_url).not.toBe(first.body.image_url);
    const meta = await new Bun.Image(await fetchBytes(localUrl(second.body.image_url))).metadata();
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
    expect((await fetch(localUrl(good.body.image_url))).status).toBe(200);
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

describe("DELETE /me/image", () => {
  test("200, image_url is null again and the file is gone; a second delete is 404", async () => {
    const user = await client.signUp();
    const up = await client.upload(user.token, png(20, 20));
    const reply = await client.send("DELETE", "/me/image", { token: user.token });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ message: "Image removed" });
    expect((await client.send("GET", "/me", { token: user.token })).body.image_url).toBeNull();
    expect(existsSync(join(server.dir, "static", "profile", `${user.id}.jpg`))).toBe(false);
    expect((await fetch(localUrl(up.body.image_url))).status).toBe(404);
    expectProblem(await client.send("DELETE", "/me/image", { token: user.token }), 404, "not_found");
  });

  test("a new upload after removal gets a URL never used before", async () => {
    const user = await client.signUp();
    const first = await client.upload(user.token, png(20, 20));
    await client.send("DELETE", "/me/image", { token: user.token });
    const again = await client.upload(user.token, png(20, 20));
    expect(again.body.image_url).not.toBe(first.body.image_url);
  });
});

describe("GET/HEAD /static/profile/<id>.jpg", async () => {
  const user = await client.signUp();
  const up = await client.upload(user.token, png(32, 32));
  const path = `/static/profile/${user.id}.jpg`;

  test("ETag and Cache-Control, and 304 on If-None-Match", async () => {
    const first = await fetch(server.url + path);
    const etag = first.headers.get("etag")!;
    expect(etag).toMatch(/^"[^"]+"$/);
    expect(first.headers.get("cache-control")).toContain("max-age");
    expect(first.headers.get("x-content-type-options")).toBe("nosniff");
    const again = await fetch(server.url + path, { headers: { "If-None-Match": etag } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe("");
    expect((await fetch(server.url + path, { headers: { "If-None-Match": '"other"' } })).status).toBe(200);
  });

  test("HEAD gives the headers and length with no body", async () => {
    const head = await fetch(server.url + path, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get("content-length"))).toBe((await fetchBytes(localUrl(up.body.image_url))).length);
    expect(await head.text()).toBe("");
  });

  test("no path escapes the picture folder, however encoded", async () => {
    // A file beside the picture folder that must never be reachable.
    writeFileSync(join(server.dir, "static", "secret.txt"), "top secret");
    writeFileSync(join(server.dir, "static", "profile", "notes.jpg.txt"), "not a picture");
    const attempts = [
      "/static/profile/..%2Fsecret.txt",
      "/static/profile/..%2F..%2Fapp.db",
      "/static/profile/%2e%2e%2fsecret.txt",
      "/static/profile/%2e%2e/secret.txt",
      "/static/profile/..%5Csecret.txt",
      "/static/profile/%252e%252e%252fsecret.txt",
      "/static/profile/notes.jpg.txt",
      "/static/profile/0.jpg",
      "/static/profile/-1.jpg",
      `/static/profile/${user.id}.jpg%00.txt`,
      `/static/profile/${user.id}.JPG`,
      "/static/secret.txt",
      "/static/profile/",
      "/static/profile/99999999.jpg",
    ];
    for (const attempt of attempts) {
      const reply = await fetch(server.url + attempt);
      const body = await reply.text();
      expect([attempt, reply.status]).toEqual([attempt, 404]);
      expect(body).not.toContain("top secret");
    }
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
    const stored = await fetchBytes(localUrl(reply.body.image_url));
    expect(stored.length).toBeLessThan(20_000);
    expect(Buffer.from(stored).includes("alert")).toBe(false);
    expect(await new Bun.Image(stored).metadata()).toMatchObject({ format: "jpeg", width: 16, height: 16 });
  });
});

describe("image work is bounded", () => {
  test("a side over 16384 pixels → 413, even under the pixel budget", async () => {
    const user = await client.signUp();
    expectProblem(await client.upload(user.token, png(20_000, 2)), 413, "image_too_large");
  });

  test("past IMAGE_QUEUE_MAX waiting uploads → 503 with Retry-After, the rest succeed", async () => {
    await using tiny = await startServer({ IMAGE_CONCURRENCY: "1", IMAGE_QUEUE_MAX: "1" });
    const users = await Promise.all(Array.from({ length: 6 }, () => tiny.client.signUp()));
    const big = png(3000, 3000, { seed: 3 });
    const replies = await Promise.all(users.map((u) => tiny.client.upload(u.token, big)));
    const statuses = replies.map((r) => r.status);
    expect(statuses).toContain(200);
    expect(statuses).toContain(503);
    expect(statuses.every((s) => s === 200 || s === 503)).toBe(true);
    expect(replies.find((r) => r.status === 503)!.headers.get("retry-after")).toBe("1");
  });
});

describe("decode work is bounded before and during decoding (issue 9.1)", () => {
  const tooComplex: Array<[string, () => Uint8Array, number, ProblemCode]> = [
    ["the issue's scan bomb: 6000×6000 progressive, 2,000 AC scans", () => progressiveScanBomb(6000, 6000, 2000), 422, "image_too_complex"],
    ["a 5000×5000 progressive JPEG with 2,000 AC scans", () => progressiveScanBomb(5000, 5000, 2000), 422, "image_too_complex"],
    ["a JPEG with a restart marker after every block", () => progressiveScanBomb(2400, 2400, 1, { restartInterval: 1 }), 422, "image_too_complex"],
    ["a PNG cut into some 24,000 one-byte IDAT chunks", () => solidPng(5000, 5000, { chunkBytes: 1 }), 422, "image_too_complex"],
  ];
  test.each(tooComplex)("%s → %d %s, at once", async (_kind, make, status, code) => {
    const user = await client.signUp();
    const started = performance.now();
    expectProblem(await client.upload(user.token, make()), status, code);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  test("within the limits, the same kinds of file are accepted", async () => {
    const user = await client.signUp();
    for (const file of [progressiveScanBomb(1000, 1000, 60), progressiveScanBomb(800, 800, 1, { restartInterval: 1 }), solidPng(500, 500, { chunkBytes: 64 })]) {
      expect((await client.upload(user.token, file)).status).toBe(200);
    }
  });

  test("24-megapixel camera JPEGs, baseline and progressive, still work", async () => {
    const user = await client.signUp();
    const pixels = await new Bun.Image(png(6000, 4000, { seed: 5 })).png({ compressionLevel: 1 }).bytes();
    for (const progressive of [false, true]) {
      const photo = await new Bun.Image(pixels).jpeg({ quality: 90, progressive }).bytes();
      const reply = await client.upload(user.token, photo);
      expect(reply.status).toBe(200);
      expect(await new Bun.Image(await fetchBytes(localUrl(reply.body.image_url))).metadata()).toEqual({ format: "jpeg", width: 1024, height: 683 });
    }
  }, 30_000);

  test("past IMAGE_DECODE_TIMEOUT_MS the decoder is killed: 422 image_too_complex, and the slot is free again", async () => {
    await using strict = await startServer({ IMAGE_DECODE_TIMEOUT_MS: "100", IMAGE_CONCURRENCY: "1" });
    const user = await strict.client.signUp();
    // 64 scans of 25 MP pass the pre-check but take some 300 ms to decode.
    const slow = progressiveScanBomb(5000, 5000, 63);
    const started = performance.now();
    const [refused, next] = await Promise.all([strict.client.upload(user.token, slow), Bun.sleep(20).then(() => strict.client.upload(user.token, png(40, 40)))]);
    expectProblem(refused, 422, "image_too_complex");
    expect(refused.body.detail).toContain("100 ms");
    expect(next.status).toBe(200);
    expect(performance.now() - started).toBeLessThan(2000);
    // Killed, not left to burn a core: no decoder of ours is still running.
    const decoders = childrenOf(process.pid).filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("images/decoder.ts");
      } catch {
        return false;
      }
    });
    expect(decoders).toEqual([]);
  });
});

test("fetching a picture while it is replaced and removed gives 200 or 404, never a 500", async () => {
  const user = await client.signUp();
  await client.upload(user.token, png(40, 40));
  let writing = true;
  const churn = (async () => {
    for (let i = 0; i < 15; i++) {
      await client.upload(user.token, png(40 + i, 40));
      await client.send("DELETE", "/me/image", { token: user.token });
    }
    writing = false;
  })();
  const statuses = new Set<number>();
  const readers = Array.from({ length: 4 }, async () => {
    while (writing) {
      const reply = await fetch(`${server.url}/static/profile/${user.id}.jpg`);
      await reply.arrayBuffer();
      statuses.add(reply.status);
      if (reply.status === 200) expect(reply.headers.get("content-type")).toBe("image/jpeg");
    }
  });
  await Promise.all([churn, ...readers]);
  expect([...statuses].every((s) => s === 200 || s === 404)).toBe(true);
});
