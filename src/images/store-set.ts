// Writes a picture set's objects and then lets the caller move the row to it: the one order (every
// object stored before the row points at it; new objects dropped if the row does not move) for uploads and the backfill.
import { pictureObjects, type PictureSet } from "../store/index.ts";
import type { ImageStorage } from "../storage/index.ts";
import type { PictureSweeper } from "../storage/sweeper.ts";
import { storedObjects, objectName, storedSet, type VariantSet } from "./variants.ts";

/**
 * Stores every object of `made` (each write atomic), then runs `commit` (the row update). If a write
 * or the commit fails, the objects written are discarded, except those the current set also has (the
 * same picture uploaded again makes the same names). On success the previous set's objects go, save
 * those the new one shares. Call it inside the user's image lock. Returns the stored set.
 */
export async function storePictureSet(
  storage: ImageStorage,
  sweeper: PictureSweeper,
  userId: number,
  version: number,
  made: VariantSet,
  currentSet: PictureSet | null,
  commit: (set: PictureSet) => Promise<void>,
): Promise<PictureSet> {
  const set: PictureSet = { version, ...storedSet(made, userId) };
  const names = pictureObjects(set);
  const current = currentSet ? pictureObjects(currentSet) : [];
  try {
    // All settled before deciding: a write still running must not land after its clean-up.
    const writes = await Promise.allSettled(storedObjects(made).map((o) => storage.putObject(objectName(userId, o), o.bytes, o.contentType)));
    const failed = writes.find((w): w is PromiseRejectedResult => w.status === "rejected");
    if (failed) throw failed.reason;
    await commit(set);
  } catch (err) {
    await sweeper.discardObjects(userId, names, current);
    throw err;
  }
  await sweeper.discardObjects(userId, current, names);
  return set;
}
