// What the app needs from a place that keeps profile pictures: local files (the default) or an
// S3-compatible bucket. Both drivers pass one shared test suite (test/storage/storage.test.ts).

export type StoredImage = { body: Blob; size: number; etag: string; lastModified: number };

export interface ImageStorage {
  /** Stores one version of a picture atomically: readers see the old bytes or the new, never torn ones. */
  put(userId: number, version: number, jpeg: Uint8Array): Promise<void>;
  /**
   * Called once the database points at `current`: drops what older versions left behind. Local
   * files are replaced in place by `put`, so there is nothing to do; objects have one key a version.
   */
  superseded(userId: number, current: number, previous: number): Promise<void>;
  /** An upload whose database update failed: drop what `put` stored, if it is not what readers see. */
  abandoned(userId: number, version: number): Promise<void>;
  /** Removes a version of the user's picture; removing one that is not there is not an error. */
  remove(userId: number, version: number): Promise<void>;
  /** The stored picture for serving, or undefined. */
  get(userId: number, version: number): Promise<StoredImage | undefined>;
  /** The URL a client fetches the picture from (public, or presigned for a private bucket). */
  publicUrl(userId: number, version: number): string;
  /** Throws if the storage cannot be used right now (for /readyz). */
  check(): Promise<void>;
  /** After a crash: drops temp files and pictures that no user points at any more. */
  reconcile(currentVersions: (ids: number[]) => Promise<Map<number, number>>): Promise<{ removed: number }>;
}
