// The revocation feed: what changed in the rows authentication reads, so every instance's session
// cache (src/auth/session-cache.ts) can drop them. Local writes are announced at once; others are read back.
import type { SQL } from "bun";
import type { Dialect } from "./connect.ts";

/**
 * A user row changed or went (`user`), a session's refresh tokens were deleted or moved (`session`), or
 * a whole table was emptied at once (`all`: a TRUNCATE, which fires no row triggers).
 */
export type Revocation =
  | { user: number; session?: undefined; all?: undefined }
  | { session: string; user?: undefined; all?: undefined }
  | { all: true; user?: undefined; session?: undefined };

/** A feed row: ids grow with every write (triggers in migrations 0005 and 0007 write them). */
export type FeedEntry = Revocation & { id: number };

/** Entries one read of the feed returns at most: a reader that gets this many may have more to read. */
export const FEED_PAGE = 10_000;

/**
 * PostgreSQL's view of its writers when a read ran: every transaction id below `xmin` had ended (the
 * read's own snapshot), and `next` is the next id to be handed out, read after that snapshot was taken.
 * (Not the snapshot's xmax: that is one past the newest *finished* transaction, and a writer at or
 * above it can still be open.) A feed id skipped by a read belongs to a transaction then in progress,
 * which had its id before it took the feed id (the triggers write the feed after their own row
 * change), so below `next`: once a later read's xmin reaches it, that writer has ended, and that later
 * read returned its feed id, committed, or it was rolled back. SQLite has none: its one writer at a
 * time commits ids in order, so a reader never skips one.
 */
export type FeedHorizon = { xmin: bigint; next: bigint };

/**
 * What one read of the feed saw: its entries, the newest id handed out (below the reader's cursor only
 * if ids went back: the feed truncated, say), the horizon, and (PostgreSQL) which server and feed table
 * answered: another after a standby's promotion, a point-in-time restore, a restart, or a restore that
 * made the tables anew (`pg_restore --clean`), any of which may have lost writes that no feed row will
 * ever report, or handed their ids out again. (Data rolled back in place on the same running server
 * shows in neither; docs/operations.md.)
 */
export type FeedRead = { entries: FeedEntry[]; newest: number; horizon?: FeedHorizon; server?: string };

/** The triggers that write the feed (migrations 0005 and 0007), as "table.trigger". */
const FEED_TRIGGERS: Record<Dialect, readonly string[]> = {
  postgres: [
    "users.revocations_user", "users.revocations_truncate", "refresh_tokens.revocations_session",
    "refresh_tokens.revocations_session_moved", "refresh_tokens.revocations_truncate", "revocations.revocations_truncate",
  ],
  sqlite: [
    "users.revocations_user_update", "users.revocations_user_delete", "refresh_tokens.revocations_session_end",
    "refresh_tokens.revocations_session_moved", "users.revocations_user_replaced", "users.revocations_user_email_replaced",
    "refresh_tokens.revocations_session_replaced", "refresh_tokens.revocations_session_id_replaced",
  ],
};

const horizonOf = (row: Record<string, unknown> | undefined): FeedHorizon | undefined =>
  row === undefined ? undefined : { xmin: BigInt(String(row.xmin)), next: BigInt(String(row.next)) };

export class RevocationFeed {
  readonly #listeners = new Set<(revocation: Revocation) => void>();
  readonly #closing = new Set<() => void>();
  /** PostgreSQL: every writer below this transaction id had ended when this feed last pruned. */
  #prunedBefore: string | undefined;

  constructor(
    private readonly sql: SQL,
    private readonly dialect: Dialect,
  ) {}

  /** Hears this process's own writes, after they commit and before their response is sent. */
  listen(listener: (revocation: Revocation) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Hears the store closing: what was read from it may not be served any more. */
  onClose(listener: () => void): () => void {
    this.#closing.add(listener);
    return () => this.#closing.delete(listener);
  }

  close(): void {
    for (const listener of this.#closing) listener();
  }

  /** Called by the store's writes: the database has its feed row already; this is for the process itself. */
  announce(revocation: Revocation): void {
    for (const listener of this.#listeners) listener(revocation);
  }

  /**
   * The newest id handed out, committed or not, where a reader that starts with an empty cache begins,
   * and (PostgreSQL) the writers then in progress, some of which may hold ids below it.
   * Read from the id sequence, which pruning leaves alone: with every row pruned, max(id) would say 0,
   * and the first new id would then look like a jump past every gap the reader can watch.
   */
  async latest(): Promise<{ id: number; horizon?: FeedHorizon; server?: string }> {
    if (this.dialect === "sqlite") {
      const [row] = await this.sql`SELECT ${this.#newestColumn()}`;
      return { id: Number(row.newest) };
    }
    const [row] = await this.sql`SELECT ${this.#newestColumn()}, ${this.#serverColumn()}`;
    // A statement of its own, after the id: any writer holding an id up to it is then below `next`.
    const [now] = await this.sql`SELECT ${this.#horizonColumns()}`;
    // Two pooled connections could reach two servers (one being replaced): neither answer is the feed's.
    if (row.server !== now.server) throw new Error("the revocation feed's two reads reached different database servers");
    return { id: Number(row.newest), horizon: horizonOf(now), server: String(now.server) };
  }

  /** The newest id handed out, as latest() reads it; each read returns it too, so a reader sees ids go back. */
  #newestColumn() {
    return this.dialect === "postgres"
      ? this.sql`greatest(coalesce(pg_sequence_last_value(pg_get_serial_sequence('revocations', 'id')::regclass), 0),
          coalesce((SELECT max(id) FROM revocations), 0)) AS newest`
      : this.sql`max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'revocations'), 0),
          coalesce((SELECT max(id) FROM revocations), 0)) AS newest`;
  }

  /**
   * What keeps the feed from reporting every write, as the migrations left it, in words: each trigger
   * not in force (dropped, disabled, or on PostgreSQL not firing ALWAYS, as after the `ENABLE TRIGGER ALL`
   * a data-only pg_dump --disable-triggers ends with), and on PostgreSQL an id sequence that hands each
   * connection a block of ids (CACHE above 1), whose later ids commit below readers' cursors unread.
   */
  async faults(): Promise<string[]> {
    const postgres = this.dialect === "postgres";
    const rows: Array<Record<string, unknown>> = postgres
      ? await this.sql`SELECT c.relname || '.' || t.tgname AS name FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
          WHERE t.tgrelid IN ('users'::regclass, 'refresh_tokens'::regclass, 'revocations'::regclass) AND t.tgenabled = 'A'`
      : await this.sql`SELECT tbl_name || '.' || name AS name FROM sqlite_master WHERE type = 'trigger'`;
    const inForce = new Set(rows.map((row) => String(row.name)));
    const faults = FEED_TRIGGERS[this.dialect].filter((name) => !inForce.has(name)).map((name) => `trigger ${name} not in force`);
    if (postgres) {
      const [sequence] = await this.sql`SELECT seqcache::text AS cache FROM pg_sequence
        WHERE seqrelid = pg_get_serial_sequence('revocations', 'id')::regclass`;
      if (sequence !== undefined && sequence.cache !== "1") faults.push(`id sequence caches ${sequence.cache} ids per connection (must be 1)`);
    }
    return faults;
  }

  /** Entries after `cursor`, and those of `missing` (ids skipped over, perhaps still uncommitted). */
  async after(cursor: number, missing: readonly number[]): Promise<FeedRead> {
    const alsoMissing = missing.length === 0 ? this.sql`` : this.sql`OR id IN ${this.sql(missing)}`;
    const page = this.sql`SELECT id, user_id, session_id FROM revocations WHERE id > ${cursor} ${alsoMissing} ORDER BY id LIMIT ${FEED_PAGE}`;
    const postgres = this.dialect === "postgres";
    const horizon = postgres ? this.sql`, ${this.#horizonColumns()}` : this.sql``;
    // One row even when no entry is new, for the newest id and the horizon, taken by the statement that reads the rows.
    const rows: Array<Record<string, unknown>> = await this.sql`
      SELECT ${this.#newestColumn()} ${horizon}, r.* FROM (SELECT 1) AS one LEFT JOIN (${page}) AS r ON true ORDER BY r.id`;
    return {
      entries: rows.filter((row) => row.id !== null).map(entryOf),
      newest: Number(rows[0]!.newest),
      horizon: postgres ? horizonOf(rows[0]) : undefined,
      server: postgres ? String(rows[0]!.server) : undefined,
    };
  }

  /**
   * The columns of a FeedHorizon, and the server. pg_current_snapshot() is the statement's own snapshot. The next id
   * comes from age(), which, for a reader that has none of its own, counts from the next id to be handed
   * out (read when first asked, so after the snapshot): no id is spent on the reader.
   */
  #horizonColumns() {
    return this.sql`pg_snapshot_xmin(pg_current_snapshot())::text AS xmin,
      (pg_snapshot_xmax(pg_current_snapshot())::text::numeric + age(xid(pg_snapshot_xmax(pg_current_snapshot()))))::text AS next,
      ${this.#serverColumn()}`;
  }

  /**
   * Which PostgreSQL server answered, "<postmaster start>/<feed ids>": when its postmaster started, in
   * microseconds (an integer, so no session setting changes how it reads, as it could a timestamp's or,
   * before PostgreSQL 14, a float's text), and the storage of the feed's id sequence, new whenever the
   * table is made anew (a restore with --clean, the schema dropped and migrated again) or its ids start
   * over (TRUNCATE … RESTART IDENTITY, ALTER … RESTART) on a server that kept running. Ids that start
   * over show as going back only if the reader reads before they pass its cursor again; this shows always.
   */
  #serverColumn() {
    return this.sql`(extract(epoch FROM pg_postmaster_start_time()) * 1000000)::bigint::text || '/' ||
      pg_relation_filenode(pg_get_serial_sequence('revocations', 'id')::regclass)::text AS server`;
  }

  /**
   * Drops entries older than `retainMs`; a reader that fell this far behind clears its cache anyway.
   * Aged by the database's clock, which stamped them (the triggers' default), not by ours. On
   * PostgreSQL that stamp is the writing transaction's start, so a transaction open for longer than
   * `retainMs` commits a row already old enough to go: only rows whose writer had ended by this feed's
   * previous prune go, which every current reader has read by then. The first prune removes nothing.
   */
  async prune(retainMs: number): Promise<void> {
    if (this.dialect === "postgres") {
      const ended = this.#prunedBefore;
      const [row] = await this.sql`SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin`;
      if (ended !== undefined) {
        await this.sql`DELETE FROM revocations WHERE at < now() - ${Math.round(retainMs)}::int * interval '1 millisecond' AND xid < ${ended}::xid8`;
      }
      this.#prunedBefore = String(row.xmin);
    } else {
      await this.sql`DELETE FROM revocations WHERE at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ${`-${retainMs / 1000} seconds`})`;
    }
  }
}

const entryOf = (row: Record<string, unknown>): FeedEntry => {
  const id = Number(row.id);
  if (row.user_id !== null) return { id, user: Number(row.user_id) };
  return row.session_id !== null ? { id, session: String(row.session_id) } : { id, all: true };
};
