// Holds one refresh-token row locked from a connection of its own (PostgreSQL), so a race test can
// queue requests behind it in a known order, see them waiting, and then let them all go at once.
import { SQL } from "bun";
import type { TestServer } from "./server.ts";

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
