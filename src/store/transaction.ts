// A transaction that PostgreSQL may abort for reasons of timing alone (a deadlock between two
// requests, a serialization failure) is run again: the first attempt rolled back whole, so trying
// again is safe, and the client gets an answer instead of a 500.
import type { SQL } from "bun";

const RETRYABLE = new Set(["40P01", "40001"]); // deadlock_detected, serialization_failure
const ATTEMPTS = 3;

const sqlState = (err: unknown) => String((err as { errno?: unknown } | null)?.errno ?? (err as { code?: unknown } | null)?.code ?? "");

export async function transaction<T>(sql: SQL, work: (tx: SQL) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await sql.begin(work);
    } catch (err) {
      if (attempt >= ATTEMPTS || !RETRYABLE.has(sqlState(err))) throw err;
      // A few milliseconds, different each time, so the two parties do not collide again.
      await Bun.sleep(Math.random() * 10 * attempt);
    }
  }
}
