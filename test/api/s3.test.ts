// The upload flow end to end on S3 storage (a real S3-protocol server on 127.0.0.1): one object per
// version, the old one gone once the row moved on, and pictures public whatever the bucket.
import { expect, test } from "bun:test";
import { png } from "../fixtures/images.ts";
import { startServer } from "../helpers/server.ts";
import { freshBucket } from "../helpers/s3.ts";

const versionOf = (imageUrl: string) => Number(new URL(imageUrl).searchParams.get("v"));

test("upload, replace, serve and delete with a private bucket", async () => {
  await using server = await startServer(await freshBucket());
  const { client, deps } = server;
  const user = await client.signUp();

  const first = await client.upload(user.token, png(30, 20));
  expect(first.status).toBe(200);
  // Pictures are public: a private bucket is served through the service, at a URL that never expires.
  expect(first.body.image_url).toMatch(new RegExp(`^http://pictures\\.test/static/profile/${user.id}\\.jpg\\?v=\\d+$`));
  const firstVersion = versionOf(first.body.image_url);
  expect(await deps.storage.get(user.id, firstVersion)).toBeDefined();

  const second = await client.upload(user.token, png(40, 20));
  const secondVersion = versionOf(second.body.image_url);
  expect(secondVersion).toBeGreaterThan(firstVersion);
  expect(await deps.storage.get(user.id, firstVersion)).toBeUndefined();
  expect((await client.send("GET", "/me", { token: user.token })).body.image_url).toBe(second.body.image_url);

  // No credentials, no signature: anyone with the URL gets the current picture.
  const viaService = await fetch(`${server.url}/static/profile/${user.id}.jpg?v=${secondVersion}`);
  expect(viaService.status).toBe(200);
  expect(viaService.headers.get("cache-control")).toBe("public, max-age=300");
  expect((await new Bun.Image(new Uint8Array(await viaService.arrayBuffer())).metadata()).width).toBe(40);

  expect((await client.send("DELETE", "/me/image", { token: user.token })).status).toBe(200);
  expect(await deps.storage.get(user.id, secondVersion)).toBeUndefined();

  await client.upload(user.token, png(10, 10));
  const third = (await deps.store.userById(user.id))!.imageVersion!;
  expect((await client.send("DELETE", "/me", { token: user.token })).status).toBe(200);
  expect(await deps.storage.get(user.id, third)).toBeUndefined();
});

test("with S3_PUBLIC_URL, image_url is that base plus the object key", async () => {
  await using server = await startServer(await freshBucket({ S3_PUBLIC_URL: "https://cdn.example.com" }));
  const user = await server.client.signUp();
  const reply = await server.client.upload(user.token, png(10, 10));
  expect(reply.body.image_url).toMatch(new RegExp(`^https://cdn\\.example\\.com/profile/${user.id}/\\d+\\.jpg$`));
});
