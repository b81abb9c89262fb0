// Profile pictures as files: <static>/profile/<user id>/<hash>-<size>.<ext> per set object (and the
// older <static>/profile/<user id>.jpg), written to a temp file and renamed into place, which POSIX makes atomic.
import { access, constants, mkdir, open, readdir, rename, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { parseObjectName, StorageUnavailableError, type CurrentObjects, type CurrentVersions, type ImageStorage, type StoredImage } from "./index.ts";

const TEMP_SUFFIX = ".tmp";

// A full or failing disk is the storage being unavailable (503, try later), not a bug of ours.
const UNAVAILABLE = new Set(["ENOSPC", "EDQUOT", "EROFS", "EIO", "EMFILE", "ENFILE"]);
function classify(operation: string, err: unknown): unknown {
  return UNAVAILABLE.has(String((err as { code?: unknown } | null)?.code)) ? new StorageUnavailableError(operation, { cause: err }) : err;
}

/** Last-modified time in ms, or undefined if the file went meanwhile. */
const mtimeOf = (path: string) => stat(path).then((info) => info.mtimeMs, () => undefined);

export class LocalImageStorage implements ImageStorage {
  private readonly folder: string;
  readonly servedByService = true;

  constructor(
    staticDir: string,
    private readonly publicBaseUrl: string,
  ) {
    this.folder = join(staticDir, "profile");
  }

  async init(): Promise<void> {
    await mkdir(this.folder, { recursive: true });
  }

  private path(userId: number): string {
    return join(this.folder, `${userId}.jpg`);
  }

  async put(userId: number, version: number, jpeg: Uint8Array): Promise<void> {
    await this.atomicWrite(join(this.folder, `${userId}.jpg.${version}.${crypto.randomUUID()}${TEMP_SUFFIX}`), this.path(userId), jpeg);
  }

  private objectPath(name: string): string {
    // The path is rebuilt from the parsed name: nothing else can reach outside the folder.
    const parsed = parseObjectName(name);
    if (!parsed) throw new TypeError(`not a picture object name: ${name}`);
    return join(this.folder, name);
  }

  async putObject(name: string, bytes: Uint8Array): Promise<void> {
    const path = this.objectPath(name);
    try {
      await mkdir(dirname(path), { recursive: true });
    } catch (err) {
      throw classify("put", err);
    }
    await this.atomicWrite(`${path}.${crypto.randomUUID()}${TEMP_SUFFIX}`, path, bytes);
  }

  async getObject(name: string): Promise<StoredImage | undefined> {
    const parsed = parseObjectName(name);
    if (!parsed) return undefined;
    let bytes: Uint8Array;
    let mtime: number;
    try {
      const handle = await open(this.objectPath(name), "r");
      try {
        mtime = (await handle.stat()).mtimeMs;
        bytes = await handle.readFile();
      } finally {
        await handle.close();
      }
    } catch {
      return undefined;
    }
    return { body: new Blob([bytes]), size: bytes.length, etag: `"${parsed.hash}"`, lastModified: mtime };
  }

  async removeObject(name: string): Promise<void> {
    await rm(this.objectPath(name), { force: true }).catch((err) => {
      throw classify("remove", err);
    });
  }

  objectUrl(name: string): string {
    return `${this.publicBaseUrl}/static/p/${name}`;
  }

  private async atomicWrite(temp: string, path: string, jpeg: Uint8Array): Promise<void> {
    try {
      await Bun.write(temp, jpeg);
      // Durable before it becomes visible: after a power cut the name never points at empty blocks.
      const handle = await open(temp, "r");
      await handle.sync().finally(() => handle.close());
      await rename(temp, path);
    } catch (err) {
      await rm(temp, { force: true }).catch(() => {});
      throw classify("put", err);
    }
  }

  async superseded(): Promise<void> {
    // `put` renamed the new picture over the old one: nothing is left behind.
  }

  async abandoned(): Promise<void> {
    // The rename already happened: the file is the newest picture and stays, like after a crash.
  }

  async remove(userId: number): Promise<void> {
    await rm(this.path(userId), { force: true }).catch((err) => {
      throw classify("remove", err);
    });
  }

  discardable(_version: number, current: number | undefined): boolean {
    // One file a user, replaced in place: while any version is current, the file is what readers get.
    return current === undefined;
  }

  async get(userId: number): Promise<StoredImage | undefined> {
    // One open file for both the stat and the bytes: a rename or delete in between cannot make
    // them disagree, and cannot turn into an error halfway through the response.
    let handle;
    try {
      handle = await open(this.path(userId), "r");
    } catch {
      return undefined;
    }
    try {
      const info = await handle.stat();
      if (!info.isFile()) return undefined;
      const bytes = await handle.readFile();
      const etag = `"${info.size.toString(36)}-${Math.floor(info.mtimeMs).toString(36)}-${info.ino.toString(36)}"`;
      return { body: new Blob([bytes]), size: bytes.length, etag, lastModified: info.mtimeMs };
    } finally {
      await handle.close();
    }
  }

  publicUrl(userId: number, version: number): string {
    return `${this.publicBaseUrl}/static/profile/${userId}.jpg?v=${version}`;
  }

  async check(): Promise<void> {
    await access(this.folder, constants.W_OK);
  }

  async reconcile(currentVersions: CurrentVersions, { before, currentObjects }: { before: number; currentObjects?: CurrentObjects }): Promise<{ removed: number }> {
    let removed = 0;
    const names = await readdir(this.folder);
    const pictures = new Map<number, string>();
    const setFolders: number[] = [];
    for (const name of names) {
      if (/^[1-9][0-9]{0,14}$/.test(name)) {
        setFolders.push(Number(name));
        continue;
      }
      const match = /^(\d+)\.jpg$/.exec(name);
      const old = async () => ((await mtimeOf(join(this.folder, name))) ?? Infinity) < before;
      // A young file may be an upload in progress here or on another instance sharing the folder.
      if (match) {
        if (await old()) pictures.set(Number(match[1]), name);
      } else if (name.endsWith(TEMP_SUFFIX) && (await old())) {
        await rm(join(this.folder, name), { force: true });
        removed++;
      }
    }
    const ids = [...pictures.keys()];
    for (let i = 0; i < ids.length; i += 500) {
      const batch = ids.slice(i, i + 500);
      const keep = await currentVersions(batch);
      for (const id of batch) {
        const path = join(this.folder, pictures.get(id)!);
        // Looked at again: an upload may have renamed a new picture into place since the listing.
        if (!keep.has(id) && ((await mtimeOf(path)) ?? Infinity) < before) {
          await rm(path, { force: true });
          removed++;
        }
      }
    }
    for (let i = 0; i < setFolders.length; i += 500) {
      const batch = setFolders.slice(i, i + 500);
      const keep = currentObjects ? await currentObjects(batch) : undefined;
      for (const id of batch) removed += await this.reconcileSet(id, keep?.get(id), keep !== undefined, before);
    }
    return { removed };
  }

  /** One user's folder of set objects: old temp files go, and old objects no row points at (when that is known). */
  private async reconcileSet(id: number, keep: Set<string> | undefined, known: boolean, before: number): Promise<number> {
    let removed = 0;
    const folder = join(this.folder, String(id));
    const files = await readdir(folder).catch(() => [] as string[]);
    for (const file of files) {
      const path = join(folder, file);
      const isTemp = file.endsWith(TEMP_SUFFIX);
      const orphan = known && parseObjectName(`${id}/${file}`) !== undefined && !keep?.has(`${id}/${file}`);
      if (!isTemp && !orphan) continue;
      // Young: an upload whose row is about to point at it, here or on another instance.
      if (((await mtimeOf(path)) ?? Infinity) >= before) continue;
      await rm(path, { force: true });
      removed++;
    }
    return removed;
  }
}
