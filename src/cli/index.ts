// Operator commands of the same binary (move-up, create-admin, import): each opens the database the
// service would (DATABASE_URL), migrated, through the same openStore, and prints JSON.
import { parseArgs } from "node:util";
import { loadConfig, redactUrl } from "../config.ts";
import { PasswordHasher } from "../auth/password.ts";
import type { Clock } from "../core.ts";
import { isPostgresUrl, openStore, type Store } from "../store/index.ts";
import { openStorage } from "../wire.ts";
import { createAdmin } from "./create-admin.ts";
import { importUsersCommand } from "./import-users.ts";
import { moveUp } from "./move-up.ts";

const USAGE = `usage:
  profile-service
      Runs the service: listens on HOST:PORT (127.0.0.1:8000) with DATABASE_URL (sqlite://data/app.db);
      every setting is an environment variable (docs/configuration.md). SIGTERM drains and stops it.
  profile-service healthcheck
      Exits 0 when the service on 127.0.0.1:PORT answers /healthz, 1 otherwise (the container's HEALTHCHECK).
  profile-service help | --help | -h
      Prints this.
  profile-service move-up --from-database sqlite://data/app.db [--from-static static]
                          --to-database postgres://user@host/db [--to-static DIR]
      Pictures go to the S3 bucket named by S3_BUCKET (and S3_ENDPOINT, S3_ACCESS_KEY_ID, …), or to --to-static.
  profile-service create-admin --email ADDRESS [--password PASSWORD] [--name NAME] [--trust-unverified]
      Makes an admin in DATABASE_URL: creates the account, or promotes the one with that address
      (if it confirmed its address, or with --trust-unverified when you know whose it is).
  profile-service import --file users.jsonl|users.csv [--format jsonl|csv] [--verified]
      Creates accounts in DATABASE_URL from email, name (or username, user), bio, password_hash (bcrypt or
      argon2id), created_at, email_verified. Existing emails are skipped; rejected rows are listed with reasons.`;

type Command = (args: string[]) => Promise<number>;

// The commands' one clock (epoch ms), handed down like the service's in src/main.ts.
const clock: Clock = Date.now;

const print = (value: unknown) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);

/** The service's own database, migrated, for commands that work on it in place. */
async function withStore<T>(run: (store: Store, config: ReturnType<typeof loadConfig>) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const { store } = await openStore(config.databaseUrl, { poolSize: 2, now: clock });
  try {
    return await run(store, config);
  } finally {
    await store.close();
  }
}

const createAdminCommand: Command = async (args) => {
  const { values } = parseArgs({
    args,
    options: { email: { type: "string" }, password: { type: "string" }, name: { type: "string" }, "trust-unverified": { type: "boolean" } },
  });
  if (values.email === undefined) {
    process.stderr.write(`create-admin needs --email.\n${USAGE}\n`);
    return 2;
  }
  try {
    const input = { email: values.email, password: values.password, name: values.name, trustUnverified: values["trust-unverified"] === true };
    print(
      await withStore(async (store, config) => {
        const { argon2MemoryKiB: memoryKiB, argon2TimeCost: timeCost } = config;
        const hasher = new PasswordHasher({ memoryKiB, timeCost, concurrency: 1, queueMax: 1 });
        try {
          return await createAdmin(store, (password) => hasher.hash(password), config.passwordMinLength, input, clock());
        } finally {
          hasher.close();
        }
      }),
    );
    return 0;
  } catch (err) {
    process.stderr.write(`create-admin: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
};

const moveUpCommand: Command = async (args) => {
  const { values } = parseArgs({
    args,
    options: {
      "from-database": { type: "string", default: "sqlite://data/app.db" },
      "from-static": { type: "string", default: "static" },
      "to-database": { type: "string" },
      "to-static": { type: "string" },
    },
  });
  const config = loadConfig();
  const toDatabase = values["to-database"] ?? config.databaseUrl;
  if (!isPostgresUrl(toDatabase) && values["to-static"] === undefined && !config.s3) {
    process.stderr.write(`move-up needs a PostgreSQL --to-database or another storage to move to.\n${USAGE}\n`);
    return 2;
  }
  const storage = await openStorage(config, values["to-static"] ?? config.staticDir);
  const { store } = await openStore(toDatabase, { now: clock });
  try {
    const report = await moveUp({ fromDatabase: values["from-database"]!, fromStatic: values["from-static"]!, to: store, storage });
    print({ moved_to: redactUrl(toDatabase), ...report });
    return report.rejected.length > 0 ? 1 : 0;
  } finally {
    await store.close();
  }
};

export const COMMANDS: Record<string, Command> = {
  "move-up": moveUpCommand,
  "create-admin": createAdminCommand,
  import: (args) => importUsersCommand(args, withStore, USAGE, clock),
};

const HELP = new Set(["help", "--help", "-h"]);

/** Whether main.ts should hand argv[2] to runCli instead of starting the service. */
export const isCliCommand = (word: string | undefined): boolean =>
  word !== undefined && (Object.hasOwn(COMMANDS, word) || HELP.has(word) || word.startsWith("-"));

export async function runCli(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  // Asked for, usage is the answer (stdout, 0); a word we do not know is a usage error (stderr, 2).
  if (HELP.has(command ?? "") || rest.includes("--help") || rest.includes("-h")) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const run = command === undefined ? undefined : COMMANDS[command];
  if (!run) {
    process.stderr.write(`unknown command or option: ${command}\n${USAGE}\n`);
    return 2;
  }
  try {
    return await run(rest);
  } catch (err) {
    // parseArgs refuses unknown options and missing values: a usage error, not a crash.
    if ((err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
      return 2;
    }
    throw err;
  }
}
