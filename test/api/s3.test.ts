// The upload flow end to end on S3 storage (a real S3-protocol server on 127.0.0.1): presigned
// URLs that work, one object per version, the old one gone once the row moved on.
import { expect, test } from "bun:test";
import { png } from "../fixtures/images.ts";
import { startServer } from "../helpers/server.ts";
import { freshBucket } from "../helpers/s3.ts";

test("upload, replace, serve and delete with a private bucket", async () => {
  await using server = await startServer(await freshBucket({ S3_PRESIGN_SECONDS: "300" }));
  const { client, deps } = server;
  const user = await client.signUp();

  const first = await client.upload(user.token, png(30, 20));
  expect(first.status).toBe(200);
  const url = new URL(first.body.image_url);
  expect(url.pathname).toMatch(new RegExp(`/profile/${user.id}/\\d+\\.jpg$`));
  expect(url.searchParams.get("X-Amz-Expires")).toBe("300");
  const picture = await fetch(url);
  expect(picture.status).toBe(200);
  expect(await new Bun.Image(new Uint8Array(await picture.arrayBuffer())).metadata()).toMatchObject({ format: "jpeg", width: 30 });

  const firstVersion = Number(/\/(\d+)\.jpg$/.exec(url.pathname)![1]);
  const second = await client.upload(user.token, png(40, 20));
  const secondVersion = Number(/\/(\d+)\.jpg(\?|$)/.exec(new URL(second.body.image_url).pathname)![1]);
  expect(secondVersion).toBeGreaterThan(firstVersion);
  expect(await deps.storage.get(user.id, firstVersion)).toBeUndefined();
  expect((await client.send("GET", "/me", { token: user.token })).body.image_url).toContain(`/profile/${user.id}/${secondVersion}.jpg`);

  // The seed-000 path keeps working: the service serves the current object itself.
  const viaService = await fetch(`${server.url}/static/profile/${user.id}.jpg`);
  expect(viaService.status).toBe(200);
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
