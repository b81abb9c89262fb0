// A rolling deploy with pictures in S3: one instance takes uploads without pause while another,
// on the same PostgreSQL and bucket, restarts again and again (each start sweeps the bucket). No
// acknowledged picture may be lost: a sweep must never take an upload not yet recorded.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { png } from "../fixtures/images.ts";
import { freshDatabase, POSTGRES_URL, type TestDatabase } from "../helpers/database.ts";
import { Client, type ServiceProcess, startProcess } from "../helpers/server.ts";
import { freshBucket } from "../helpers/s3.ts";
import { TcpProxy } from "../helpers/tcp-proxy.ts";

// Bounded for a shared machine; ROLLING_SECONDS=60 runs it longer, ROLLING_DB_DELAY_MS changes the latency.
const UPLOAD_SECONDS = Number(process.env.ROLLING_SECONDS ?? 15);
const UPLOADERS = 4;
const USERS_PER_UPLOADER = 5;
// Latency between the uploading instance and its database (each way), as across zones: it widens
// the moment between storing a picture and recording it, which is when a careless sweep takes it.
const DATABASE_DELAY_MS = Number(process.env.ROLLING_DB_DELAY_MS ?? 10);

const dir = mkdtempSync(join(tmpdir(), "rolling-"));
let database: TestDatabase | undefined;
let proxy: TcpProxy | undefined;
const running: ServiceProcess[] = [];

afterAll(async () => {
  for (const instance of running) instance.proc.kill("SIGKILL");
  await Promise.all(running.map((instance) => instance.proc.exited));
  proxy?.stop();
  await database?.drop();
  rmSync(dir, { recursive: true, force: true });
});

async function stop(instance: ServiceProcess): Promise<void> {
  instance.proc.kill("SIGTERM");
  await instance.proc.exited;
  running.splice(running.indexOf(instance), 1);
}

test("uploads on one instance while another restarts repeatedly: 0 acknowledged pictures lost", async () => {
  const postgres = new URL(POSTGRES_URL);
  proxy = await TcpProxy.start({ hostname: postgres.hostname, port: Number(postgres.port || 5432) }, { delayMs: DATABASE_DELAY_MS });
  const viaProxy = new URL(POSTGRES_URL);
  viaProxy.port = String(proxy.port);
  database = await freshDatabase(dir, "postgres", viaProxy.href);
  const env = {
    NODE_ENV: "test",
    JWT_SECRET: "rolling-deploy-test-secret-0123456789abcdef",
    RATE_LIMITS: "off",
    ACCESS_LOG: "off",
    ...(await freshBucket()),
  };
  const direct = database.url.replace(`:${proxy.port}/`, `:${postgres.port || 5432}/`);
  const steady = await startProcess(mkdtempSync(join(dir, "steady-")), { ...env, DATABASE_URL: database.url });
  running.push(steady);
  const client = new Client(steady.url);

  const users = await Promise.all(Array.from({ length: UPLOADERS * USERS_PER_UPLOADER }, () => client.signUp()));
  const acknowledged = new Map<number, number>(); // user id → version of its last 200
  let uploads = 0;
  let refused = 0;
  let lost = 0;
  // Every acknowledged picture is checked while it is still the account's current one: just before
  // the next upload replaces it, and at the end.
  const stillThere = async (userId: number) => {
    const version = acknowledged.get(userId);
    if (version === undefined) return;
    const reply = await fetch(`${steady.url}/static/profile/${userId}.jpg?v=${version}`, { method: "HEAD" });
    if (reply.status !== 200) lost++;
  };
  let uploading = true;
  const picture = png(24, 16);
  const uploaders = Array.from({ length: UPLOADERS }, async (_, n) => {
    const mine = users.slice(n * USERS_PER_UPLOADER, (n + 1) * USERS_PER_UPLOADER);
    for (let i = 0; uploading; i++) {
      const user = mine[i % mine.length]!;
      await stillThere(user.id);
      const reply = await client.upload(user.token, picture);
      if (reply.status !== 200) {
        refused++;
        continue;
      }
      uploads++;
      acknowledged.set(user.id, Number(new URL(reply.body.image_url).searchParams.get("v")));
    }
  });

  let restarts = 0;
  const deadline = performance.now() + UPLOAD_SECONDS * 1000;
  while (performance.now() < deadline) {
    // Each start sweeps the bucket (src/storage/sweeper.ts) before it listens.
    const other = await startProcess(mkdtempSync(join(dir, "restarting-")), { ...env, DATABASE_URL: direct });
    running.push(other);
    restarts++;
    await Bun.sleep(200);
    await stop(other);
  }
  uploading = false;
  await Promise.all(uploaders);

  for (const user of users) await stillThere(user.id);
  console.log(JSON.stringify({ seconds: UPLOAD_SECONDS, restarts, acknowledged_uploads: uploads, refused, lost }));
  expect(restarts).toBeGreaterThanOrEqual(3);
  expect(uploads).toBeGreaterThan(50);
  expect(refused).toBe(0);
  expect(lost).toBe(0);
}, 120_000);
