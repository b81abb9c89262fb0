// `move-up`: copies an embedded installation (SQLite + pictures on disk) into PostgreSQL + S3. Safe to
// run again: rows are upserted by id and pictures (single JPEGs, every object of a set) already in the bucket are not sent twice.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { ImageStorage } from "../storage/index.ts";
import { SourceInstallation, TargetInstallation, type SourceUser } from "../store/copy.ts";
import { pictureObjects } from "../store/rows.ts";
import type { Store } from "../store/index.ts";

export type MoveUpReport = {
  users: number;
  sessions: number;
  /** Legacy single JPEGs and picture-set objects, each counted once. */
  pictures: { copied: number; alreadyThere: number; missing: number };
  rejected: Array<{ id: number; reason: string }>;
};

/** Copies every user, their sessions and pictures from the SQLite file into `to` (opened and migrated). */
export async function moveUp(options: {
  fromDatabase: string;
  fromStatic: string;
  to: Store;
  storage: ImageStorage;
  batchSize?: number;
}): Promise<MoveUpReport> {
  const source = new SourceInstallation(options.fromDatabase);
  const target = new TargetInstallation(options.to);
  const report: MoveUpReport = { users: 0, sessions: 0, pictures: { copied: 0, alreadyThere: 0, missing: 0 }, rejected: [] };
  try {
    const batch = options.batchSize ?? 500;
    for (let after = 0; ; ) {
      const users = await source.usersAfter(after, batch);
      if (users.length === 0) break;
      for (const user of users) {
        after = user.id;
        const owner = await target.emailOwner(user.email, user.id);
        if (owner !== undefined) {
          report.rejected.push({ id: user.id, reason: `email already belongs to user ${owner} in the target` });
          continue;
        }
        // The picture first, so the row never points at an object that is not there.
        if (user.imageSet !== null && !(await copySet(options, user, report))) user.imageSet = null;
        if (user.imageVersion !== null && user.imageSet === null && !(await copyPicture(options, user.id, user.imageVersion, report))) {
          user.imageVersion = null;
        }
        await target.upsertUser(user);
        report.users++;
        const sessions = await source.sessionRowsOf(user.id);
        await target.replaceSessions(user.id, sessions);
        report.sessions += sessions.length;
      }
    }
    await target.continueIds();
    return report;
  } finally {
    await source.close();
  }
}

/** False when the source has no file for the picture: the copied row then says "no picture". */
async function copyPicture(options: { fromStatic: string; storage: ImageStorage }, id: number, version: number, report: MoveUpReport) {
  if (await options.storage.get(id, version)) {
    report.pictures.alreadyThere++;
    return true;
  }
  let bytes: Uint8Array;
  try {
    bytes = await readFile(join(options.fromStatic, "profile", `${id}.jpg`));
  } catch {
    report.pictures.missing++;
    return false;
  }
  await options.storage.put(id, version, bytes);
  report.pictures.copied++;
  return true;
}

/**
 * Every object of the user's picture set. False if one is missing from the source folder: the row
 * then falls back to the single JPEG of before sets, if the source has one (the target's backfill
 * makes its variants), else to no picture. Nothing is removed, here or in the source.
 */
async function copySet(options: { fromStatic: string; storage: ImageStorage }, user: SourceUser, report: MoveUpReport): Promise<boolean> {
  for (const name of pictureObjects(user.imageSet!)) {
    if (await options.storage.getObject(name)) {
      report.pictures.alreadyThere++;
      continue;
    }
    let bytes: Uint8Array;
    try {
      bytes = await readFile(join(options.fromStatic, "profile", name));
    } catch {
      report.pictures.missing++;
      return false;
    }
    await options.storage.putObject(name, bytes, name.endsWith(".webp") ? "image/webp" : "image/jpeg");
    report.pictures.copied++;
  }
  return true;
}
