// One row of an import file → the account to create, or every reason it cannot be. Hashes are
// checked for shape only and never echoed: a reason names the field and the problem, not the value.
import { rules } from "../http/validate.ts";

export type ImportedUser = {
  email: string;
  name: string;
  bio: string;
  passwordHash: string;
  createdAt: number;
  emailVerified: boolean;
};

export type RowVerdict = { user: ImportedUser } | { email?: string; reasons: string[] };

// The seeds call the display name `name`, `username` or `user`; FastAPI's tutorial calls the hash
// `hashed_password`. An export of any of them imports without renaming columns.
export const NAME_FIELDS = ["name", "username", "user"] as const;
export const HASH_FIELDS = ["password_hash", "hashed_password"] as const;
export const KNOWN_FIELDS: ReadonlySet<string> = new Set(["email", ...NAME_FIELDS, "bio", ...HASH_FIELDS, "created_at", "email_verified"]);

// Every login against an imported hash pays its cost, and so does every wrong guess at it: a costly
// hash would let anyone tie up the hashing threads (and hundreds of MiB each) with bad logins. The
// caps are passlib's defaults, what the seeds' apps wrote: bcrypt cost 12 and argon2id
// m=65536,t=3,p=4. A row above them is refused; its user can reset their password.
const BCRYPT_MAX_COST = 12;
const ARGON2_MAX_MEMORY_KIB = 65_536;
const ARGON2_MAX_TIME_COST = 3;
const ARGON2_MAX_PARALLELISM = 4;

const BCRYPT = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/;
// Unpadded base64; a length of 4n+1 cannot come out of any byte string.
const ARGON2ID = /^\$argon2id\$v=19\$m=(\d{1,10}),t=(\d{1,10}),p=(\d{1,3})\$([A-Za-z0-9+/]{11,})\$([A-Za-z0-9+/]{22,})$/;

/** CSV has no null: an empty field, like a JSON null or "", means "not given". */
const given = (value: unknown): boolean => value !== undefined && value !== null && value !== "";

export function checkRow(values: Record<string, unknown>, options: { now: number; verified: boolean }): RowVerdict {
  const reasons: string[] = [];
  const apply = <T>(field: string, rule: (value: unknown) => T): T | undefined => {
    try {
      return rule(values[field]);
    } catch (err) {
      reasons.push(`${field} ${(err as Error).message}`);
      return undefined;
    }
  };
  /** The one field of `fields` the row gives, or undefined after saying why not. */
  const oneOf = (fields: readonly string[]): string | undefined => {
    const present = fields.filter((field) => given(values[field]));
    if (present.length === 0) reasons.push(`${fields[0]} is required`);
    if (present.length > 1) reasons.push(`give ${fields[0]} once, as one of ${present.join(", ")}`);
    return present.length === 1 ? present[0] : undefined;
  };

  let email: string | undefined;
  if (given(values.email)) email = apply("email", rules.email);
  else reasons.push("email is required");
  const nameField = oneOf(NAME_FIELDS);
  const name = nameField === undefined ? undefined : apply(nameField, rules.name);
  const bio = given(values.bio) ? apply("bio", rules.bio) : "";
  const hashField = oneOf(HASH_FIELDS);
  const passwordHash = hashField === undefined ? undefined : apply(hashField, passwordHashShape);
  const createdAt = given(values.created_at) ? apply("created_at", (value) => timestamp(value, options.now)) : options.now;
  const verified = given(values.email_verified) ? apply("email_verified", flag) : false;

  if (reasons.length > 0) return email === undefined ? { reasons } : { email, reasons };
  return {
    user: {
      email: email!,
      name: name!,
      bio: bio!,
      passwordHash: passwordHash!,
      createdAt: createdAt!,
      emailVerified: options.verified || verified!,
    },
  };
}

/** A hash the login can verify: bcrypt ($2a$/$2b$/$2y$) or argon2id, at a cost it can afford. */
function passwordHashShape(value: unknown): string {
  if (typeof value !== "string") throw new Error("must be a string");
  if (!value.startsWith("$")) {
    throw new Error("is not a password hash: plaintext passwords are never imported (give a bcrypt or argon2id hash)");
  }
  if (/^\$2[a-z]?\$/.test(value)) {
    const bcrypt = BCRYPT.exec(value);
    if (!bcrypt) throw new Error("is not a well-formed bcrypt hash ($2a$, $2b$ or $2y$, a two-digit cost, then 53 characters)");
    const cost = Number(bcrypt[1]);
    if (cost < 4 || cost > BCRYPT_MAX_COST) throw new Error(`has bcrypt cost ${cost}; accepted are 4 to ${BCRYPT_MAX_COST}`);
    return value;
  }
  if (value.startsWith("$argon2id$")) {
    const argon = ARGON2ID.exec(value);
    if (!argon || argon[4]!.length % 4 === 1 || argon[5]!.length % 4 === 1) {
      throw new Error("is not a well-formed argon2id hash ($argon2id$v=19$m=…,t=…,p=…$salt$hash)");
    }
    const [m, t, p] = [Number(argon[1]), Number(argon[2]), Number(argon[3])];
    if (p < 1 || p > ARGON2_MAX_PARALLELISM || t < 1 || t > ARGON2_MAX_TIME_COST || m < 8 * p || m > ARGON2_MAX_MEMORY_KIB) {
      throw new Error(
        `has argon2id parameters m=${m},t=${t},p=${p}; accepted are m up to ${ARGON2_MAX_MEMORY_KIB} KiB, t up to ${ARGON2_MAX_TIME_COST}, p up to ${ARGON2_MAX_PARALLELISM}`,
      );
    }
    return value;
  }
  const scheme = /^\$([A-Za-z0-9-]{1,32})\$/.exec(value)?.[1];
  throw new Error(`${scheme ? `uses ${scheme}, which` : "is a scheme that"} this service cannot verify (only bcrypt and argon2id)`);
}

// ISO 8601, or SQLAlchemy's str(datetime) "2024-05-01 12:30:00[.ffffff][+00:00]". Without an offset
// the time is UTC: that is what datetime.utcnow() and SQLite's CURRENT_TIMESTAMP store.
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;

/** A created_at from the source app (epoch ms): a real instant between 1970 and now. */
function timestamp(value: unknown, now: number): number {
  const bad = () => new Error('must be an ISO 8601 date and time, like 2024-05-01T12:30:00Z or "2024-05-01 12:30:00"');
  if (typeof value !== "string") throw bad();
  const match = TIMESTAMP.exec(value.trim());
  if (!match) throw bad();
  const [year, month, day, hour = 0, minute = 0, second = 0] = match.slice(1, 7).map((part) => Number(part ?? 0));
  const millis = Number((match[7] ?? "0").padEnd(3, "0").slice(0, 3));
  const date = new Date(0);
  date.setUTCFullYear(year!, month! - 1, day!);
  date.setUTCHours(hour, minute, second, millis);
  // Date rolls 2024-02-30 over to March; a date that does not read back did not exist.
  if (date.getUTCMonth() !== month! - 1 || date.getUTCDate() !== day! || hour > 23 || minute > 59 || second > 59) throw bad();
  const offset = match[8]?.toUpperCase();
  if (offset !== undefined && offset !== "Z") {
    const [, sign, oh, om = "0"] = /^([+-])(\d{2}):?(\d{2})?$/.exec(offset)!;
    if (Number(oh) > 23 || Number(om) > 59) throw bad();
    date.setTime(date.getTime() - (sign === "-" ? -1 : 1) * (Number(oh) * 60 + Number(om)) * 60_000);
  }
  if (date.getTime() < 0 || date.getTime() > now) throw new Error("must be between 1970 and now");
  return date.getTime();
}

/** JSON booleans, and what CSV exports write for them: true/false, t/f, 1/0, yes/no. */
function flag(value: unknown): boolean {
  if (typeof value === "boolean") return value;
  const text = String(value).trim().toLowerCase();
  if (["true", "t", "1", "yes"].includes(text)) return true;
  if (["false", "f", "0", "no"].includes(text)) return false;
  throw new Error("must be true or false");
}
