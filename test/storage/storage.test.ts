// One suite, both drivers: local files and an S3 bucket (a real S3-protocol server on 127.0.0.1)
// must behave the same through the ImageStorage interface.
import { describe, expect, test } from "bun:test";
import { readdirSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../../src/config.ts";
import { StorageUnavailableError, type ImageStorage } from "../../src/storage/index.ts";
import { LocalImageStorage } from "../../src/storage/local.ts";
import { S3ImageStorage } from "../../src/storage/s3.ts";
import { freshBucket } from "../helpers/s3.ts";
import { tempDirsForFile } from "../helpers/server.ts";

const tempDir = tempDirsForFile("storage-");

async function local(): Promise<ImageStorage> {
  const dir = tempDir();
  const storage = new LocalImageStorage(dir, "http://pictures.test");
  await storage.init();
  return storage;
}

async function s3(extra: Record<string, string> = {}): Promise<ImageStorage> {
  return new S3ImageStorage(loadConfig(await freshBucket(extra)).s3!, "http://pictures.test");
}

const bytes = (n: number) => new Uint8Array(Array.from({ length: 64 }, (_, i) => (i * n) & 0xff));
const read = async (storage: ImageStorage, id: number, version: number) => {
  const image = await storage.get(id, version);
  return image && new Uint8Array(await image.body.arrayBuffer());
};

describe.each([["local files", local], ["S3", () => s3()]] as const)("%s", (_name, make) => {
  test("put then get returns the same bytes with an ETag", async () => {
    const storage = await make();
    await storage.put(7, 1, bytes(1));
    const image = await storage.get(7, 1);
    expect(image?.size).toBe(64);
    expect(image?.etag).toMatch(/^"[^"]+"$/);
    expect(await read(storage, 7, 1)).toEqual(bytes(1));
  });

  test("a newer version replaces what readers get once superseded; removing is idempotent", async () => {
    const storage = await make();
    await storage.put(8, 1, bytes(1));
    await storage.put(8, 2, bytes(2));
    await storage.superseded(8, 2, 1);
    expect(await read(storage, 8, 2)).toEqual(bytes(2));
    await storage.remove(8, 2);
    await storage.remove(8, 2);
    expect(await storage.get(8, 2)).toBeUndefined();
  });

  test("a missing picture is undefined, not an error", async () => {
    expect(await (await make()).get(404, 1)).toBeUndefined();
  });

  test("check() passes on a usable store", async () => {
    await (await make()).check();
  });

  test("reconcile keeps current pictures and drops the rest", async () => {
    const storage = await make();
    await storage.put(1, 3, bytes(3));
    await storage.put(2, 1, bytes(1));
    const { removed } = await storage.reconcile(async (ids) => new Map(ids.filter((id) => id === 1).map((id) => [id, 3])), { before: Date.now() + 60_000 });
    expect(removed).toBeGreaterThanOrEqual(1);
    expect(await read(storage, 1, 3)).toEqual(bytes(3));
    expect(await storage.get(2, 1)).toBeUndefined();
  });

  test("reconcile leaves unreferenced pictures younger than the grace period (an upload about to be recorded)", async () => {
    const storage = await make();
    await storage.put(2, 1, bytes(1));
    const { removed } = await storage.reconcile(async () => new Map(), { before: Date.now() - 60_000 });
    expect(removed).toBe(0);
    expect(await read(storage, 2, 1)).toEqual(bytes(1));
  });

  test("discardable: never what readers of the current version get", async () => {
    const storage = await make();
    expect(storage.discardable(3, 3)).toBe(false);
    expect(storage.discardable(3, undefined)).toBe(true);
    // Objects have a key per version; a local file is whatever version was put last.
    expect(storage.discardable(2, 3)).toBe(!(storage instanceof LocalImageStorage));
  });

  // Picture sets (issue 11): content-named objects, written atomically, removed only when no row points at them.
  const name = (id: number, hash: string, size: string, ext = "webp") => `${id}/${hash.padEnd(16, "0")}-${size}.${ext}`;

  test("putObject then getObject returns the bytes with the content hash as a strong ETag", async () => {
    const storage = await make();
    const object = name(7, "abc1", "64");
    await storage.putObject(object, bytes(3), "image/webp");
    const image = await storage.getObject(object);
    expect(image?.etag).toBe(`"${"abc1".padEnd(16, "0")}"`);
    expect(new Uint8Array(await image!.body.arrayBuffer())).toEqual(bytes(3));
    // Objects live beside the single JPEG of before sets, which stays readable.
    await storage.put(7, 1, bytes(1));
    expect(await read(storage, 7, 1)).toEqual(bytes(1));
    expect(await storage.getObject(object)).toBeDefined();
    await storage.removeObject(object);
    await storage.removeObject(object);
    expect(await storage.getObject(object)).toBeUndefined();
  });

  test("names that are not ours are neither stored nor read", async () => {
    const storage = await make();
    for (const bad of ["7/../../x-64.webp", "../7/0123456789abcdef-64.webp", "7/0123456789ABCDEF-64.webp", "0/0123456789abcdef-64.webp", "7/0123456789abcdef-64.png"]) {
      await expect(storage.putObject(bad, bytes(1), "image/webp")).rejects.toBeInstanceOf(TypeError);
      expect(await storage.getObject(bad)).toBeUndefined();
    }
  });

  test("objectUrl: served by the service under /static/p/ without a public bucket URL", async () => {
    const storage = await make();
    expect(storage.servedByService).toBe(true);
    expect(storage.objectUrl(name(5, "f", "full", "jpg"))).toBe(`http://pictures.test/static/p/5/${"f".padEnd(16, "0")}-full.jpg`);
  });

  test("reconcile removes old set objects no row points at, keeps the current set, young objects, and all without currentObjects", async () => {
    const storage = await make();
    const [kept, orphan, otherUser] = [name(1, "a", "64"), name(1, "b", "64"), name(2, "c", "full", "jpg")];
    for (const object of [kept, orphan, otherUser]) await storage.putObject(object, bytes(2), "image/webp");
    const none = async () => new Map<number, number>();
    const current = async (ids: number[]) => new Map(ids.filter((id) => id === 1).map((id) => [id, new Set([kept])]));
    // Without knowing what rows point at, nothing of a set goes; nor anything younger than the grace period.
    await storage.reconcile(none, { before: Date.now() + 60_000 });
    await storage.reconcile(none, { before: Date.now() - 60_000, currentObjects: current });
    for (const object of [kept, orphan, otherUser]) expect(await storage.getObject(object)).toBeDefined();
    const { removed } = await storage.reconcile(none, { before: Date.now() + 60_000, currentObjects: current });
    expect(removed).toBe(2);
    expect(await storage.getObject(kept)).toBeDefined();
    expect(await storage.getObject(orphan)).toBeUndefined();
    expect(await storage.getObject(otherUser)).toBeUndefined();
  });

  test("without a public bucket URL, pictures are served by the service at a URL that never expires", async () => {
    const storage = await make();
    expect(storage.publicUrl(5, 9)).toBe("http://pictures.test/static/profile/5.jpg?v=9");
  });
});

describe("S3 specifics", () => {
  test("keys are immutable per version: an old version stays readable until superseded", async () => {
    const storage = await s3();
    await storage.put(3, 1, bytes(1));
    await storage.put(3, 2, bytes(2));
    expect(await read(storage, 3, 1)).toEqual(bytes(1));
    await storage.superseded(3, 2, 1);
    expect(await storage.get(3, 1)).toBeUndefined();
  });

  test("an abandoned upload leaves no object behind", async () => {
    const storage = await s3();
    await storage.put(4, 5, bytes(5));
    await storage.abandoned(4, 5);
    expect(await storage.get(4, 5)).toBeUndefined();
  });

  test("a bucket that refuses connections is StorageUnavailableError, not a bug", async () => {
    const storage = await s3({ S3_ENDPOINT: "http://127.0.0.1:1" });
    for (const call of [() => storage.put(1, 1, bytes(1)), () => storage.get(1, 1), () => storage.remove(1, 1), () => storage.check()]) {
      await expect(call()).rejects.toBeInstanceOf(StorageUnavailableError);
    }
  });

  test("a bucket that accepts and never answers times out after S3_TIMEOUT_MS", async () => {
    const silent = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      const storage = await s3({ S3_ENDPOINT: `http://127.0.0.1:${silent.port}`, S3_TIMEOUT_MS: "300" });
      const started = performance.now();
      await expect(storage.put(1, 1, bytes(1))).rejects.toBeInstanceOf(StorageUnavailableError);
      expect(performance.now() - started).toBeLessThan(3000);
    } finally {
      silent.stop(true);
    }
  });

  test("a public bucket or CDN gets its base URL plus the key", async () => {
    const storage = await s3({ S3_PUBLIC_URL: "https://cdn.example.com/pics/" });
    expect(storage.publicUrl(6, 2)).toBe("https://cdn.example.com/pics/profile/6/2.jpg");
    expect(storage.servedByService).toBe(false);
    expect(storage.objectUrl(`6/${"e".repeat(16)}-128.webp`)).toBe(`https://cdn.example.com/pics/profile/6/${"e".repeat(16)}-128.webp`);
  });

  test("set objects are stored with their content type (a public bucket serves them as is)", async () => {
    const bucket = await freshBucket();
    const storage = new S3ImageStorage(loadConfig(bucket).s3!, "http://pictures.test");
    await storage.putObject(`6/${"d".repeat(16)}-64.webp`, bytes(1), "image/webp");
    const raw = new Bun.S3Client({
      bucket: bucket.S3_BUCKET,
      endpoint: bucket.S3_ENDPOINT,
      accessKeyId: bucket.S3_ACCESS_KEY_ID,
      secretAccessKey: bucket.S3_SECRET_ACCESS_KEY,
    });
    const res = await fetch(raw.presign(`profile/6/${"d".repeat(16)}-64.webp`));
    expect(res.headers.get("content-type")).toBe("image/webp");
  });
});

describe("local specifics", () => {
  test("reconcile also removes temp files a crash left", async () => {
    const dir = tempDir();
    const storage = new LocalImageStorage(dir, "http://x");
    await storage.init();
    writeFileSync(join(dir, "profile", "9.jpg.4.abc.tmp"), "half");
    writeFileSync(join(dir, "profile", "10.jpg.5.def.tmp"), "being written");
    const hourAgo = new Date(Date.now() - 3600_000);
    utimesSync(join(dir, "profile", "9.jpg.4.abc.tmp"), hourAgo, hourAgo);
    await storage.reconcile(async () => new Map(), { before: Date.now() - 60_000 });
    // The young one may be an upload in progress (another instance on a shared folder).
    expect(readdirSync(join(dir, "profile"))).toEqual(["10.jpg.5.def.tmp"]);
  });

  test("a full disk is StorageUnavailableError, and the temp file goes", async () => {
    const dir = tempDir();
    const storage = new LocalImageStorage(dir, "http://x");
    await storage.init();
    // /dev/full answers every write with ENOSPC, as a full disk does: the picture's bytes go there.
    const write = Bun.write;
    (Bun as { write: unknown }).write = (_path: string, data: Uint8Array) => write("/dev/full", data);
    try {
      await expect(storage.put(1, 1, bytes(1))).rejects.toBeInstanceOf(StorageUnavailableError);
    } finally {
      (Bun as { write: unknown }).write = write;
    }
    expect(readdirSync(join(dir, "profile"))).toEqual([]);
  });
});
