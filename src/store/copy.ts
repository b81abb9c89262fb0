// Bulk writes for the operator commands: accounts imported from another app, and an installation
// copied from SQLite into PostgreSQL (move-up). The commands decide; the SQL stays here.
import { SQL } from "bun";
import { bool, stamp, pictureSet, type PictureSet } from "./rows.ts";
import type { OpenDatabase } from "./connect.ts";

/** An account from another app, already checked (src/cli/import-row.ts). */
export type ImportedAccount = { name: string; email: string; passwordHash: string; bio: string; emailVerified: boolean; createdAt: number };

/** Inserts one batch; rows whose email already has an account are left alone. Returns how many were new. */
export async function importAccounts(sql: SQL, users: ImportedAccount[], now: number): Promise<number> {
  const rows = users.map((user) => ({
    name: user.name,
    email: user.email,
    password_hash: user.passwordHash,
    bio: user.bio,
    role: "user", // an import never makes an admin: create-admin does, on purpose
    email_verified: user.emailVerified,
    created_at: stamp(user.createdAt),
    updated_at: stamp(now),
  }));
  // No conflict target: the unique index is on lower(email), and both dialects then skip any duplicate.
  const inserted = await sql`INSERT INTO users ${sql(rows)} ON CONFLICT DO NOTHING RETURNING id`;
  return inserted.length;
}

const USER_COLUMNS = [
  "id", "name", "email", "password_hash", "bio", "role", "image_version", "image_set", "image_counter", "token_version",
  "email_verified", "disabled_at", "created_at", "updated_at",
] as const;
const TOKEN_COLUMNS = [
  "id", "family_id", "user_id", "user_version", "secret_hash", "expires_at", "used_at", "authenticated_at", "created_at",
] as const;

const pick = <K extends string>(row: Record<string, unknown>, columns: readonly K[]) =>
  Object.fromEntries(columns.map((column) => [column, row[column] ?? null])) as Record<K, unknown>;

/** A user row of the source installation, as move-up copies it: columns as stored. */
export type SourceUser = { id: number; email: string; imageVersion: number | null; imageSet: PictureSet | null; row: Record<string, unknown> };

/** Reads an embedded installation's SQLite file, read-only, in pages by id. */
export class SourceInstallation {
  private readonly sql: SQL;
  constructor(file: string) {
    this.sql = new SQL({ adapter: "sqlite", filename: file.replace(/^sqlite:(\/\/)?/, ""), readonly: true });
  }

  async usersAfter(id: number, limit: number): Promise<SourceUser[]> {
    const rows: Record<string, unknown>[] = await this.sql`SELECT * FROM users WHERE id > ${id} ORDER BY id LIMIT ${limit}`;
    return rows.map((row) => {
      const user = pick(row, USER_COLUMNS);
      user.email_verified = bool(user.email_verified); // 0/1 in SQLite, a boolean column in PostgreSQL
      const imageVersion = user.image_version === null ? null : Number(user.image_version);
      // A source from before migration 0004 has no image_set column: pick() gives null, a single JPEG.
      return { id: Number(user.id), email: String(user.email), imageVersion, imageSet: pictureSet(user), row: user };
    });
  }

  async sessionRowsOf(userId: number): Promise<Record<string, unknown>[]> {
    const rows: Record<string, unknown>[] = await this.sql`SELECT * FROM refresh_tokens WHERE user_id = ${userId}`;
    return rows.map((row) => pick(row, TOKEN_COLUMNS));
  }

  close(): Promise<void> {
    return this.sql.close();
  }
}

/** The target of move-up: rows upserted by id, so running it again converges. */
export class TargetInstallation {
  constructor(private readonly db: OpenDatabase) {}

  /** The id of another user in the target that already has this address, if any. */
  async emailOwner(email: string, notId: number): Promise<number | undefined> {
    const [row] = await this.db.sql`SELECT id FROM users WHERE lower(email) = lower(${email}) AND id != ${notId}`;
    return row ? Number(row.id) : undefined;
  }

  async upsertUser(user: SourceUser): Promise<void> {
    const sql = this.db.sql;
    await sql`
      INSERT INTO users ${sql({ ...user.row, image_version: user.imageVersion, image_set: user.imageSet && JSON.stringify(user.imageSet) })}
      ON CONFLICT (id) DO UPDATE SET
        name = excluded.name, email = excluded.email, password_hash = excluded.password_hash, bio = excluded.bio,
        role = excluded.role, image_version = excluded.image_version, image_set = excluded.image_set, image_counter = excluded.image_counter,
        token_version = excluded.token_version, email_verified = excluded.email_verified,
        disabled_at = excluded.disabled_at, created_at = excluded.created_at, updated_at = excluded.updated_at`;
  }

  /**
   * The user's sessions in the target become exactly the source's: a token spent or a session ended
   * on the laptop since the last run must not live on in the target.
   */
  async replaceSessions(userId: number, tokens: Record<string, unknown>[]): Promise<void> {
    const sql = this.db.sql;
    const ids = tokens.map((token) => String(token.id));
    const others = ids.length === 0 ? sql`` : sql`AND id NOT IN ${sql(ids)}`;
    await sql`DELETE FROM refresh_tokens WHERE user_id = ${userId} ${others}`;
    for (const token of tokens) {
      await sql`
        INSERT INTO refresh_tokens ${sql(token)}
        ON CONFLICT (id) DO UPDATE SET used_at = excluded.used_at, expires_at = excluded.expires_at, user_version = excluded.user_version`;
    }
  }

  /** Ids were copied explicitly; on PostgreSQL new sign-ups must continue after the highest one. */
  async continueIds(): Promise<void> {
    if (this.db.dialect !== "postgres") return;
    await this.db.sql`SELECT setval(pg_get_serial_sequence('users', 'id'), GREATEST((SELECT max(id) FROM users), 1))`;
  }
}
