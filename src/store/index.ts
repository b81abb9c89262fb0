// The store: users (with their pictures' versions), sessions and mailed links over one database, and
// the one way to open it, migrated, used by the server (src/wire.ts) and the operator commands alike.
import { importAccounts, type ImportedAccount } from "./copy.ts";
import { LinkStore } from "./links.ts";
import { configureSqlite, migrate, openDatabase, type Migration, type OpenDatabase, type OpenOptions } from "./connect.ts";
import type { Revocation } from "./revocations.ts";
import type { SessionUser } from "./rows.ts";
import { RevocationFeed } from "./revocations.ts";
import { SessionStore } from "./sessions.ts";
import { UserStore } from "./users.ts";
import type { Clock } from "../core.ts";

export { isPostgresUrl, type Dialect, type OpenDatabase, type OpenOptions } from "./connect.ts";
export { EmailTakenError, isUnavailable, LastAdminError, NoLongerAdminError, StoreUnavailableError } from "./errors.ts";
export type { AccountTokenPurpose, AccountTokenRow } from "./links.ts";
export { pictureObjects } from "./rows.ts";
export type { PictureSet, Role, SessionRow, SessionSummary, SessionUser, UserRow } from "./rows.ts";
export type { LoginDevice, SpendDecision } from "./sessions.ts";
export type { FeedEntry, FeedHorizon, FeedRead, Revocation, RevocationFeed } from "./revocations.ts";
export { FEED_PAGE } from "./revocations.ts";
export type { AccountChanges, Expectation, NewUser } from "./users.ts";
export type { LinkStore, SessionStore };

/** Users' methods directly (the most used), sessions and mailed links by name. */
export class Store extends UserStore {
  readonly sessions: SessionStore;
  readonly links: LinkStore;
  /** What changed in the rows authentication reads, here and elsewhere (the session cache's feed). */
  readonly revocations: RevocationFeed;

  constructor(db: OpenDatabase) {
    const revocations = new RevocationFeed(db.sql, db.dialect);
    const announce = (revocation: Revocation) => revocations.announce(revocation);
    super(db.sql, db.dialect, announce);
    this.revocations = revocations;
    this.sessions = new SessionStore(db.sql, db.dialect, db.file, announce);
    this.links = new LinkStore(db.sql, db.dialect, announce);
  }

  /** Readiness: a real read of the table every request needs, so a lock held on it shows here too. */
  async ping(): Promise<void> {
    await this.sql`SELECT id FROM users LIMIT 1`;
  }

  /** The hot path of every authenticated request: the user, and whether this session still lives. */
  userBySession(id: number, sessionId: string): Promise<SessionUser | undefined> {
    return this.sessions.userBySession(id, sessionId);
  }

  /** The import command's batch: new accounts only, an address that has one is skipped. How many were new. */
  importAccounts(users: ImportedAccount[], now: number): Promise<number> {
    return importAccounts(this.sql, users, now);
  }

  async close(): Promise<void> {
    this.revocations.close();
    this.sessions.close();
    await this.sql.close();
  }
}

/**
 * Opens the database at `url`, sets it up and applies pending migrations. With `timeoutMs` (the
 * server) queries are bounded; a migration may take longer than a request may wait, so on
 * PostgreSQL it runs on a connection of its own without the bound.
 */
export async function openStore(url: string, options: OpenOptions & { now: Clock }): Promise<{ store: Store; applied: Migration[] }> {
  const db = openDatabase(url, options);
  try {
    if (db.dialect === "sqlite") await configureSqlite(db.sql, options.timeoutMs !== undefined);
    const setup = db.dialect === "postgres" && options.timeoutMs !== undefined ? openDatabase(url, { poolSize: 1 }).sql : db.sql;
    const applied = await migrate(setup, db.dialect, options.now).finally(() => (setup === db.sql ? undefined : setup.close()));
    return { store: new Store(db), applied };
  } catch (err) {
    await db.sql.close().catch(() => {});
    throw err;
  }
}
