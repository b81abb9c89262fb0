// The bounded LRU map: recency and eviction checked against a plain model, and load tickets that keep
// a value read before a revocation (or a clear) out of the cache, even when invalidations overflow.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { LruMap } from "../../src/util/lru.ts";

describe("LRU behaviour", () => {
  test("the least recently used entry is evicted; get refreshes recency, peek does not", () => {
    const lru = new LruMap<string, number>(3);
    lru.set("a", 1);
    lru.set("b", 2);
    lru.set("c", 3);
    expect(lru.get("a")).toBe(1);
    expect(lru.peek("b")).toBe(2);
    lru.set("d", 4);
    expect(lru.keys()).toEqual(["c", "a", "d"]);
    expect(lru.has("b")).toBe(false);
    expect(lru.size).toBe(3);
    expect(lru.evictions).toBe(1);
  });

  test("overwriting a key neither grows the map nor evicts", () => {
    const lru = new LruMap<string, number>(2);
    lru.set("a", 1);
    lru.set("b", 2);
    lru.set("a", 3);
    expect(lru.keys()).toEqual(["b", "a"]);
    expect(lru.get("a")).toBe(3);
    expect(lru.evictions).toBe(0);
  });

  test("a large map moves a hit back only once it has fallen a quarter behind, and keeps a key in use", () => {
    const lru = new LruMap<number, number>(100);
    for (let key = 0; key < 100; key++) lru.set(key, key);
    lru.get(99); // already at the back: no move
    lru.get(80); // 19 entries behind: stays where it is
    expect(lru.keys().slice(-21)).toEqual(Array.from({ length: 21 }, (_, i) => 79 + i));
    lru.get(0); // 99 behind: moved to the back
    expect(lru.keys().at(-1)).toBe(0);
    // A key read once every 50 new keys outlives 1,000 of them; one never read again does not.
    for (let key = 100; key < 1100; key++) {
      lru.set(key, key);
      if (key % 50 === 0) expect(lru.get(0)).toBe(0);
    }
    expect(lru.has(0)).toBe(true);
    expect(lru.has(80)).toBe(false);
    expect(lru.size).toBe(100);
  });

  test("undefined is a value like any other", () => {
    const lru = new LruMap<string, number | undefined>(2);
    lru.set("a", undefined);
    lru.set("b", 1);
    lru.get("a");
    lru.set("c", 2);
    expect(lru.keys()).toEqual(["a", "c"]);
  });

  test.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])("a capacity of %p is refused", (capacity) => {
    expect(() => new LruMap(capacity)).toThrow(TypeError);
  });

  test("matches a plain array model over random operations", () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant("set" as const), key: fc.integer({ min: 0, max: 9 }), value: fc.integer() }),
      fc.record({ kind: fc.constant("get" as const), key: fc.integer({ min: 0, max: 9 }) }),
      fc.record({ kind: fc.constant("delete" as const), key: fc.integer({ min: 0, max: 9 }) }),
      fc.record({ kind: fc.constant("invalidate" as const), key: fc.integer({ min: 0, max: 9 }) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.array(op, { maxLength: 60 }), (capacity, ops) => {
        const lru = new LruMap<number, number>(capacity);
        let model: [number, number][] = [];
        for (const o of ops) {
          const at = model.findIndex(([k]) => k === o.key);
          if (o.kind === "set") {
            if (at >= 0) model.splice(at, 1);
            model.push([o.key, o.value]);
            if (model.length > capacity) model.shift();
            expect(lru.set(o.key, o.value)).toBe(true);
          } else if (o.kind === "get") {
            const entry = at >= 0 ? model.splice(at, 1)[0]! : undefined;
            if (entry) model.push(entry);
            expect(lru.get(o.key)).toBe(entry?.[1]);
          } else {
            if (at >= 0) model.splice(at, 1);
            expect(o.kind === "delete" ? lru.delete(o.key) : lru.invalidate(o.key)).toBe(at >= 0);
          }
          expect(lru.keys()).toEqual(model.map(([k]) => k));
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe("load tickets", () => {
  test("a value read before its key was invalidated is not stored", () => {
    const lru = new LruMap<string, string>(10);
    const ticket = lru.ticket(); // a request starts reading session s1
    lru.invalidate("s1"); // meanwhile s1 is revoked
    expect(lru.set("s1", "read before the revocation", ticket)).toBe(false);
    expect(lru.get("s1")).toBeUndefined();
  });

  test("a value read after the invalidation is stored (the control)", () => {
    const lru = new LruMap<string, string>(10);
    lru.invalidate("s1");
    const ticket = lru.ticket();
    expect(lru.set("s1", "fresh", ticket)).toBe(true);
    expect(lru.get("s1")).toBe("fresh");
  });

  test("invalidating another key does not refuse this one", () => {
    const lru = new LruMap<string, string>(10);
    const ticket = lru.ticket();
    lru.invalidate("s2");
    expect(lru.set("s1", "value", ticket)).toBe(true);
  });

  test("delete is not a revocation: a load under way may still store", () => {
    const lru = new LruMap<string, string>(10);
    lru.set("s1", "old");
    const ticket = lru.ticket();
    lru.delete("s1");
    expect(lru.set("s1", "value", ticket)).toBe(true);
  });

  test("clear refuses every ticket taken before it, and none taken after", () => {
    const lru = new LruMap<string, string>(10);
    lru.set("s1", "a");
    const before = lru.ticket();
    lru.clear();
    expect(lru.size).toBe(0);
    expect(lru.set("s1", "b", before)).toBe(false);
    expect(lru.set("s9", "b", before)).toBe(false);
    expect(lru.set("s1", "c", lru.ticket())).toBe(true);
  });

  test("when invalidations outnumber the capacity, old tickets are refused rather than risk a stale value", () => {
    const lru = new LruMap<string, string>(2);
    const before = lru.ticket();
    lru.invalidate("a");
    lru.invalidate("b");
    lru.invalidate("c"); // "a" is forgotten: every ticket older than its invalidation is refused
    expect(lru.set("a", "stale", before)).toBe(false);
    expect(lru.set("z", "never invalidated, refused to be safe", before)).toBe(false);
    const between = lru.ticket();
    lru.invalidate("d");
    expect(lru.set("z", "value", between)).toBe(true);
    expect(lru.set("d", "stale", between)).toBe(false);
  });

  test("no interleaving ever leaves a value in the cache that was read before its key's last invalidation", () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant("load" as const), key: fc.integer({ min: 0, max: 2 }) }),
      fc.record({ kind: fc.constant("finish" as const), index: fc.nat() }),
      fc.record({ kind: fc.constant("invalidate" as const), key: fc.integer({ min: 0, max: 2 }) }),
      fc.record({ kind: fc.constant("clear" as const) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 }), fc.array(op, { maxLength: 40 }), (capacity, ops) => {
        const lru = new LruMap<number, number>(capacity);
        const version = new Map<number, number>(); // the truth: bumped by each revocation
        const pending: { key: number; ticket: number; read: number }[] = [];
        for (const o of ops) {
          if (o.kind === "load") pending.push({ key: o.key, ticket: lru.ticket(), read: version.get(o.key) ?? 0 });
          else if (o.kind === "finish" && pending.length > 0) {
            const { key, ticket, read } = pending.splice(o.index % pending.length, 1)[0]!;
            lru.set(key, read, ticket);
          } else if (o.kind === "invalidate") {
            version.set(o.key, (version.get(o.key) ?? 0) + 1);
            lru.invalidate(o.key);
          } else if (o.kind === "clear") {
            for (let key = 0; key <= 2; key++) version.set(key, (version.get(key) ?? 0) + 1);
            lru.clear();
          }
          for (const key of lru.keys()) expect(lru.peek(key)).toBe(version.get(key) ?? 0);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
