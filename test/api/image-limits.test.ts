// Image work is bounded (issue 9.1): sides, the upload queue, and decode work before and during
// decoding, so one hostile file cannot take the service's CPU or memory; real camera JPEGs still pass.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { jpeg, png } from "../fixtures/images.ts";
import { progressiveScanBomb, solidPng } from "../fixtures/bombs.ts";
import { childrenOf } from "../helpers/held-upload.ts";
import type { ProblemCode } from "../../src/core.ts";
import { expectProblem, fetchBytes, localUrl, serverForFile, startServer } from "../helpers/server.ts";

const server = await serverForFile();
const { client } = server;

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
      expect(await new Bun.Image(await fetchBytes(localUrl(server, reply.body.image_url))).metadata()).toEqual({ format: "jpeg", width: 1024, height: 683 });
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
