// The static picture route and removal: ETag, HEAD, DELETE /me/image, no path outside the picture
// folder, and reads during replacement that see 200 or 404, never a 500.
import { describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { png } from "../fixtures/images.ts";
import { expectProblem, fetchBytes, localUrl, serverForFile } from "../helpers/server.ts";

const server = await serverForFile();
const { client } = server;

describe("DELETE /me/image", () => {
  test("200, image_url is null again and the file is gone; a second delete is 404", async () => {
    const user = await client.signUp();
    const up = await client.upload(user.token, png(20, 20));
    const reply = await client.send("DELETE", "/me/image", { token: user.token });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ message: "Image removed" });
    expect((await client.send("GET", "/me", { token: user.token })).body.image_url).toBeNull();
    expect(existsSync(join(server.dir, "static", "profile", `${user.id}.jpg`))).toBe(false);
    expect((await fetch(localUrl(server, up.body.image_url))).status).toBe(404);
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
    expect(Number(head.headers.get("content-length"))).toBe((await fetchBytes(localUrl(server, up.body.image_url))).length);
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
