// The users and live sessions that authenticate requests, served from memory, with revocation kept:
// this instance's writes drop their entries before answering; others' arrive through the feed within a bound.
import type { Logger } from "../log.ts";
import { FEED_PAGE, type FeedHorizon, type FeedRead, type Revocation, type SessionUser, type Store } from "../store/index.ts";
import { LruMap } from "../util/lru.ts";

export type SessionCacheOptions = {
  /** Entries (users and sessions together) kept at most: SESSION_CACHE_SIZE. */
  size: number;
  /** How stale the cache may be: another instance's revocation is honoured within this. SESSION_CACHE_BOUND_MS. */
  boundMs: number;
  log: Logger;
  /** Monotonic milliseconds; injectable for tests. */
  now?: () => number;
};

// PostgreSQL hands out identity values at insert and transactions commit in any order, so a later
// feed id can be visible before an earlier one. A skipped id is looked for again in every read until
// its transaction has ended: until a read's horizon shows it has (src/store/revocations.ts), or,
// where the feed gives none, for GAP_MS. One that never shows was rolled back.
const GAP_MS = 30_000;
// Feed rows older than this are deleted; a reader further behind has cleared its cache anyway.
const RETAIN_MS = 10 * 60_000;
// At least twice the bound apart (SESSION_CACHE_BOUND_MS goes up to 60 s): a prune removes only rows
// whose writer had ended by the one before, which every reader not stale has read by then.
const PRUNE_EVERY_MS = 60_000;
const MAX_GAPS = 1000;

/** A feed id looked for again: since when (for GAP_MS), and the next transaction id when a read first missed it. */
type Gap = { since: number; before?: bigint };

/**
 * Entries are a user id (a number) → the user row (as read with a live session) and a session id (a
 * string) → its user's id (a session seen alive): one map, as a number key never equals a string key.
 * A request is served from memory only when both are there and the feed was read successfully less
 * than `boundMs` ago (measured from when that read began); otherwise it reads the database as before,
 * and stores what it read under a ticket, so a revocation that lands during the read is never undone
 * by it (src/util/lru.ts).
 */
export class SessionCache {
  readonly #store: Store;
  readonly #lru: LruMap<string | number, SessionUser | number>;
  readonly #boundMs: number;
  readonly #pollMs: number;
  readonly #log: Logger;
  readonly #now: () => number;
  #freshAt = -Infinity;
  /**
   * Nothing is answered from memory, nor kept, until then (time), or until every writer below this
   * transaction id has ended (a read's xmin reaches it): while writers may still commit feed ids that
   * no read will return (below the cursor).
   */
  #blindUntil = -Infinity;
  #blindBefore: bigint | undefined;
  /** When waiting on writers began, and whether that has been logged for lasting (one line each way). */
  #blindSince = 0;
  #blindLogged = false;
  #cursor = 0;
  /** The database server the feed was first read from (PostgreSQL): another one means starting over. */
  #server: string | undefined;
  readonly #gaps = new Map<number, Gap>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;
  #warned = false;
  #unlisten: (() => void) | undefined;
  #prunedAt: number;
  #hits = 0;
  #misses = 0;
  /** The feed's faults as last logged (src/store/revocations.ts faults()), so each change is said once. */
  #faultsSaid = "";

  constructor(store: Store, options: SessionCacheOptions) {
    this.#store = store;
    this.#lru = new LruMap(options.size);
    this.#boundMs = options.boundMs;
    // Several reads per bound, so one slow or lost read does not already make the cache stale.
    this.#pollMs = Math.max(10, Math.min(100, Math.floor(options.boundMs / 5)));
    this.#log = options.log;
    this.#now = options.now ?? (() => performance.now());
    this.#prunedAt = this.#now();
  }

  /** Starts following the feed; until its first read the cache is bypassed. */
  start(): void {
    const unlisten = this.#store.revocations.listen((revocation) => this.#drop(revocation));
    // A closed store is a stopping process: nothing more is answered from memory either.
    const unclose = this.#store.revocations.onClose(() => this.stop());
    this.#unlisten = () => (unlisten(), unclose());
    void this.#poll();
    void this.#checkFeed();
  }

  /**
   * A feed trigger dropped or disabled by hand, say: writes it would report reach no other instance's
   * cache. Checked at start and with each prune (a minute or more apart); said when what is found changes.
   */
  async #checkFeed(): Promise<void> {
    try {
      const faults = await this.#store.revocations.faults();
      const said = faults.join("\n");
      if (said === this.#faultsSaid) return;
      this.#faultsSaid = said;
      if (faults.length > 0) {
        this.#log.warn("session cache: the revocation feed is not as its migrations left it; other instances may not hear of some writes", { faults });
      } else {
        this.#log.info("session cache: the revocation feed is as its migrations left it again");
      }
    } catch {
      // Unreadable now: the feed's own reads report an outage.
    }
  }

  stop(): void {
    this.#stopped = true;
    this.#freshAt = -Infinity;
    this.#lru.clear();
    clearTimeout(this.#timer);
    this.#unlisten?.();
  }

  /** Is the feed current enough for the cache to answer? If not, every request reads through. */
  get fresh(): boolean {
    const now = this.#now();
    return now - this.#freshAt < this.#boundMs && now >= this.#blindUntil && this.#blindBefore === undefined;
  }

  get stats() {
    return { size: this.#lru.size, evictions: this.#lru.evictions, hits: this.#hits, misses: this.#misses, fresh: this.fresh };
  }

  /**
   * The user of a live session from memory, without waiting: undefined when it is not cached or the
   * cache may not answer now (the request then reads through userBySession).
   */
  remembered(id: number, sessionId: string): SessionUser | undefined {
    if (!this.fresh || this.#lru.get(sessionId) !== id) return undefined;
    const user = this.#lru.get(id) as SessionUser | undefined;
    if (user !== undefined) this.#hits++;
    return user;
  }

  /** Store.userBySession, from memory when it may be. */
  async userBySession(id: number, sessionId: string): Promise<SessionUser | undefined> {
    const remembered = this.remembered(id, sessionId);
    if (remembered !== undefined) return remembered;
    const fresh = this.fresh;
    this.#misses++;
    const ticket = this.#lru.ticket();
    const user = await this.#store.userBySession(id, sessionId);
    // Only what lets a request in is kept: a refusal costs a read, and a flood of forged session
    // ids signed with a leaked key could otherwise push every real entry out.
    if (fresh && user?.sessionAlive && user.disabledAt === null) {
      this.#lru.set(id, user, ticket);
      this.#lru.set(sessionId, id, ticket);
    }
    return user;
  }

  #drop(revocation: Revocation): void {
    if (revocation.user !== undefined) this.#lru.invalidate(revocation.user);
    else if (revocation.session !== undefined) this.#lru.invalidate(revocation.session);
    else this.#lru.clear();
  }

  async #poll(): Promise<void> {
    const began = this.#now();
    const stale = began - this.#freshAt >= this.#boundMs;
    let nextInMs = this.#pollMs;
    try {
      if (stale) {
        // Starting, or back from a stale spell, in which the database may have been restored or restarted
        // with writes lost and ids handed out again, on the same server, which the checks below cannot
        // tell: the cache is emptied below, and reads begin (again) after the newest id handed out. Ids
        // below it not yet committed belong to writers in progress now, which no read will return: until
        // those have ended (the horizon tells), nothing is answered from memory, so what is read after
        // includes them. SQLite's one writer at a time commits its ids in order: none below it is to come.
        const start = await this.#store.revocations.latest();
        this.#cursor = start.id;
        this.#server = start.server;
        this.#gaps.clear();
        if (start.horizon !== undefined) this.#waitForWritersBefore(start.horizon.next, began);
        this.#unblindBy(start.horizon); // no writer in progress at all: nothing to wait for
      } else {
        const read = await this.#store.revocations.after(this.#cursor, [...this.#gaps.keys()]);
        const changed =
          read.server !== this.#server ? "another database server or feed table answers (a failover, a restore or a restart?)"
          : read.newest < this.#cursor ? "revocation feed ids went back (the feed truncated, or a database restored?)"
          : undefined;
        if (changed !== undefined) {
          // Writes may be lost that no feed row will report, or ids handed out again below the cursor:
          // start over as at start-up, with nothing from memory.
          this.#log.warn(`session cache: ${changed}; starting over`);
          this.#lru.clear();
          this.#freshAt = -Infinity;
          nextInMs = 0;
          return;
        }
        this.#apply(read, began);
        // A full page may have more behind it (a sweep that ended thousands of sessions): the cache is
        // current only once a read comes back short, so it reads on at once and stays as fresh as before.
        if (read.entries.length >= FEED_PAGE) {
          nextInMs = 0;
          return;
        }
      }
      if (this.#stopped) return; // stopped while reading: the cache stays out of the path
      // Behind for longer than the bound, the cache may hold what a pruned row revoked: start afresh.
      if (stale) {
        this.#lru.clear();
        if (this.#warned) this.#log.warn("session cache: revocation feed readable again; cache emptied");
        this.#warned = false;
      }
      this.#freshAt = began;
      this.#noteLongWait(began);
      if (began - this.#prunedAt > Math.max(PRUNE_EVERY_MS, 2 * this.#boundMs)) {
        this.#prunedAt = began;
        void this.#checkFeed();
        await this.#store.revocations.prune(RETAIN_MS);
      }
    } catch (err) {
      if (this.#stopped) return; // the store closing under a read is no outage
      if (!this.#warned && this.#now() - this.#freshAt >= this.#boundMs) {
        this.#warned = true;
        this.#log.warn("session cache: revocation feed unreadable; authenticating from the database", { error: String(err) });
      }
    } finally {
      if (!this.#stopped) {
        this.#timer = setTimeout(() => void this.#poll(), nextInMs);
        // The process's end is decided elsewhere (main.ts); this timer must not hold it open.
        this.#timer.unref?.();
      }
    }
  }

  #apply({ entries, horizon }: FeedRead, now: number): void {
    for (const entry of entries) {
      this.#drop(entry);
      this.#gaps.delete(entry.id);
      if (entry.id - this.#cursor > MAX_GAPS || this.#gaps.size > MAX_GAPS) {
        // Too many ids skipped to watch each (a sequence jump after a crash). Any of them may still
        // commit a revocation that no read will return, so nothing is answered from memory, nor kept,
        // until each has committed or never will; what is read after that includes it.
        this.#lru.clear();
        this.#gaps.clear();
        if (this.#blindBefore === undefined && this.#blindUntil < now) this.#log.warn("session cache: more revocation feed ids skipped than can be watched; authenticating from the database until their writers have ended");
        if (horizon !== undefined) this.#waitForWritersBefore(horizon.next, now);
        else this.#blindUntil = now + GAP_MS;
      } else {
        for (let missing = this.#cursor + 1; missing < entry.id; missing++) this.#gaps.set(missing, { since: now, before: horizon?.next });
      }
      this.#cursor = Math.max(this.#cursor, entry.id);
    }
    this.#unblindBy(horizon);
    for (const [missing, gap] of this.#gaps) {
      if (gap.before === undefined ? now - gap.since > GAP_MS : ended(gap.before, horizon)) this.#gaps.delete(missing);
    }
  }

  #unblindBy(horizon: FeedHorizon | undefined): void {
    if (!ended(this.#blindBefore, horizon)) return;
    this.#blindBefore = undefined;
    if (this.#blindLogged) this.#log.info("session cache: the write transactions it waited for have ended; answering from memory again");
    this.#blindLogged = false;
  }

  #waitForWritersBefore(next: bigint, now: number): void {
    if (this.#blindBefore === undefined) this.#blindSince = now;
    this.#blindBefore = next;
  }

  /** Waiting on writers for long is news: a transaction left open (PostgreSQL's pg_stat_activity names it). */
  #noteLongWait(now: number): void {
    if (this.#blindBefore === undefined || this.#blindLogged || now - this.#blindSince < GAP_MS) return;
    this.#blindLogged = true;
    this.#log.warn("session cache: a write transaction has been open for 30 s or more since this instance needed it to end; authenticating from the database until it does");
  }
}

// Every writer below `before` has ended once a read's xmin reaches it; by then that read returned
// their feed ids, committed, or they were rolled back. The read that took `before` counts too: with
// its xmin there already, no writer was in progress at all.
const ended = (before: bigint | undefined, horizon: FeedHorizon | undefined): boolean =>
  before !== undefined && horizon !== undefined && horizon.xmin >= before;
