// Profile pictures in an S3-compatible bucket (AWS S3, MinIO, R2) through Bun.S3Client, under keys
// immutable per upload (profile/<id>/<hash>-<size>.<ext> per set object; older: profile/<id>/<version>.jpg).
import { OBJECT_NAME, parseObjectName, StorageUnavailableError, type CurrentObjects, type CurrentVersions, type ImageStorage, type StoredImage } from "./index.ts";

export type S3Settings = {
  bucket: string;
  endpoint: string | undefined;
  region: string | undefined;
  accessKeyId: string | undefined;
  secretAccessKey: string | undefined;
  virtualHostedStyle: boolean;
  /** Public bucket or CDN origin; when absent the bucket stays private and the service serves pictures. */
  publicUrl: string | undefined;
  /** Bun's client has no timeout of its own: a bucket that accepts and never answers would hang requests. */
  timeoutMs: number;
};

const KEY = /^profile\/(\d+)\/(\d+)\.jpg$/;

const isNoSuchKey = (err: unknown) => (err as { code?: string } | null)?.code === "NoSuchKey";

// The old key is deleted only after the database points at the new one.
export class S3ImageStorage implements ImageStorage {
  private readonly client: Bun.S3Client;

  /** `serviceUrl`: PUBLIC_BASE_URL, where the service serves pictures of a private bucket itself. */
  constructor(
    private readonly settings: S3Settings,
    private readonly serviceUrl: string,
  ) {
    this.client = new Bun.S3Client({
      bucket: settings.bucket,
      endpoint: settings.endpoint,
      region: settings.region,
      accessKeyId: settings.accessKeyId,
      secretAccessKey: settings.secretAccessKey,
      virtualHostedStyle: settings.virtualHostedStyle,
    });
  }

  private key(userId: number, version: number): string {
    return `profile/${userId}/${version}.jpg`;
  }

  /**
   * One bucket call within S3_TIMEOUT_MS. Any failure but a missing key is the bucket's (refused,
   * reset, 5xx, SlowDown, bad credentials): StorageUnavailableError, which clients see as 503.
   * A call that times out may still complete later; what it leaves is an orphan for the sweep.
   */
  private async call<T>(operation: string, run: () => Promise<T>): Promise<T> {
    let timer: Timer | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StorageUnavailableError(`${operation}: no answer within ${this.settings.timeoutMs} ms`)), this.settings.timeoutMs);
    });
    try {
      return await Promise.race([run(), timeout]);
    } catch (err) {
      if (err instanceof StorageUnavailableError || isNoSuchKey(err)) throw err;
      throw new StorageUnavailableError(operation, { cause: err });
    } finally {
      clearTimeout(timer);
    }
  }

  async put(userId: number, version: number, jpeg: Uint8Array): Promise<void> {
    // A PUT of one object is atomic on S3: readers see no object or the whole one.
    await this.call("put", () => this.client.write(this.key(userId, version), jpeg, { type: "image/jpeg" }));
  }

  async putObject(name: string, bytes: Uint8Array, contentType: string): Promise<void> {
    if (!parseObjectName(name)) throw new TypeError(`not a picture object name: ${name}`);
    // Bun's client cannot set an object's Cache-Control: a public bucket's CDN is told by its own
    // rules (docs/operations.md); through the service, /static/p/ sends it.
    await this.call("put", () => this.client.write(`profile/${name}`, bytes, { type: contentType }));
  }

  async getObject(name: string): Promise<StoredImage | undefined> {
    const parsed = parseObjectName(name);
    if (!parsed) return undefined;
    const file = this.client.file(`profile/${name}`);
    try {
      const [bytes, stat] = await this.call("get", () => Promise.all([file.bytes(), file.stat()]));
      return { body: new Blob([bytes]), size: bytes.length, etag: `"${parsed.hash}"`, lastModified: stat.lastModified.getTime() };
    } catch (err) {
      if (isNoSuchKey(err)) return undefined;
      throw err;
    }
  }

  async removeObject(name: string): Promise<void> {
    if (!parseObjectName(name)) throw new TypeError(`not a picture object name: ${name}`);
    await this.call("delete", () => this.client.delete(`profile/${name}`));
  }

  get servedByService(): boolean {
    return this.settings.publicUrl === undefined;
  }

  objectUrl(name: string): string {
    if (this.settings.publicUrl !== undefined) return `${this.settings.publicUrl}/profile/${name}`;
    return `${this.serviceUrl}/static/p/${name}`;
  }

  async superseded(userId: number, _current: number, previous: number): Promise<void> {
    await this.remove(userId, previous);
  }

  async abandoned(userId: number, version: number): Promise<void> {
    await this.remove(userId, version);
  }

  async remove(userId: number, version: number): Promise<void> {
    await this.call("delete", () => this.client.delete(this.key(userId, version)));
  }

  discardable(version: number, current: number | undefined): boolean {
    // Versions are never reused (users.image_counter), so any other version is garbage for good.
    return version !== current;
  }

  async get(userId: number, version: number): Promise<StoredImage | undefined> {
    const file = this.client.file(this.key(userId, version));
    try {
      const [bytes, stat] = await this.call("get", () => Promise.all([file.bytes(), file.stat()]));
      return { body: new Blob([bytes]), size: bytes.length, etag: stat.etag, lastModified: stat.lastModified.getTime() };
    } catch (err) {
      if (isNoSuchKey(err)) return undefined;
      throw err;
    }
  }

  publicUrl(userId: number, version: number): string {
    if (this.settings.publicUrl !== undefined) return `${this.settings.publicUrl}/${this.key(userId, version)}`;
    // Pictures are public: a private bucket is served through the service, under the same URL as
    // local files, rather than by presigned URLs that would expire.
    return `${this.serviceUrl}/static/profile/${userId}.jpg?v=${version}`;
  }

  async check(): Promise<void> {
    await this.call("list", () => this.client.list({ prefix: "profile/", maxKeys: 1 }));
  }

  async reconcile(currentVersions: CurrentVersions, { before, currentObjects }: { before: number; currentObjects?: CurrentObjects }): Promise<{ removed: number }> {
    let removed = 0;
    let startAfter: string | undefined;
    for (;;) {
      const page = await this.call("list", () => this.client.list({ prefix: "profile/", maxKeys: 1000, startAfter }));
      const objects = page.contents ?? [];
      // Without a date we cannot tell an orphan from an upload about to be recorded: keep it.
      const old = objects.filter((object) => object.lastModified !== undefined && Date.parse(object.lastModified) < before);
      const parsed = old.map((object) => KEY.exec(object.key)).filter((m): m is RegExpExecArray => m !== null);
      const current = await currentVersions([...new Set(parsed.map((m) => Number(m[1])))]);
      for (const match of parsed) {
        if (current.get(Number(match[1])) !== Number(match[2])) {
          await this.call("delete", () => this.client.delete(match[0]));
          removed++;
        }
      }
      // Set objects: only when we know what rows point at; else every one is kept.
      const sets = currentObjects
        ? old.map((object) => object.key.slice("profile/".length)).filter((name) => OBJECT_NAME.test(name))
        : [];
      const referenced = sets.length > 0 ? await currentObjects!([...new Set(sets.map((name) => parseObjectName(name)!.userId))]) : new Map();
      for (const name of sets) {
        if (!referenced.get(parseObjectName(name)!.userId)?.has(name)) {
          await this.call("delete", () => this.client.delete(`profile/${name}`));
          removed++;
        }
      }
      if (!page.isTruncated || objects.length === 0) return { removed };
      startAfter = objects.at(-1)!.key;
    }
  }
}
