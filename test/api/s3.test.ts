// The upload flow end to end on S3 storage (a real S3-protocol server on 127.0.0.1): a set of objects
// per upload, the old set gone once the row moved on, and pictures public whatever the bucket.
import { expect, test } from "bun:test";
import { png } from "../fixtures/images.ts";
import { startServer } from "../helpers/server.ts";
import { freshBucket } from "../helpers/s3.ts";
import { pictureObjects } from "../../src/store/index.ts";

const versionOf = (imageUrl: string) => Number(new URL(imageUrl).searchParams.get("v"));

test("upload, replace, serve and delete with a private bucket", async () => {
  await using server = await startServer(await freshBucket());
  const { client, deps } = server;
  const user = await client.signUp();
  const setOf = async () => (await deps.store.userById(user.id))!.imageSet;

  const first = await client.upload(user.token, png(30, 20));
  expect(first.status).toBe(200);
  // Pictures are public: a private bucket is served through the service, at a URL that never expires.
  expect(first.body.image_url).toMatch(new RegExp(`^http://pictures\\.test/static/profile/${user.id}\\.jpg\\?v=\\d+$`));
  const firstVersion = versionOf(first.body.image_url);
  const firstSet = (await setOf())!;
  for (const name of pictureObjects(firstSet)) expect(await deps.storage.getObject(name)).toBeDefined();

  const second = await client.upload(user.token, png(40, 20));
  const secondVersion = versionOf(second.body.image_url);
  expect(secondVersion).toBeGreaterThan(firstVersion);
  // The old set is gone once the row moved on.
  for (const name of pictureObjects(firstSet)) expect(await deps.storage.getObject(name)).toBeUndefined();
  expect((await client.send("GET", "/me", { token: user.token })).body.image_url).toBe(second.body.image_url);

  // No credentials, no signature: anyone with the URL gets the current picture.
  const viaService = await fetch(`${server.url}/static/profile/${user.id}.jpg?v=${secondVersion}`);
  expect(viaService.status).toBe(200);
  expect(viaService.headers.get("cache-control")).toBe("public, max-age=300");
  expect((await new Bun.Image(new Uint8Array(await viaService.arrayBuffer())).metadata()).width).toBe(40);

  const secondSet = (await setOf())!;
  expect((await client.send("DELETE", "/me/image", { token: user.token })).status).toBe(200);
  for (const name of pictureObjects(secondSet)) expect(await deps.storage.getObject(name)).toBeUndefined();

  await client.upload(user.token, png(10, 10));
  const third = (await setOf())!;
  expect((await client.send("DELETE", "/me", { token: user.token })).status).toBe(200);
  for (const name of pictureObjects(third)) expect(await deps.storage.getObject(name)).toBeUndefined();
});

test("with S3_PUBLIC_URL, image_url is that base plus the full picture's immutable key", async () => {
  await using server = await startServer(await freshBucket({ S3_PUBLIC_URL: "https://cdn.example.com" }));
  const user = await server.client.signUp();
  const reply = await server.client.upload(user.token, png(10, 10));
  expect(reply.body.image_url).toMatch(new RegExp(`^https://cdn\\.example\\.com/profile/${user.id}/[0-9a-f]{16}-full\\.jpg$`));
  expect(reply.body.image.sizes["64"].webp).toMatch(new RegExp(`^https://cdn\\.example\\.com/profile/${user.id}/[0-9a-f]{16}-10\\.webp$`));
});
