// Lints the OpenAPI document as the service serves it with Redocly's CLI and the rules chosen in
// redocly.yaml: a second, independent reader of the document, next to Prism's traffic check.
//   bun scripts/openapi-lint.ts
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { writeServedDocument } from "./served-openapi.ts";

const root = resolve(import.meta.dir, "..");
const dir = mkdtempSync(join(tmpdir(), "openapi-lint-"));
const file = join(dir, "openapi.json");
let status = 1;
try {
  await writeServedDocument(file);
  const lint = Bun.spawn([join(root, "node_modules/.bin/redocly"), "lint", file, "--config", join(root, "redocly.yaml"), "--format", "json"], {
    cwd: root,
    stdout: "pipe",
    stderr: "pipe",
    // No usage reports, no update checks: the lint runs offline.
    env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true", NO_COLOR: "1" },
  });
  const [out, err, exit] = await Promise.all([new Response(lint.stdout).text(), new Response(lint.stderr).text(), lint.exited]);
  type Problem = { ruleId: string; severity: string; message: string; location: Array<{ pointer: string }> };
  let problems: Problem[];
  try {
    problems = JSON.parse(out).problems;
  } catch {
    throw new Error(`redocly lint gave no report (exit ${exit}): ${out}${err}`);
  }
  // A JSON pointer names the operation (#/paths/~1login/post), which a line number in a temp file does not.
  for (const p of problems) console.log(`  ${p.severity} ${p.ruleId} ${decodeURIComponent(p.location[0]?.pointer ?? "")}: ${p.message}`);
  const errors = problems.filter((p) => p.severity === "error").length;
  console.log(`openapi-lint: ${errors} errors, ${problems.length - errors} warnings (redocly.yaml's rules)`);
  status = exit;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exit(status);
