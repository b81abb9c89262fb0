// A PostgreSQL pool whose every query has a deadline, and which replaces its connections when one
// is missed: a network that swallows packets would otherwise leave them stuck for ~15 minutes.
import { SQL } from "bun";

/** A query or transaction that got no answer in time. isUnavailable() knows its code. */
export class DatabaseTimeoutError extends Error {
  readonly code = "ERR_DATABASE_TIMEOUT";
  constructor(ms: number) {
    super(`the database did not answer within ${ms} ms`);
    this.name = "DatabaseTimeoutError";
  }
}

export type BoundedOptions = {
  max: number;
  /** The server cancels a statement after this (statement_timeout); the client waits a little longer. */
  timeoutMs: number;
  /** Told when the pool is replaced, for the log. */
  onRecycle?: (reason: string) => void;
};

// What the server's own cancel needs to reach us before we give up on the connection itself: a
// statement cancelled by statement_timeout (a lock, a slow plan) says so and leaves the pool alone.
const GRACE_MS = 1000;

/**
 * A handle that reads like a Bun.SQL (tagged templates, begin, close) and forwards to the current
 * pool. A query that is awaited, or a transaction, that has no answer within timeoutMs + 1 s
 * rejects with DatabaseTimeoutError, and the pool it ran on is dropped (closed at once, its
 * connections with it) for a fresh one, so a healed network serves the next request.
 */
export function boundedPostgres(url: string, options: BoundedOptions): SQL {
  const open = () =>
    new SQL(url, {
      max: options.max,
      idleTimeout: 60,
      connectionTimeout: Math.max(1, Math.ceil(options.timeoutMs / 1000)),
      connection: { statement_timeout: options.timeoutMs },
    });
  let current = open();
  let closed = false;
  const waitMs = options.timeoutMs + GRACE_MS;

  function recycle(pool: SQL): void {
    // Several queries of the same stuck pool time out together: replace it once.
    if (pool !== current || closed) return;
    current = open();
    options.onRecycle?.(`no answer within ${waitMs} ms`);
    void pool.close({ timeout: 0 }).catch(() => {});
  }

  function bounded<T>(work: PromiseLike<T>, pool: SQL): Promise<T> {
    let timer: Timer | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        recycle(pool);
        reject(new DatabaseTimeoutError(waitMs));
      }, waitMs);
    });
    return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
  }

  /** Queries are lazy and also serve as fragments of others: only the one that is awaited runs, and is bounded. */
  function watch(query: unknown, pool: SQL): unknown {
    if (!(query instanceof Promise)) return query; // sql(object) and other helpers
    const then = query.then;
    Object.defineProperty(query, "then", {
      value: (resolve?: (v: unknown) => unknown, reject?: (e: unknown) => unknown) =>
        bounded({ then: then.bind(query) } as PromiseLike<unknown>, pool).then(resolve, reject),
    });
    return query;
  }

  const handle = new Proxy(function () {} as unknown as SQL, {
    apply(_target, _this, args: unknown[]) {
      const pool = current;
      return watch((pool as unknown as (...a: unknown[]) => unknown)(...args), pool);
    },
    get(_target, property) {
      const pool = current;
      if (property === "begin" || property === "transaction") {
        return (...args: unknown[]) => bounded((pool.begin as (...a: unknown[]) => Promise<unknown>)(...args), pool);
      }
      if (property === "close") {
        // A stuck connection never finishes its query: shutdown waits for the others a bounded time.
        return (options?: { timeout?: number }) => {
          closed = true;
          return pool.close({ timeout: Math.ceil(waitMs / 1000), ...options });
        };
      }
      const value = Reflect.get(pool, property);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => watch((value as (...a: unknown[]) => unknown).apply(pool, args), pool);
    },
  });
  return handle;
}
