// Runs the API suites through Stoplight's Prism, an OpenAPI validator written by others, as a proxy:
// any response Prism finds at odds with the served /openapi.json fails the run, with what and where.
//   bun scripts/prism-check.ts [test files…]   (default: test/api)
// Each test file starts its own servers on port 0, but Prism proxies to one upstream, so Prism's
// upstream is a switchboard here that forwards each request to the port in its x-test-upstream header
// (test/helpers/server.ts's Client adds it when PRISM_URL is set). Prism runs offline: it has no
// telemetry, and the document it reads is a local file without remote references.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { UPSTREAM_HEADER } from "../test/helpers/server.ts";
import { writeServedDocument } from "./served-openapi.ts";

const root = resolve(import.meta.dir, "..");
const suites = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ["test/api"];
const dir = mkdtempSync(join(tmpdir(), "prism-check-"));
const documentFile = join(dir, "openapi.json");
const violationsFile = join(dir, "violations.jsonl");

await writeServedDocument(documentFile);

// Hop-by-hop headers are the switchboard's own business, not the test server's.
const HOP = ["connection", "keep-alive", "transfer-encoding", "host", "content-length", UPSTREAM_HEADER];
let forwarded = 0;
const switchboard = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  maxRequestBodySize: 64 * 1024 * 1024,
  async fetch(request) {
    const port = request.headers.get(UPSTREAM_HEADER);
    if (port === "canary") return Response.json(["not", "a", "health", "report"]);
    if (!port || !/^\d+$/.test(port)) return new Response(`no ${UPSTREAM_HEADER} header`, { status: 502 });
    forwarded++;
    const url = new URL(request.url);
    const headers = new Headers(request.headers);
    for (const name of HOP) headers.delete(name);
    const body = request.method === "GET" || request.method === "HEAD" ? undefined : await request.arrayBuffer();
    const answer = await fetch(`http://127.0.0.1:${port}${url.pathname}${url.search}`, { method: request.method, headers, body, redirect: "manual", decompress: false });
    const out = new Headers(answer.headers);
    out.delete("content-length");
    out.delete("transfer-encoding");
    return new Response(request.method === "HEAD" ? null : await answer.arrayBuffer(), { status: answer.status, headers: out });
  },
});

/** A port nothing listens on right now (the kernel's choice, released at once). */
function freePort(): number {
  const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = probe.port!;
  probe.stop(true);
  return port;
}

const prismPort = freePort();
const prism = Bun.spawn(
  [join(root, "node_modules/.bin/prism"), "proxy", documentFile, `http://127.0.0.1:${switchboard.port}`, "--errors=false", "--cors=false", "--host", "127.0.0.1", "--port", String(prismPort)],
  { cwd: root, stdout: "pipe", stderr: "pipe", env: { ...process.env, NO_COLOR: "1" } },
);
const prismLog = new Response(prism.stdout).text();

async function waitForPrism() {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (prism.exitCode !== null) break;
    try {
      await fetch(`http://127.0.0.1:${prismPort}/`, { signal: AbortSignal.timeout(1000) });
      return;
    } catch {
      await Bun.sleep(200);
    }
  }
  prism.kill();
  throw new Error(`prism did not start: ${await prismLog}${await new Response(prism.stderr).text()}`);
}

/** Proves the check can fail: a health answer that breaks the document must come back flagged. */
async function canary() {
  const response = await fetch(`http://127.0.0.1:${prismPort}/healthz`, { headers: { [UPSTREAM_HEADER]: "canary" } });
  const violations: Array<{ location: string[] }> = JSON.parse(response.headers.get("sl-violations") ?? "[]");
  if (!violations.some((v) => v.location[0] === "response")) throw new Error("prism-check: Prism did not flag a response that breaks the document; the check would be blind");
}

let status = 1;
try {
  await waitForPrism();
  await canary();
  console.log(`prism-check: Prism ${prismPort} → switchboard ${switchboard.port}; running ${suites.join(" ")}`);
  const tests = Bun.spawn([process.execPath, "test", "--timeout", "20000", ...suites], {
    cwd: root,
    stdout: "inherit",
    stderr: "inherit",
    env: { ...process.env, PRISM_URL: `http://127.0.0.1:${prismPort}`, PRISM_VIOLATIONS_FILE: violationsFile, OBSERVED_STATUSES_FILE: "" },
  });
  const testsStatus = await tests.exited;

  type Entry = { method: string; path: string; status: number; violations: Array<{ location: string[]; severity: string; code: string; message: string }> };
  const entries: Entry[] = existsSync(violationsFile)
    ? readFileSync(violationsFile, "utf8").split("\n").filter(Boolean).map((line) => JSON.parse(line))
    : [];
  // Requests the tests make invalid on purpose are the point of those tests: only responses count.
  const found = new Map<string, number>();
  for (const entry of entries) {
    for (const v of entry.violations.filter((v) => v.location[0] === "response")) {
      const key = `${entry.method} ${entry.path} → ${entry.status}: ${v.severity} ${v.location.join(".")} ${v.message}`;
      found.set(key, (found.get(key) ?? 0) + 1);
    }
  }
  const requestOnly = entries.filter((e) => e.violations.every((v) => v.location[0] !== "response")).length;
  console.log(`prism-check: ${forwarded} requests went through Prism; ${entries.length} responses carried sl-violations; ${requestOnly} about the request only (sent invalid on purpose)`);
  if (found.size > 0) {
    console.error(`prism-check: ${found.size} distinct response violations of the OpenAPI document:`);
    for (const [key, count] of found) console.error(`  ${key}${count > 1 ? ` (×${count})` : ""}`);
  } else console.log("prism-check: no response violates the OpenAPI document");
  if (testsStatus !== 0) console.error(`prism-check: the suites failed through Prism (exit ${testsStatus})`);
  status = found.size === 0 && testsStatus === 0 ? 0 : 1;
} finally {
  prism.kill();
  await prism.exited;
  switchboard.stop(true);
  rmSync(dir, { recursive: true, force: true });
}
process.exit(status);
