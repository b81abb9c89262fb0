// After a crash trial's restart: the database is intact, the picture folder holds exactly the current
// pictures, and every (touched) user still has what the service acknowledged (for bench/crash-core.ts).
import { Database } from "bun:sqlite";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pictureObjects, pictureSet, type PictureSet } from "../src/store/rows.ts";
import { call, json, uploadNumber, type Trial } from "./crash-load.ts";
import { databaseFile, type Service } from "./service.ts";

/** Width and height from a baseline or progressive JPEG's SOF marker; undefined if it is not a whole JPEG. */
export function jpegSize(bytes: Uint8Array): { width: number; height: number } | undefined {
  const n = bytes.length;
  if (n < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8 || bytes[n - 2] !== 0xff || bytes[n - 1] !== 0xd9) return undefined;
  let i = 2;
  while (i + 9 < n) {
    if (bytes[i] !== 0xff) return undefined;
    const marker = bytes[i + 1]!;
    const length = (bytes[i + 2]! << 8) | bytes[i + 3]!;
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { height: (bytes[i + 5]! << 8) | bytes[i + 6]!, width: (bytes[i + 7]! << 8) | bytes[i + 8]! };
    }
    i += 2 + length;
  }
  return undefined;
}


/** Checks the database, the folder and the users: `all` of them, or only those the last load touched. */
export async function verify(trial: Trial, service: Service, all: boolean): Promise<void> {
  const { dir, folder, stats, fail, users } = trial;
  const db = new Database(databaseFile(dir), { readonly: true });
  let rows: { id: number; image_version: number | null; image_set: string | null }[];
  try {
    const integrity = db.query("PRAGMA integrity_check").all() as { integrity_check: string }[];
    if (integrity.length !== 1 || integrity[0]!.integrity_check !== "ok") fail(`integrity_check: ${JSON.stringify(integrity)}`);
    const fk = db.query("PRAGMA foreign_key_check").all();
    if (fk.length > 0) fail(`foreign_key_check: ${JSON.stringify(fk.slice(0, 5))}`);
    rows = db.query("SELECT id, image_version, image_set FROM users").all() as typeof rows;
  } finally {
    db.close();
  }

  // The folder: no temp file survives start-up; every picture row has its objects (a set, or the
  // single <id>.jpg of before sets) and every file belongs to a row's current picture.
  const versions = new Map(rows.map((row) => [row.id, row.image_version]));
  const sets = new Map<number, PictureSet>();
  for (const row of rows) {
    const set = pictureSet(row);
    if (set) sets.set(row.id, set);
  }
  const fullPath = (id: number) => join(folder, sets.has(id) ? sets.get(id)!.full : `${id}.jpg`);
  for (const name of readdirSync(folder)) {
    const id = Number(name.split(".")[0]);
    if (/^\d+$/.test(name)) {
      const current = new Set(sets.has(id) ? pictureObjects(sets.get(id)!) : []);
      for (const file of readdirSync(join(folder, name))) {
        if (!current.has(`${name}/${file}`)) fail(`${name}/${file} is no object of user ${id}'s current picture`);
      }
    } else if (!/^\d+\.jpg$/.test(name)) {
      fail(`a file other than <id>.jpg or a set folder after restart: ${name}`);
    } else if (versions.get(id) == null || sets.has(id)) {
      fail(`${name} belongs to no user whose picture it is`);
    }
  }
  const sizes = new Map<number, { width: number; height: number }>();
  for (const [id, version] of versions) {
    if (version == null) continue;
    const set = sets.get(id);
    const missing = (set ? pictureObjects(set) : [`${id}.jpg`]).filter((name) => !existsSync(join(folder, name)));
    if (missing.length > 0) {
      fail(`user ${id}: image_version ${version} but ${missing.join(", ")} is missing`);
      continue;
    }
    const size = jpegSize(readFileSync(fullPath(id)));
    if (!size) fail(`user ${id}: ${fullPath(id)} is not a whole JPEG`);
    else sizes.set(id, size);
    stats.picturesChecked++;
  }

  // Registrations a kill cut off: either the account exists with that password, or it does not.
  for (const r of trial.interruptedRegisters) {
    const res = await call(`${service.url}/login`, { method: "POST", headers: json(), body: JSON.stringify(r) });
    if (res.status === 200) stats.interruptedButDone.register++;
    else if (res.status !== 401) fail(`login of interrupted registration ${r.email}: ${res.status}`);
  }
  trial.interruptedRegisters = [];

  for (const user of users) {
    if (!all && !user.touched) continue;
    stats.usersChecked++;
    // The acknowledged password, or one whose change was cut off; nothing else.
    let token: string | undefined;
    for (const password of [user.password, ...user.pendingPasswords]) {
      const res = await call(`${service.url}/login`, { method: "POST", headers: json(), body: JSON.stringify({ email: user.email, password }) });
      const body = res.body as { access_token?: string };
      if (res.status === 200 && typeof body.access_token === "string") {
        if (password !== user.password) stats.interruptedButDone.password++;
        user.password = password;
        token = body.access_token;
        break;
      }
      if (res.status !== 401) fail(`user ${user.id}: login answered ${res.status}`);
    }
    user.pendingPasswords = [];
    if (!token) {
      fail(`user ${user.id} (${user.email}): the acknowledged password no longer logs in`);
      user.token = undefined;
      continue;
    }
    user.token = token;

    const res = await call(`${service.url}/me`, { headers: json(token) });
    const me = res.body as { id?: number; image_url?: string | null };
    if (res.status !== 200 || me.id !== user.id) {
      fail(`user ${user.id}: GET /me ${res.status} ${JSON.stringify(me)}`);
      continue;
    }
    const version = versions.get(user.id) ?? null;
    const urlVersion = me.image_url ? Number(new URL(me.image_url).searchParams.get("v")) : null;
    if (urlVersion !== version) fail(`user ${user.id}: image_url ${me.image_url} but image_version ${version}`);
    if (version === null) {
      if (user.ackedVersion > 0) fail(`user ${user.id}: acknowledged picture v${user.ackedVersion} lost (no picture now)`);
    } else {
      if (version < user.ackedVersion) fail(`user ${user.id}: image_version ${version} older than acknowledged v${user.ackedVersion}`);
      const size = sizes.get(user.id);
      const n = size ? uploadNumber(size.width, size.height) : undefined;
      if (n !== undefined) {
        if (n === user.ackedUpload) {
          // what was acknowledged, as acknowledged
        } else if (n > user.ackedUpload && user.interruptedUploads.has(n)) {
          if (version > user.ackedVersion) stats.interruptedButDone.upload++;
          else stats.newerPictureBehindOldUrl++; // README: "new picture behind the old ?v= URL"
        } else {
          fail(`user ${user.id}: picture is upload #${n}, acknowledged #${user.ackedUpload}, interrupted ${[...user.interruptedUploads]}`);
        }
        user.ackedUpload = n;
      }
      user.ackedVersion = version;
      // The URL serves those very bytes.
      const pic = await call(me.image_url!, {});
      if (pic.status !== 200 || pic.headers.get("content-type") !== "image/jpeg" || !Bun.deepEquals(pic.bytes, new Uint8Array(readFileSync(fullPath(user.id))))) {
        fail(`user ${user.id}: ${me.image_url} answered ${pic.status} ${pic.headers.get("content-type")} with other bytes than the file`);
      }
    }
    user.interruptedUploads.clear();
    user.touched = false;
  }
}
