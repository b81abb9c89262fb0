// A bounded least-recently-used map in O(1) per operation (a Map keeps insertion order), with load tickets
// so a cache of revocable things never stores a value read before the thing was revoked.

// The race it closes: a request reads a session from the store, a revocation then invalidates the cache,
// and only afterwards the slow request stores what it read. Take a ticket before the read and pass it to set():
// a set whose ticket predates an invalidation of that key (or a clear) is refused.

export class LruMap<K, V> {
  readonly capacity: number;
  readonly #entries = new Map<K, { value: V; movedAt: number }>();
  // Entries moved to the back so far, and how many moves behind an entry must be to be moved again on a
  // hit: 0 (exact LRU) for small maps, a quarter of the capacity from 64 entries up.
  #moves = 0;
  readonly #moveAfter: number;
  // Keys invalidated recently, with the generation of their invalidation; bounded like the entries.
  readonly #invalidated = new Map<K, number>();
  #generation = 0;
  // Tickets older than this are refused for every key: set by clear(), and when #invalidated overflows.
  #floor = 0;
  #evictions = 0;

  constructor(capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new TypeError("an LRU capacity is a positive integer");
    this.capacity = capacity;
    this.#moveAfter = capacity >= 64 ? capacity >> 2 : 0;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Entries dropped to make room; a steadily growing count says the capacity is too small. */
  get evictions(): number {
    return this.#evictions;
  }

  /**
   * The value, now the most recently used; undefined when absent. In a large map an entry moved to the
   * back lately stays where it is (a Map moves a key only by deleting and re-adding it, the dearest part
   * of a hit): it is then at most a quarter of the capacity from the back and still far from eviction.
   */
  get(key: K): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (this.#moves - entry.movedAt >= this.#moveAfter) {
      this.#entries.delete(key);
      this.#entries.set(key, entry);
      entry.movedAt = ++this.#moves;
    }
    return entry.value;
  }

  /** The value without touching its recency. */
  peek(key: K): V | undefined {
    return this.#entries.get(key)?.value;
  }

  has(key: K): boolean {
    return this.#entries.has(key);
  }

  /** Take before reading what will be cached; pass to set(). */
  ticket(): number {
    return this.#generation;
  }

  /**
   * Stores the value as most recently used, evicting the least recently used entry when full. With a ticket,
   * stores only if neither the key nor the whole map was invalidated since the ticket; returns whether it stored.
   */
  set(key: K, value: V, ticket?: number): boolean {
    if (ticket !== undefined && this.#isStale(key, ticket)) return false;
    this.#entries.delete(key);
    this.#entries.set(key, { value, movedAt: ++this.#moves });
    if (this.#entries.size > this.capacity) {
      this.#entries.delete(this.#entries.keys().next().value as K);
      this.#evictions++;
    }
    return true;
  }

  /** Removes an entry that is merely no longer wanted; loads already under way may still store it. */
  delete(key: K): boolean {
    return this.#entries.delete(key);
  }

  /** Removes the entry because it is no longer true (revoked): loads begun before now cannot store it again. */
  invalidate(key: K): boolean {
    const generation = ++this.#generation;
    this.#invalidated.delete(key);
    this.#invalidated.set(key, generation);
    if (this.#invalidated.size > this.capacity) {
      // Forgetting which key was invalidated, refuse every ticket as old as that invalidation instead:
      // a few needless misses, never a stale value.
      const [oldest, at] = this.#invalidated.entries().next().value as [K, number];
      this.#invalidated.delete(oldest);
      this.#floor = Math.max(this.#floor, at);
    }
    return this.#entries.delete(key);
  }

  /** Removes everything and refuses every ticket taken before. */
  clear(): void {
    this.#floor = ++this.#generation;
    this.#entries.clear();
    this.#invalidated.clear();
  }

  #isStale(key: K, ticket: number): boolean {
    if (ticket < this.#floor) return true;
    const invalidatedAt = this.#invalidated.get(key);
    return invalidatedAt !== undefined && invalidatedAt > ticket;
  }

  /** Keys from least to most recently used (for tests and diagnostics). */
  keys(): K[] {
    return [...this.#entries.keys()];
  }
}
