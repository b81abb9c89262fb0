// Run by `npm test` after the suites: every status the API tests saw (test/helpers/server.ts's
// Client records them when OBSERVED_STATUSES_FILE is set) must be documented for its route and
// method. A script rather than a test file, because it must run after all of them.
//   OBSERVED_STATUSES_FILE=… bun test/openapi/check-observed.ts
import { existsSync, readFileSync } from "node:fs";
import { openApiDocument } from "../../src/openapi/document.ts";
import { routesFor, undocumented, type Doc, type Observation } from "./observed.ts";

const file = process.env.OBSERVED_STATUSES_FILE;
if (!file || !existsSync(file)) {
  console.error(`check-observed: no observations (OBSERVED_STATUSES_FILE=${file ?? ""}); run it through npm test`);
  process.exit(1);
}

const observations: Observation[] = readFileSync(file, "utf8")
  .split("\n")
  .filter(Boolean)
  .map((line) => JSON.parse(line));
// Statuses do not depend on the limits in the schemas.
const doc = openApiDocument({ passwordMinLength: 8, maxUploadBytes: 5 * 1024 * 1024 }) as Doc;
const missing = await undocumented(observations, doc);

const routeOf = await routesFor(observations.map((o) => o.path));
const seen = new Set(observations.map((o) => `${o.method} ${routeOf.get(o.path) ?? "(no route)"} ${o.status}`));
console.log(`check-observed: ${observations.length} responses seen by the API tests, ${seen.size} distinct (method, route, status)`);
if (missing.length > 0) {
  console.error(`check-observed: ${missing.length} not documented in the OpenAPI document (src/openapi/):`);
  for (const line of missing) console.error(`  ${line}`);
  process.exit(1);
}
console.log("check-observed: every observed status is documented");
