// Command-line entry points of the same binary: `profile-service move-up --from-database … --to-database …`.
// The target storage comes from the S3_* variables (or --to-static for another folder).
import { parseArgs } from "node:util";
import { loadConfig, redactUrl } from "../config.ts";
import { openDatabase } from "../db/index.ts";
import { LocalImageStorage } from "../storage/local.ts";
import { S3ImageStorage } from "../storage/s3.ts";
import { moveUp } from "./move-up.ts";

const USAGE = `usage: profile-service move-up --from-database sqlite://data/app.db [--from-static static]
                                --to-database postgres://user@host/db [--to-static DIR]
  Pictures go to the S3 bucket named by S3_BUCKET (and S3_ENDPOINT, S3_ACCESS_KEY_ID, …), or to --to-static.`;

export async function runCli(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  if (command !== "move-up") {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const { values } = parseArgs({
    args: rest,
    options: {
      "from-database": { type: "string", default: "sqlite://data/app.db" },
      "from-static": { type: "string", default: "static" },
      "to-database": { type: "string" },
      "to-static": { type: "string" },
    },
  });
  const config = loadConfig();
  const toDatabase = values["to-database"] ?? config.databaseUrl;
  if (!/^postgres(ql)?:\/\//.test(toDatabase) && values["to-static"] === undefined && !config.s3) {
    process.stderr.write(`move-up needs a PostgreSQL --to-database or another storage to move to.\n${USAGE}\n`);
    return 2;
  }
  const storage = config.s3
    ? new S3ImageStorage(config.s3)
    : new LocalImageStorage(values["to-static"] ?? config.staticDir, config.publicBaseUrl);
  if (storage instanceof LocalImageStorage) await storage.init();
  const to = openDatabase(toDatabase);
  try {
    const report = await moveUp({ fromDatabase: values["from-database"]!, fromStatic: values["from-static"]!, to, storage });
    process.stdout.write(`${JSON.stringify({ moved_to: redactUrl(toDatabase), ...report }, null, 2)}\n`);
    return report.rejected.length > 0 ? 1 : 0;
  } finally {
    await to.sql.close();
  }
}
