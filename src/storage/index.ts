// What the app needs from a place that keeps profile pictures. The local driver writes files under
// the static folder; an S3 driver (scale-out) implements the same interface and the same test suite.

export type StoredImage = { body: Blob; size: number; etag: string; lastModified: number };

export interface ImageStorage {
  /** Stores the picture atomically: readers see the old bytes or the new ones, never a torn file. */
  put(userId: number, version: number, jpeg: Uint8Array): Promise<void>;
  /** Removes the user's picture; removing one that is not there is not an error. */
  remove(userId: number): Promise<void>;
  /** The stored picture for serving, or undefined. */
  get(userId: number): Promise<StoredImage | undefined>;
  /** The URL a client fetches the picture from. */
  publicUrl(userId: number, version: number): string;
  /** Throws if the storage cannot be used right now (for /readyz). */
  check(): Promise<void>;
  /** After a crash: drops temp files and pictures whose user no longer has one. */
  reconcile(usersWithImages: (ids: number[]) => Promise<Set<number>>): Promise<{ removed: number }>;
}
