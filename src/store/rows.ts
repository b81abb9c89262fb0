// The rows the store hands out, and their conversion from what each driver returns: this is the one
// place where column names, SQLite's 0/1 booleans and the two dialects' date types are dealt with.
export type Role = "user" | "admin";

export type UserRow = {
  id: number;
  name: string;
  email: string;
  passwordHash: string;
  bio: string;
  role: Role;
  imageVersion: number | null;
  /** The picture's objects (issue 11); null for no picture or one from before sets (then imageVersion names it). */
  imageSet: PictureSet | null;
  tokenVersion: number;
  emailVerified: boolean;
  /** When an admin deactivated the account; null while it is active. */
  disabledAt: string | null;
  createdAt: string;
  updatedAt: string;
};

/**
 * A picture as stored in users.image_set: storage object names (`<userId>/<hash>-<size>.<ext>`), the
 * full JPEG's dimensions and the ThumbHash placeholder (a data URL).
 */
export type PictureSet = {
  /** The image_version this set was made for: a row whose version moved on without it (an older instance's upload during a rolling deploy) points at its single JPEG instead. */
  version: number;
  full: string;
  sizes: Record<string, { webp: string; jpeg: string }>;
  width: number;
  height: number;
  placeholder: string;
};

/** Every object name of a set, once each. */
export const pictureObjects = (set: PictureSet): string[] => [...new Set([set.full, ...Object.values(set.sizes).flatMap((p) => [p.webp, p.jpeg])])];

/**
 * The set a row's picture is, if it is one: image_set made for the row's current image_version. A
 * column we wrote ourselves; unreadable JSON would be a bug, so it throws rather than hides the picture.
 */
export function pictureSet(row: Record<string, unknown>): PictureSet | null {
  if (row.image_set === null || row.image_set === undefined) return null;
  const set = JSON.parse(String(row.image_set)) as PictureSet;
  return set.version === nullableNumber(row.image_version) ? set : null;
}

/** A user as the hot path reads them, with whether the session named in the token still lives. */
export type SessionUser = UserRow & { sessionAlive: boolean };

/** One refresh token of a session (table refresh_tokens; see src/auth/session.ts). */
export type SessionRow = {
  id: string;
  sessionId: string;
  userId: number;
  userVersion: number;
  secretHash: string;
  /** Times are epoch ms, as the clock gives them: sessions compare them with it, never show them. */
  expiresAt: number;
  usedAt: number | null;
  /** When the login that began the session checked the password (null for sessions from before it was kept). */
  authTime: number | null;
  /** The session's device label and client address at login (src/auth/device.ts); null for older sessions. */
  device: string | null;
  ip: string | null;
  /** When the session was last used, to the minute (null for older sessions until their next use). */
  lastUsedAt: number | null;
};

/** A session as its owner sees it in a list: one per login, whatever its refresh tokens. */
export type SessionSummary = { id: string; createdAt: string; lastUsedAt: string; device: string | null; ip: string | null };

/**
 * A time (epoch ms, from the injected clock) as both dialects store it: an ISO 8601 UTC string, which
 * SQLite keeps as TEXT and PostgreSQL reads into timestamptz. The only way a time goes into the database.
 */
export const stamp = (ms: number): string => new Date(ms).toISOString();
const nullableStamp = (ms: number | null): string | null => (ms === null ? null : stamp(ms));

// SQLite hands back the ISO strings we stored; PostgreSQL hands back Dates.
export const iso = (value: unknown): string =>
  typeof value === "string" && value.endsWith("Z") ? value : (value instanceof Date ? value : new Date(String(value))).toISOString();
export const nullableNumber = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));
export const nullableString = (value: unknown): string | null => (value === null || value === undefined ? null : String(value));
export const nullableIso = (value: unknown): string | null => (value === null || value === undefined ? null : iso(value));
// A stored time back as epoch ms, for the rows whose times are compared with the clock.
export const epochMs = (value: unknown): number => Date.parse(iso(value));
export const nullableEpochMs = (value: unknown): number | null => (value === null || value === undefined ? null : epochMs(value));
// SQLite has no booleans: 0/1 there, true/false on PostgreSQL.
export const bool = (value: unknown): boolean => value === true || Number(value) === 1;

export function toUser(row: Record<string, unknown>): UserRow {
  return {
    id: Number(row.id),
    name: String(row.name),
    email: String(row.email),
    passwordHash: String(row.password_hash),
    bio: String(row.bio ?? ""),
    role: row.role === "admin" ? "admin" : "user",
    imageVersion: nullableNumber(row.image_version),
    imageSet: pictureSet(row),
    tokenVersion: Number(row.token_version),
    emailVerified: bool(row.email_verified),
    disabledAt: nullableIso(row.disabled_at),
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}

/** A mailed link (table account_tokens): it acts only on the account while its address is still `email`. */
export type AccountTokenRow = {
  id: string;
  userId: number;
  purpose: AccountTokenPurpose;
  /** The address the link went to, lower-cased. */
  email: string;
  secretHash: string;
  /** Epoch ms, compared with the clock. */
  expiresAt: number;
  usedAt: number | null;
};
export type AccountTokenPurpose = "password_reset" | "email_verification";

export const toLinkRow = (row: Record<string, unknown>): AccountTokenRow => ({
  id: String(row.id),
  userId: Number(row.user_id),
  purpose: row.purpose === "password_reset" ? "password_reset" : "email_verification",
  email: String(row.email),
  secretHash: String(row.secret_hash),
  expiresAt: epochMs(row.expires_at),
  usedAt: nullableEpochMs(row.used_at),
});

export const toSessionUser = (row: Record<string, unknown>): SessionUser => ({ ...toUser(row), sessionAlive: bool(row.session_alive) });

// The wire names stay as stored: a session's id is the column family_id (a refresh-token family, as
// the schema calls it) and its auth time authenticated_at. This pair of functions is the one mapping.
export function toSessionRow(row: Record<string, unknown>): SessionRow {
  return {
    id: String(row.id),
    sessionId: String(row.family_id),
    userId: Number(row.user_id),
    userVersion: Number(row.user_version),
    secretHash: String(row.secret_hash),
    expiresAt: epochMs(row.expires_at),
    usedAt: nullableEpochMs(row.used_at),
    authTime: nullableEpochMs(row.authenticated_at),
    device: nullableString(row.device),
    ip: nullableString(row.ip),
    lastUsedAt: nullableEpochMs(row.last_used_at),
  };
}

export const toSessionSummary = (row: Record<string, unknown>): SessionSummary => ({
  id: String(row.family_id),
  createdAt: iso(row.created),
  lastUsedAt: iso(row.last_used),
  device: nullableString(row.device),
  ip: nullableString(row.ip),
});

export const sessionColumns = (token: Omit<SessionRow, "usedAt">, now: number) => ({
  id: token.id,
  family_id: token.sessionId,
  user_id: token.userId,
  user_version: token.userVersion,
  secret_hash: token.secretHash,
  expires_at: stamp(token.expiresAt),
  authenticated_at: nullableStamp(token.authTime),
  device: token.device,
  ip: token.ip,
  last_used_at: nullableStamp(token.lastUsedAt),
  created_at: stamp(now),
});
