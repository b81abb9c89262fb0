// `move-up`: copies an embedded installation (SQLite + pictures on disk) into PostgreSQL + S3, so
// users who outgrew one machine keep their accounts, sessions and pictures. Safe to run again:
// rows are upserted by id and pictures already in the bucket are not sent twice.
import { SQL } from "bun";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { bool, type OpenDatabase } from "../db/index.ts";
import { migrate } from "../db/migrate.ts";
import type { ImageStorage } from "../storage/index.ts";

export type MoveUpReport = {
  users: number;
  sessions: number;
  pictures: { copied: number; alreadyThere: number; missing: number };
  rejected: Array<{ id: number; reason: string }>;
};

const USER_COLUMNS = [
  "id", "name", "email", "password_hash", "bio", "role", "image_version", "image_counter", "token_version",
  "email_verified", "disabled_at", "created_at", "updated_at",
] as const;
const TOKEN_COLUMNS = [
  "id", "family_id", "user_id", "user_version", "secret_hash", "expires_at", "used_at", "authenticated_at", "created_at",
] as const;

const pick = <K extends string>(row: Record<string, unknown>, columns: readonly K[]) =>
  Object.fromEntries(columns.map((column) => [column, row[column] ?? null])) as Record<K, unknown>;

export async function moveUp(options: {
  fromDatabase: string;
  fromStatic: string;
  to: OpenDatabase;
  storage: ImageStorage;
  batchSize?: number;
}): Promise<MoveUpReport> {
  const source = new SQL({ adapter: "sqlite", filename: options.fromDatabase.replace(/^sqlite:(\/\/)?/, ""), readonly: true });
  const target = options.to.sql;
  const report: MoveUpReport = { users: 0, sessions: 0, pictures: { copied: 0, alreadyThere: 0, missing: 0 }, rejected: [] };
  try {
    await migrate(target, options.to.dialect, () => new Date());
    const batch = options.batchSize ?? 500;
    for (let after = 0; ; ) {
      const users: Record<string, unknown>[] = await source`SELECT * FROM users WHERE id > ${after} ORDER BY id LIMIT ${batch}`;
      if (users.length === 0) break;
      for (const row of users) {
        const user = pick(row, USER_COLUMNS);
        user.email_verified = bool(user.email_verified); // 0/1 in SQLite, a boolean column in PostgreSQL
        const id = Number(user.id);
        after = id;
        const taken = await target`SELECT id FROM users WHERE lower(email) = lower(${user.email as string}) AND id != ${id}`;
        if (taken.length > 0) {
          report.rejected.push({ id, reason: `email already belongs to user ${taken[0].id} in the target` });
          continue;
        }
        // The picture first, so the row never points at an object that is not there.
        if (user.image_version !== null && !(await copyPicture(options, id, Number(user.image_version), report))) {
          user.image_version = null;
        }
        await target`
          INSERT INTO users ${target(user)}
          ON CONFLICT (id) DO UPDATE SET
            name = excluded.name, email = excluded.email, password_hash = excluded.password_hash, bio = excluded.bio,
            role = excluded.role, image_version = excluded.image_version, image_counter = excluded.image_counter,
            token_version = excluded.token_version, email_verified = excluded.email_verified,
            disabled_at = excluded.disabled_at, created_at = excluded.created_at, updated_at = excluded.updated_at`;
        report.users++;
        // The user's sessions in the target become exactly the source's: a token spent or a session
        // ended on the laptop since the last run must not live on in the target.
        const tokens: Record<string, unknown>[] = await source`SELECT * FROM refresh_tokens WHERE user_id = ${id}`;
        const ids = tokens.map((token) => String(token.id));
        const others = ids.length === 0 ? target`` : target`AND id NOT IN ${target(ids)}`;
        await target`DELETE FROM refresh_tokens WHERE user_id = ${id} ${others}`;
        for (const token of tokens) {
          await target`
            INSERT INTO refresh_tokens ${target(pick(token, TOKEN_COLUMNS))}
            ON CONFLICT (id) DO UPDATE SET used_at = excluded.used_at, expires_at = excluded.expires_at, user_version = excluded.user_version`;
          report.sessions++;
        }
      }
    }
    if (options.to.dialect === "postgres") {
      // Ids were copied explicitly; new sign-ups must continue after the highest one.
      await target`SELECT setval(pg_get_serial_sequence('users', 'id'), GREATEST((SELECT max(id) FROM users), 1))`;
    }
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
