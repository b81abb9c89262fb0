// Writes the OpenAPI document exactly as the service serves it at GET /openapi.json (a real server
// on SQLite, port 0), for the independent checkers: Prism (scripts/prism-check.ts) and Redocly.
//   bun scripts/served-openapi.ts <file>
import { writeFileSync } from "node:fs";
import { startServer } from "../test/helpers/server.ts";

export async function writeServedDocument(file: string): Promise<void> {
  await using server = await startServer();
  const response = await fetch(`${server.url}/openapi.json`);
  if (response.status !== 200) throw new Error(`GET /openapi.json: ${response.status}`);
  // Indented, so that a checker's line numbers point somewhere readable.
  writeFileSync(file, `${JSON.stringify(await response.json(), null, 2)}\n`);
}

if (import.meta.main) {
  const file = process.argv[2];
  if (!file) {
    console.error("usage: bun scripts/served-openapi.ts <file>");
    process.exit(2);
  }
  await writeServedDocument(file);
}
