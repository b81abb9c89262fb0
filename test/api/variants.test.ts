// Picture sets end to end (issue 11), on local files and on an S3-protocol server alike: the variants
// made at upload, their immutable URLs, the placeholder, old sets removed, and the backfill of pictures from before sets.
import { describe, expect, test } from "bun:test";
import { variantUrl } from "../../src/accounts/profile.ts";
import { PictureBackfill } from "../../src/images/backfill.ts";
import { pictureObjects } from "../../src/store/index.ts";
import { png } from "../fixtures/images.ts";
import { freshBucket } from "../helpers/s3.ts";
import { expectProblem, startServer, type TestServer } from "../helpers/server.ts";

const IMMUTABLE = "public, max-age=31536000, immutable";

async function dimensions(res: Response) {
  return new Bun.Image(new Uint8Array(await res.arrayBuffer())).metadata();
}

/** The path of a URL on this server (image URLs carry PUBLIC_BASE_URL, a test host). */
const on = (server: TestServer, url: string) => {
  const { pathname, search } = new URL(url);
  return fetch(server.url + pathname + search);
};

describe.each([
  ["local files", async () => ({})],
  ["S3", async () => freshBucket()],
] as const)("%s", (_name, storageEnv) => {
  test("an upload makes every size in WebP and JPEG, square, never enlarged, at immutable URLs with a strong ETag", async () => {
    await using server = await startServer(await storageEnv());
    const user = await server.client.signUp();
    const reply = await server.client.upload(user.token, png(300, 200));
    expect(reply.status).toBe(200);
    const image = reply.body.image;
    expect(Object.keys(image.sizes).sort((a, b) => Number(a) - Number(b))).toEqual(["64", "128", "256"]);
    expect(image).toMatchObject({ width: 300, height: 200 });
    // /me: the same `image`, and image_url as clients have always read it.
    const me = (await server.client.send("GET", "/me", { token: user.token })).body;
    expect(me.image).toEqual(image);
    expect(me.image_url).toMatch(new RegExp(`/static/profile/${user.id}\\.jpg\\?v=\\d+$`));
    expect(me.image_url).toBe(reply.body.image_url);

    for (const [size, side] of [["64", 64], ["128", 128], ["256", 200]] as const) {
      for (const format of ["webp", "jpeg"] as const) {
        const url: string = image.sizes[size][format];
        expect(url).toMatch(new RegExp(`/static/p/${user.id}/[0-9a-f]{16}-${side}\\.${format === "jpeg" ? "jpg" : "webp"}$`));
        const res = await on(server, url);
        expect(res.status).toBe(200);
        expect(res.headers.get("content-type")).toBe(`image/${format}`);
        expect(res.headers.get("cache-control")).toBe(IMMUTABLE);
        const hash = /([0-9a-f]{16})-/.exec(url)![1];
        expect(res.headers.get("etag")).toBe(`"${hash}"`);
        expect(new Bun.CryptoHasher("sha256").update(new Uint8Array(await res.clone().arrayBuffer())).digest("hex").slice(0, 16)).toBe(hash!);
        expect(await dimensions(res)).toMatchObject({ width: side, height: side, format });
        const again = await fetch(server.url + new URL(url).pathname, { headers: { "If-None-Match": `"${hash}"` } });
        expect(again.status).toBe(304);
      }
    }
    // The full picture, through the seed-era path as through image_url.
    const full = await fetch(`${server.url}/static/profile/${user.id}.jpg`);
    expect(full.status).toBe(200);
    expect(await dimensions(full)).toMatchObject({ width: 300, height: 200, format: "jpeg" });
  });

  test("the ThumbHash placeholder is stored with the picture and returned in the profile", async () => {
    await using server = await startServer(await storageEnv());
    const user = await server.client.signUp();
    const { placeholder } = (await server.client.upload(user.token, png(120, 90))).body.image;
    expect(placeholder).toMatch(/^data:image\/png;base64,[A-Za-z0-9+/=]+$/);
    expect(placeholder.length).toBeLessThan(2000);
    expect((await new Bun.Image(Buffer.from(placeholder.split(",")[1], "base64")).metadata()).format).toBe("png");
    expect((await server.deps.store.userById(user.id))!.imageSet!.placeholder).toBe(placeholder);
  });

  test("a new upload gives new URLs; the old set is removed once the row moved, and its URLs answer 404", async () => {
    await using server = await startServer(await storageEnv());
    const user = await server.client.signUp();
    const first = (await server.client.upload(user.token, png(100, 100))).body.image;
    const firstSet = (await server.deps.store.userById(user.id))!.imageSet!;
    const second = (await server.client.upload(user.token, png(100, 100, { seed: 9 }))).body.image;
    expect(second.sizes["64"].webp).not.toBe(first.sizes["64"].webp);
    for (const name of pictureObjects(firstSet)) expect(await server.deps.storage.getObject(name)).toBeUndefined();
    expect((await on(server, first.sizes["64"].webp)).status).toBe(404);
    expect((await on(server, second.sizes["64"].webp)).status).toBe(200);
  });

  test("the same picture uploaded again keeps its names, and nothing the row points at is removed", async () => {
    await using server = await startServer(await storageEnv());
    const user = await server.client.signUp();
    const picture = png(80, 80, { seed: 3 });
    const first = (await server.client.upload(user.token, picture)).body;
    const second = (await server.client.upload(user.token, picture)).body;
    expect(second.image).toEqual(first.image);
    expect(second.image_url).not.toBe(first.image_url); // a new version all the same
    for (const name of pictureObjects((await server.deps.store.userById(user.id))!.imageSet!)) {
      expect(await server.deps.storage.getObject(name)).toBeDefined();
    }
    // A sweep pass long after: still nothing of the current set goes.
    server.clock.advance(7 * 24 * 3600);
    await server.deps.sweeper.pass();
    expect((await on(server, second.image.sizes["64"].jpeg)).status).toBe(200);
  });

  test("removing the picture removes the set: image and image_url null, the objects 404", async () => {
    await using server = await startServer(await storageEnv());
    const user = await server.client.signUp();
    const { image } = (await server.client.upload(user.token, png(70, 70))).body;
    const set = (await server.deps.store.userById(user.id))!.imageSet!;
    expect((await server.client.send("DELETE", "/me/image", { token: user.token })).status).toBe(200);
    const me = (await server.client.send("GET", "/me", { token: user.token })).body;
    expect(me).toMatchObject({ image: null, image_url: null });
    for (const name of pictureObjects(set)) expect(await server.deps.storage.getObject(name)).toBeUndefined();
    expectProblem(await server.client.send("GET", new URL(image.sizes["64"].webp).pathname), 404, "not_found");
  });

  test("a picture from before sets keeps being served, and the backfill makes its variants (bounded, resumable, logged)", async () => {
    await using server = await startServer(await storageEnv());
    const { deps } = server;
    const users = await Promise.all([server.client.signUp(), server.client.signUp(), server.client.signUp()]);
    for (const [i, user] of users.entries()) {
      await deps.storage.put(user.id, 3, await new Bun.Image(png(90 + i, 60)).jpeg().bytes());
      await deps.store.setImageVersion(user.id, 3, Date.now());
    }
    const before = (await server.client.send("GET", "/me", { token: users[0]!.token })).body;
    expect(before.image).toBeNull();
    expect(await dimensions(await on(server, before.image_url))).toMatchObject({ width: 90 });
    expect(variantUrl((await deps.store.userById(users[0]!.id))!, 64, "webp", deps.storage)).toBe(before.image_url);

    const backfill = new PictureBackfill(deps, { concurrency: 2, batch: 2, progressEveryMs: 0 });
    expect(await backfill.start()).toEqual({ made: 3, skipped: 0, failed: 0 });
    expect(server.logs.some((line) => line.includes("picture backfill progress"))).toBe(true);
    expect(server.logs.some((line) => line.includes("picture backfill finished"))).toBe(true);
    for (const [i, user] of users.entries()) {
      const me = (await server.client.send("GET", "/me", { token: user.token })).body;
      expect(me.image).toMatchObject({ width: 90 + i, height: 60 });
      expect(me.image_url).toBe(before.image_url.replace(`/${users[0]!.id}.jpg`, `/${user.id}.jpg`));
      expect(await dimensions(await on(server, me.image_url))).toMatchObject({ width: 90 + i });
      expect((await on(server, me.image.sizes["64"].webp)).status).toBe(200);
      // The single JPEG went once the row pointed at the set.
      expect(await deps.storage.get(user.id, 3)).toBeUndefined();
    }
    // Resumable: what is done is not done again.
    expect(await new PictureBackfill(deps, { concurrency: 1 }).start()).toEqual({ made: 0, skipped: 0, failed: 0 });
  });

  test("an older instance's upload during a rolling deploy (a new version, the set left as it was) is the picture served", async () => {
    await using server = await startServer(await storageEnv());
    const { deps } = server;
    const user = await server.client.signUp();
    await server.client.upload(user.token, png(100, 100));
    const oldSet = (await deps.store.userById(user.id))!.imageSet!;
    // What the code before sets does on upload: a single JPEG under a new version, image_set untouched.
    const version = oldSet.version + 1;
    await deps.storage.put(user.id, version, await new Bun.Image(png(77, 70)).jpeg().bytes());
    await deps.store.sql`UPDATE users SET image_version = ${version}, image_counter = ${version} WHERE id = ${user.id}`;
    const me = (await server.client.send("GET", "/me", { token: user.token })).body;
    expect(me.image).toBeNull();
    expect(await dimensions(await on(server, me.image_url))).toMatchObject({ width: 77 });
    // The sweep keeps that JPEG and drops the set no row points at any more.
    server.clock.advance(7 * 24 * 3600);
    await deps.sweeper.pass();
    expect(await deps.storage.get(user.id, version)).toBeDefined();
    for (const name of pictureObjects(oldSet)) expect(await deps.storage.getObject(name)).toBeUndefined();
    expect(await new PictureBackfill(deps, { concurrency: 1 }).start()).toEqual({ made: 1, skipped: 0, failed: 0 });
    expect((await deps.store.userById(user.id))!.imageSet).toMatchObject({ version, width: 77 });
  });
});

test("IMAGE_VARIANT_SIZES is the set of sizes made", async () => {
  await using server = await startServer({ IMAGE_VARIANT_SIZES: "96, 32" });
  const user = await server.client.signUp();
  const { image } = (await server.client.upload(user.token, png(200, 150))).body;
  expect(Object.keys(image.sizes).sort()).toEqual(["32", "96"]);
  expect(await dimensions(await on(server, image.sizes["96"].webp))).toMatchObject({ width: 96, height: 96 });
});

test("variantUrl: the stored size, else the smallest larger one, else the largest; none without a picture", async () => {
  await using server = await startServer();
  const { deps } = server;
  const user = await server.client.signUp();
  expect(variantUrl((await deps.store.userById(user.id))!, 64, "webp", deps.storage)).toBeUndefined();
  const { image } = (await server.client.upload(user.token, png(600, 600))).body;
  const row = (await deps.store.userById(user.id))!;
  expect(variantUrl(row, 128, "jpeg", deps.storage)).toBe(image.sizes["128"].jpeg);
  expect(variantUrl(row, 100, "webp", deps.storage)).toBe(image.sizes["128"].webp);
  expect(variantUrl(row, 1, "webp", deps.storage)).toBe(image.sizes["64"].webp);
  expect(variantUrl(row, 2000, "jpeg", deps.storage)).toBe(image.sizes["256"].jpeg);
});

test("a row that does not move (the account deleted meanwhile) leaves none of the new objects behind", async () => {
  await using server = await startServer();
  const { deps } = server;
  const user = await server.client.signUp();
  const setImageVersion = deps.store.setImageVersion.bind(deps.store);
  // The account goes between the objects' writes and the row update.
  deps.store.setImageVersion = async (...args) => {
    await deps.store.deleteUser(user.id);
    return setImageVersion(...args);
  };
  expectProblem(await server.client.upload(user.token, png(50, 50)), 404, "not_found");
  deps.store.setImageVersion = setImageVersion;
  const left = await deps.storage.reconcile(async () => new Map(), { before: Date.now() + 60_000, currentObjects: async () => new Map() });
  expect(left.removed).toBe(0);
});
