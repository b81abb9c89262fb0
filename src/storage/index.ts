// What the app needs from a place that keeps profile pictures: local files (the default) or an
// S3-compatible bucket. Both drivers pass one shared test suite (test/storage/storage.test.ts).
import { CodedError } from "../core.ts";

export type StoredImage = { body: Blob; size: number; etag: string; lastModified: number };

/** Maps user ids to the picture version their row points at (absent: no picture, or no user). */
export type CurrentVersions = (ids: number[]) => Promise<Map<number, number>>;

/** Maps user ids to the names of the objects their row's picture set is made of (absent: none). */
export type CurrentObjects = (ids: number[]) => Promise<Map<number, Set<string>>>;

/**
 * A picture-set object's name (src/images/variants.ts objectName): `<userId>/<hash>-<size|full>.<ext>`.
 * Only names of this form are stored, served or removed, so no ".." or "/" trick can reach elsewhere.
 */
export const OBJECT_NAME = /^([1-9][0-9]{0,14})\/([0-9a-f]{16})-(full|[1-9][0-9]{0,3})\.(jpg|webp)$/;

/** The user an object belongs to and its content hash (the strong ETag), or undefined for a name not ours. */
export function parseObjectName(name: string): { userId: number; hash: string; contentType: string } | undefined {
  const match = OBJECT_NAME.exec(name);
  if (!match) return undefined;
  return { userId: Number(match[1]), hash: match[2]!, contentType: match[4] === "jpg" ? "image/jpeg" : "image/webp" };
}

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
  /**
   * Whether removing `version` can no longer take away what readers get, now that the row points at
   * `current` (undefined: no picture). Objects have a key per version; a local file is whatever
   * version was put last, so it may go only once the user has no picture at all.
   */
  discardable(version: number, current: number | undefined): boolean;
  /** The stored picture for serving, or undefined. */
  get(userId: number, version: number): Promise<StoredImage | undefined>;
  /** The URL a client fetches the picture from: pictures are public (README: "Profile pictures are public"). */
  publicUrl(userId: number, version: number): string;
  /**
   * Stores one object of a picture set under its content-named key (OBJECT_NAME), atomically. The
   * name changes with the bytes, so an existing object of that name already holds them.
   */
  putObject(name: string, bytes: Uint8Array, contentType: string): Promise<void>;
  /** An object of a picture set for serving, with the strong ETag `"<hash>"`, or undefined. */
  getObject(name: string): Promise<StoredImage | undefined>;
  /** Removes an object of a picture set; one that is not there is not an error. */
  removeObject(name: string): Promise<void>;
  /** True when clients fetch pictures through the service (local files, a private bucket), not from a public bucket or CDN. */
  readonly servedByService: boolean;
  /** Where clients fetch an object from: immutable, so cacheable for a year. */
  objectUrl(name: string): string;
  /** Throws if the storage cannot be used right now (for /readyz). */
  check(): Promise<void>;
  /**
   * Drops temp files and pictures that no user points at, but only those last written before
   * `before` (epoch ms): a younger one may belong to an upload whose row is about to point at it,
   * on this instance or another (rolling deploys). Set objects go only when `currentObjects` says
   * no row points at them; without it they are all kept.
   */
  reconcile(currentVersions: CurrentVersions, options: { before: number; currentObjects?: CurrentObjects }): Promise<{ removed: number }>;
}

/**
 * The storage did not answer, or refused, or took too long: a dependency failure, not a bug.
 * Clients see 503 service_unavailable with Retry-After; the operation and the cause go to the log.
 */
export class StorageUnavailableError extends CodedError {
  constructor(operation: string, options: { cause?: unknown } = {}) {
    super("service_unavailable", "Picture storage is not answering; try again shortly.", { headers: { "Retry-After": "5" }, cause: options.cause });
    this.name = "StorageUnavailableError";
    this.message = `picture storage unavailable (${operation})`;
  }
}
