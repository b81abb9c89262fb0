// SQLite waits for another writer's lock inside the call (busy_timeout), and Bun.SQL runs SQLite on
// the event loop: a 5 s busy wait froze every request of the instance. Here the wait is async.
import type { SQL } from "bun";

/** SQLite's own busy wait, kept this short because nothing else runs while it lasts. */
export const SYNC_BUSY_MS = 20;

const isBusy = (err: unknown) => /^SQLITE_BUSY/.test(String((err as { code?: unknown } | null)?.code ?? ""));

/**
 * A handle that reads like the Bun.SQL it wraps. A query or transaction refused with SQLITE_BUSY
 * (another process holds the write lock) did nothing, so it is run again after a short sleep, until
 * it goes through or waitMs have passed; then the SQLITE_BUSY error is the caller's (a 503).
 */
export function patientSqlite(sql: SQL, waitMs: number): SQL {
  async function patiently<T>(run: () => PromiseLike<T>): Promise<T> {
    const deadline = performance.now() + waitMs;
    for (let attempt = 1; ; attempt++) {
      try {
        return await run();
      } catch (err) {
        const left = deadline - performance.now();
        if (!isBusy(err) || left <= 0) throw err;
        await Bun.sleep(Math.min(left, 5 * attempt + Math.random() * 10));
      }
    }
  }

  /** Queries are lazy and also serve as fragments of others: only the one awaited runs, and is retried. */
  function watch(query: unknown, again: () => unknown): unknown {
    if (!(query instanceof Promise)) return query;
    const then = query.then;
    let first = true;
    const run = () => {
      if (!first) return again() as PromiseLike<unknown>;
      first = false;
      return { then: then.bind(query) } as PromiseLike<unknown>;
    };
    Object.defineProperty(query, "then", {
      value: (resolve?: (v: unknown) => unknown, reject?: (e: unknown) => unknown) => patiently(run).then(resolve, reject),
    });
    return query;
  }

  return new Proxy(function () {} as unknown as SQL, {
    apply(_target, _this, args: unknown[]) {
      const call = () => (sql as unknown as (...a: unknown[]) => unknown)(...args);
      return watch(call(), call);
    },
    get(_target, property) {
      const value = Reflect.get(sql, property);
      if (typeof value !== "function") return value;
      // A transaction refused part-way rolled back whole, so running it again is safe.
      if (property === "begin" || property === "transaction") return (...args: unknown[]) => patiently(() => (value as (...a: unknown[]) => Promise<unknown>).apply(sql, args));
      return value.bind(sql);
    },
  });
}
