// Moving up: an embedded installation (SQLite + pictures on disk) copied into PostgreSQL + S3 by
// the `move-up` command, twice (it is idempotent), then served from there as if nothing happened.
import { afterAll, expect, test } from "bun:test";
import { png } from "../fixtures/images.ts";
import { freshDatabase } from "../helpers/database.ts";
import { MAIN } from "../helpers/process.ts";
import { freshBucket } from "../helpers/s3.ts";
import { startServer } from "../helpers/server.ts";

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

  const target = await freshDatabase(laptop.dir, "postgres");
  cleanups.push(() => target.drop());
  const bucket = await freshBucket();
  const args = ["--from-database", laptop.deps.config.databaseUrl, "--from-static", laptop.deps.config.staticDir, "--to-database", target.url];

  const first = await runMoveUp(args, bucket);
  expect(first).toMatchObject({ users: 3, sessions: 3, pictures: { copied: 2, alreadyThere: 0, missing: 0 }, rejected: [] });
  expect(JSON.stringify(first)).not.toContain("postgres://postgres@"); // credentials stay out of reports

  // Between the runs, on the laptop: one session ends, another's refresh token is spent.
  expect((await laptop.client.send("POST", "/logout", { json: { refresh_token: alsoPicture.refresh } })).status).toBe(204);
  const rotated = await laptop.client.send("POST", "/token/refresh", { json: { refresh_token: withPicture.refresh } });
  expect(rotated.status).toBe(200);

  const second = await runMoveUp(args, bucket);
  // Rows counted as copied (upserted), whether or not they changed; pictures are sent only once.
  expect(second).toMatchObject({ users: 3, sessions: 3, pictures: { copied: 0, alreadyThere: 2, missing: 0 }, rejected: [] });

  await using cloud = await startServer({ ...bucket, DATABASE_URL: target.url });
  expect((await cloud.client.login(withPicture.email, "first-password")).status).toBe(200);
  // Same JWT secret, same rows: tokens issued on the laptop keep working.
  const me = await cloud.client.send("GET", "/me", { token: withPicture.token });
  expect(me.status).toBe(200);
  // Pictures are public and a private bucket is served by the service: image_url is PUBLIC_BASE_URL's.
  const { pathname, search } = new URL(me.body.image_url);
  const picture = await fetch(cloud.url + pathname + search);
  expect((await new Bun.Image(new Uint8Array(await picture.arrayBuffer())).metadata()).width).toBe(64);
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
