// Profile pictures in an S3-compatible bucket (AWS S3, MinIO, R2) through Bun.S3Client. Keys are
// immutable per upload, profile/<id>/<version>.jpg, so no cache ever serves a stale picture; the
// old key is deleted only after the database points at the new one.
import type { ImageStorage, StoredImage } from "./index.ts";

export type S3Settings = {
  bucket: string;
  endpoint: string | undefined;
  region: string | undefined;
  accessKeyId: string | undefined;
  secretAccessKey: string | undefined;
  virtualHostedStyle: boolean;
  /** Public bucket or CDN origin; when absent the bucket is private and URLs are presigned. */
  publicUrl: string | undefined;
  presignSeconds: number;
};

const KEY = /^profile\/(\d+)\/(\d+)\.jpg$/;

export class S3ImageStorage implements ImageStorage {
  private readonly client: Bun.S3Client;

  constructor(private readonly settings: S3Settings) {
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

  async put(userId: number, version: number, jpeg: Uint8Array): Promise<void> {
    // A PUT of one object is atomic on S3: readers see no object or the whole one.
    await this.client.write(this.key(userId, version), jpeg, { type: "image/jpeg" });
  }

  async superseded(userId: number, _current: number, previous: number): Promise<void> {
    await this.remove(userId, previous);
  }

  async abandoned(userId: number, version: number): Promise<void> {
    await this.remove(userId, version);
  }

  async remove(userId: number, version: number): Promise<void> {
    await this.client.delete(this.key(userId, version));
  }

  async get(userId: number, version: number): Promise<StoredImage | undefined> {
    const file = this.client.file(this.key(userId, version));
    try {
      const [bytes, stat] = await Promise.all([file.bytes(), file.stat()]);
      return { body: new Blob([bytes]), size: bytes.length, etag: stat.etag, lastModified: stat.lastModified.getTime() };
    } catch (err) {
      if ((err as { code?: string }).code === "NoSuchKey") return undefined;
      throw err;
    }
  }

  publicUrl(userId: number, version: number): string {
    const key = this.key(userId, version);
    if (this.settings.publicUrl !== undefined) return `${this.settings.publicUrl}/${key}`;
    // Signed afresh on every read, so a leaked URL stops working after S3_PRESIGN_SECONDS.
    return this.client.presign(key, { method: "GET", expiresIn: this.settings.presignSeconds });
  }

  async check(): Promise<void> {
    await this.client.list({ prefix: "profile/", maxKeys: 1 });
  }

  async reconcile(currentVersions: (ids: number[]) => Promise<Map<number, number>>): Promise<{ removed: number }> {
    let removed = 0;
    let startAfter: string | undefined;
    for (;;) {
      const page = await this.client.list({ prefix: "profile/", maxKeys: 1000, startAfter });
      const keys = (page.contents ?? []).map((object) => object.key);
      const parsed = keys.map((key) => KEY.exec(key)).filter((m): m is RegExpExecArray => m !== null);
      const current = await currentVersions([...new Set(parsed.map((m) => Number(m[1])))]);
      for (const match of parsed) {
        if (current.get(Number(match[1])) !== Number(match[2])) {
          await this.client.delete(match[0]);
          removed++;
        }
      }
      if (!page.isTruncated || keys.length === 0) return { removed };
      startAfter = keys.at(-1);
    }
  }
}
