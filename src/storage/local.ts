// Profile pictures as files: <static>/profile/<user id>.jpg, written to a temp file and renamed into
// place, which POSIX makes atomic, so a crash leaves the old picture or the new one.
import { access, constants, mkdir, open, readdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import type { ImageStorage, StoredImage } from "./index.ts";

const TEMP_SUFFIX = ".tmp";

export class LocalImageStorage implements ImageStorage {
  private readonly folder: string;

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
    const temp = join(this.folder, `${userId}.jpg.${version}.${crypto.randomUUID()}${TEMP_SUFFIX}`);
    try {
      await Bun.write(temp, jpeg);
      // Durable before it becomes visible: after a power cut the name never points at empty blocks.
      const handle = await open(temp, "r");
      await handle.sync().finally(() => handle.close());
      await rename(temp, this.path(userId));
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
  }

  async superseded(): Promise<void> {
    // `put` renamed the new picture over the old one: nothing is left behind.
  }

  async abandoned(): Promise<void> {
    // The rename already happened: the file is the newest picture and stays, like after a crash.
  }

  async remove(userId: number): Promise<void> {
    await rm(this.path(userId), { force: true });
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

  async reconcile(currentVersions: (ids: number[]) => Promise<Map<number, number>>): Promise<{ removed: number }> {
    let removed = 0;
    const names = await readdir(this.folder);
    const pictures = new Map<number, string>();
    for (const name of names) {
      const match = /^(\d+)\.jpg$/.exec(name);
      if (match) pictures.set(Number(match[1]), name);
      else if (name.endsWith(TEMP_SUFFIX)) {
        await rm(join(this.folder, name), { force: true });
        removed++;
      }
    }
    const ids = [...pictures.keys()];
    for (let i = 0; i < ids.length; i += 500) {
      const batch = ids.slice(i, i + 500);
      const keep = await currentVersions(batch);
      for (const id of batch) {
        if (!keep.has(id)) {
          await rm(join(this.folder, pictures.get(id)!), { force: true });
          removed++;
        }
      }
    }
    return { removed };
  }
}
