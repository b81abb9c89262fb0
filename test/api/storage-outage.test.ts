// Picture storage going away while the service runs (a TCP proxy in front of a real S3-protocol
// server, cut and restored): the database change is the commit point, uploads and reads answer 503
// with Retry-After, and what could not be removed goes later, without a restart.
import { afterAll, expect, test } from "bun:test";
import { loadConfig } from "../../src/config.ts";
import { S3ImageStorage } from "../../src/storage/s3.ts";
import { pictureObjects, type PictureSet } from "../../src/store/index.ts";
import { png } from "../fixtures/images.ts";
import { freshBucket } from "../helpers/s3.ts";
import { expectProblem, startServer, type TestServer } from "../helpers/server.ts";
import { TcpProxy } from "../helpers/tcp-proxy.ts";

const proxies: TcpProxy[] = [];
afterAll(() => proxies.forEach((proxy) => proxy.stop()));

/** A service whose bucket is reached through a proxy, and a direct view of that bucket. */
async function behindProxy(extra: Record<string, string> = {}) {
  const bucket = await freshBucket();
  const target = new URL(bucket.S3_ENDPOINT!);
  const proxy = await TcpProxy.start({ hostname: target.hostname, port: Number(target.port) });
  proxies.push(proxy);
  const server = await startServer({ ...bucket, S3_ENDPOINT: `http://127.0.0.1:${proxy.port}`, S3_TIMEOUT_MS: "2000", ...extra });
  const direct = new S3ImageStorage(loadConfig(bucket).s3!, "http://unused");
  return { server, proxy, direct };
}

async function until(condition: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error("condition not met in time");
    await Bun.sleep(100);
  }
}

/** A signed-up user with a 20 px picture stored, and the user's row (which names the picture set). */
async function userWithPicture(server: TestServer) {
  const user = await server.client.signUp();
  expect((await server.client.upload(user.token, png(20, 20))).status).toBe(200);
  return { user, row: (await server.deps.store.userById(user.id))! };
}

/** Waits until no object of the picture set is left in the bucket. */
const setGone = (direct: S3ImageStorage, set: PictureSet) =>
  until(async () => (await Promise.all(pictureObjects(set).map((name) => direct.getObject(name)))).every((o) => o === undefined));

test("DELETE /me/image with the bucket down: 200 at once, and the object goes once the bucket is back", async () => {
  const { server, proxy, direct } = await behindProxy();
  await using _ = server;
  const { user, row } = await userWithPicture(server);
  const set = row.imageSet!;

  proxy.cut();
  const started = performance.now();
  expect((await server.client.send("DELETE", "/me/image", { token: user.token })).status).toBe(200);
  expect(performance.now() - started).toBeLessThan(2500);
  expect((await server.client.send("GET", "/me", { token: user.token })).body.image_url).toBeNull();
  // A retry by the client finds the change made: nothing is left to do.
  expectProblem(await server.client.send("DELETE", "/me/image", { token: user.token }), 404, "not_found");
  expect(await direct.getObject(set.full)).toBeDefined();
  // Every object of the set waits for its retry (a 20 px picture: the full JPEG and one WebP/JPEG pair).
  expect(server.deps.sweeper.backlog).toBe(pictureObjects(set).length);

  await Bun.sleep(1500);
  proxy.restore();
  await setGone(direct, set);
  // The last removal's retry counts until it has finished, a moment after its object is gone.
  await until(async () => server.deps.sweeper.backlog === 0, 2000);
}, 30_000);

test("DELETE /me with the bucket down: 200, and the picture goes once the bucket is back", async () => {
  const { server, proxy, direct } = await behindProxy();
  await using _ = server;
  const { user, row } = await userWithPicture(server);
  const set = row.imageSet!;

  proxy.cut();
  expect((await server.client.send("DELETE", "/me", { token: user.token })).status).toBe(200);
  expect(await server.deps.store.userById(user.id)).toBeUndefined();
  expect(await direct.getObject(set.full)).toBeDefined();

  proxy.restore();
  await setGone(direct, set);
}, 30_000);

test("uploads and GET /static with the bucket down: 503 service_unavailable with Retry-After, then fine again", async () => {
  const { server, proxy } = await behindProxy();
  await using _ = server;
  const { user } = await userWithPicture(server);

  proxy.cut();
  const upload = await server.client.upload(user.token, png(30, 30));
  expectProblem(upload, 503, "service_unavailable");
  expect(Number(upload.headers.get("retry-after"))).toBeGreaterThan(0);
  const picture = await server.client.send("GET", `/static/profile/${user.id}.jpg`);
  expectProblem(picture, 503, "service_unavailable");
  expect(Number(picture.headers.get("retry-after"))).toBeGreaterThan(0);
  // The failed upload changed nothing: the old picture is still the current one.
  const before = (await server.deps.store.userById(user.id))!.imageVersion;

  proxy.restore();
  await until(async () => (await server.client.send("GET", `/static/profile/${user.id}.jpg`)).status === 200);
  expect((await server.deps.store.userById(user.id))!.imageVersion).toBe(before);
  expect((await server.client.upload(user.token, png(30, 30))).status).toBe(200);
}, 30_000);

test("a bucket that accepts and never answers: the upload gets 503 within S3_TIMEOUT_MS", async () => {
  const silent = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  try {
    await using server = await startServer({ ...(await freshBucket()), S3_ENDPOINT: `http://127.0.0.1:${silent.port}`, S3_TIMEOUT_MS: "500" });
    const user = await server.client.signUp();
    const started = performance.now();
    expectProblem(await server.client.upload(user.token, png(20, 20)), 503, "service_unavailable");
    expect(performance.now() - started).toBeLessThan(5000);
  } finally {
    silent.stop(true);
  }
}, 30_000);

test("an orphan goes by a periodic sweep while the service runs, once older than STORAGE_GRACE_SECONDS", async () => {
  const { server, direct } = await behindProxy({ STORAGE_SWEEP_SECONDS: "1", STORAGE_GRACE_SECONDS: "60" });
  await using _ = server;
  const { user, row } = await userWithPicture(server);
  const current = row.imageVersion!;
  // What a crash between put and commit leaves, or a removal whose retries were lost: a single
  // JPEG of before sets, and an object of a set the row never pointed at.
  await direct.put(user.id, current + 5, png(4, 4));
  const orphan = `${user.id}/${"0123456789abcdef"}-64.webp`;
  await direct.putObject(orphan, png(4, 4), "image/webp");

  await Bun.sleep(2500); // two passes: the orphans are younger than the grace period, so they stay
  expect(await direct.get(user.id, current + 5)).toBeDefined();
  expect(await direct.getObject(orphan)).toBeDefined();
  server.clock.advance(120);
  await until(async () => (await direct.get(user.id, current + 5)) === undefined && (await direct.getObject(orphan)) === undefined, 10_000);
  // Never an object the row points at.
  for (const name of pictureObjects(row.imageSet!)) expect(await direct.getObject(name)).toBeDefined();
}, 30_000);
