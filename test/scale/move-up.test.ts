// Moving up: an embedded installation (SQLite + pictures on disk) copied into PostgreSQL + S3 by
// the `move-up` command, twice (it is idempotent), then served from there as if nothing happened.
import { afterAll, expect, test } from "bun:test";
import { png } from "../fixtures/images.ts";
import { freshDatabase } from "../helpers/database.ts";
import { MAIN, startServer } from "../helpers/server.ts";
import { freshBucket } from "../helpers/s3.ts";

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
});

async function runMoveUp(args: string[], env: Record<string, string>) {
  const proc = Bun.spawn([process.execPath, MAIN, "move-up", ...args], { env: { PATH: process.env.PATH ?? "", ...env }, stdout: "pipe", stderr: "pipe" });
  const [code, out, err] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  if (code !== 0) throw new Error(`move-up exited ${code}: ${err}${out}`);
  return JSON.parse(out);
}

test("accounts, sessions and pictures survive the move, and a second run copies nothing twice", async () => {
  const laptop = await startServer({}, { database: "sqlite" });
  cleanups.push(() => laptop.close());
  const withPicture = await laptop.client.signUp("first-password");
  const alsoPicture = await laptop.client.signUp();
  const plain = await laptop.client.signUp();
  await laptop.client.upload(withPicture.token, png(64, 48));
  await laptop.client.upload(alsoPicture.token, png(20, 20));
  await laptop.client.upload(alsoPicture.token, png(30, 30)); // only the current version moves
  // An account whose picture dates from before variant sets: one JPEG, no set.
  const legacy = await laptop.client.signUp();
  const legacyJpeg = await new Bun.Image(png(50, 40)).jpeg().bytes();
  await laptop.deps.storage.put(legacy.id, 7, legacyJpeg);
  await laptop.deps.store.setImageVersion(legacy.id, 7, Date.now());

  const target = await freshDatabase(laptop.dir, "postgres");
  cleanups.push(() => target.drop());
  const bucket = await freshBucket();
  const args = ["--from-database", laptop.deps.config.databaseUrl, "--from-static", laptop.deps.config.staticDir, "--to-database", target.url];

  const first = await runMoveUp(args, bucket);
  // Two sets of three objects each (full JPEG, one WebP/JPEG pair: both pictures are under 64 px) and one single JPEG.
  expect(first).toMatchObject({ users: 4, sessions: 4, pictures: { copied: 7, alreadyThere: 0, missing: 0 }, rejected: [] });
  expect(JSON.stringify(first)).not.toContain("postgres://postgres@"); // credentials stay out of reports

  // Between the runs, on the laptop: one session ends, another's refresh token is spent.
  expect((await laptop.client.send("POST", "/logout", { json: { refresh_token: alsoPicture.refresh } })).status).toBe(204);
  const rotated = await laptop.client.send("POST", "/token/refresh", { json: { refresh_token: withPicture.refresh } });
  expect(rotated.status).toBe(200);

  const second = await runMoveUp(args, bucket);
  // Rows counted as copied (upserted), whether or not they changed; pictures are sent only once.
  expect(second).toMatchObject({ users: 4, sessions: 4, pictures: { copied: 0, alreadyThere: 7, missing: 0 }, rejected: [] });

  await using cloud = await startServer({ ...bucket, DATABASE_URL: target.url });
  expect((await cloud.client.login(withPicture.email, "first-password")).status).toBe(200);
  // Same JWT secret, same rows: tokens issued on the laptop keep working.
  const me = await cloud.client.send("GET", "/me", { token: withPicture.token });
  expect(me.status).toBe(200);
  // Pictures are public and a private bucket is served by the service: image_url is PUBLIC_BASE_URL's.
  const { pathname, search } = new URL(me.body.image_url);
  const picture = await fetch(cloud.url + pathname + search);
  expect((await new Bun.Image(new Uint8Array(await picture.arrayBuffer())).metadata()).width).toBe(64);
  // The variants moved too, and are served, immutable, by the service.
  const variant = new URL(me.body.image.sizes["64"].webp);
  const webp = await fetch(cloud.url + variant.pathname);
  expect(webp.status).toBe(200);
  expect(webp.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
  // The picture from before sets keeps being served, and the target's backfill gives it variants.
  const legacyUrl = new URL((await cloud.client.send("GET", "/me", { token: legacy.token })).body.image_url);
  expect((await fetch(cloud.url + legacyUrl.pathname + legacyUrl.search)).status).toBe(200);
  const deadline = performance.now() + 15_000;
  while ((await cloud.deps.store.userById(legacy.id))!.imageSet === null && performance.now() < deadline) await Bun.sleep(100);
  const backfilled = (await cloud.client.send("GET", "/me", { token: legacy.token })).body;
  expect(backfilled.image.width).toBe(50);
  expect(backfilled.image.placeholder).toStartWith("data:image/png;base64,");
  const legacyPicture = await fetch(cloud.url + legacyUrl.pathname + legacyUrl.search);
  expect((await new Bun.Image(new Uint8Array(await legacyPicture.arrayBuffer())).metadata()).width).toBe(50);
  expect((await cloud.client.send("POST", "/token/refresh", { json: { refresh_token: plain.refresh } })).status).toBe(200);
  // What ended on the laptop stays ended in the target: the logout, and the spent token (presented
  // after REFRESH_TOKEN_REUSE_SECONDS, within which a retry would still continue the session).
  cloud.clock.advance(11);
  expect((await cloud.client.send("POST", "/token/refresh", { json: { refresh_token: alsoPicture.refresh } })).status).toBe(401);
  expect((await cloud.client.send("POST", "/token/refresh", { json: { refresh_token: withPicture.refresh } })).status).toBe(401);
  expect((await cloud.client.send("POST", "/token/refresh", { json: { refresh_token: rotated.body.refresh_token } })).status).toBe(401); // its family was revoked by the replay just above
  const newcomer = await cloud.client.register();
  expect(newcomer.status).toBe(201);
  expect(newcomer.body.id).toBeGreaterThan(plain.id);
});
