// `--help`, `-h` and `help` through the real entry point print every command's usage and exit 0
// (they used to start the service); an unknown option prints the usage and exits 2.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MAIN } from "../helpers/server.ts";

const cwd = mkdtempSync(join(tmpdir(), "profile-help-"));
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

/** Runs main.ts with these arguments; a PORT that is taken makes a wrongly started service fail fast, not hang. */
async function run(...args: string[]) {
  const proc = Bun.spawn([process.execPath, MAIN, ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? "", PORT: "1", HOST: "127.0.0.1", METRICS: "off" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => proc.kill(), 10_000);
  const [code, stdout, stderr] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}

const EVERY_COMMAND = ["profile-service\n", "profile-service healthcheck", "profile-service move-up", "profile-service create-admin", "profile-service import", "--help"];

test.each([[["--help"]], [["-h"]], [["help"]], [["create-admin", "--help"]], [["import", "-h"]]])("%p prints the usage of every command and exits 0", async (args) => {
  const { code, stdout, stderr } = await run(...args);
  expect(code).toBe(0);
  for (const usage of EVERY_COMMAND) expect(stdout).toContain(usage);
  expect(stdout).not.toContain('"listening"');
  expect(stderr).toBe("");
});

test.each([["--verbose"], ["-x"], ["--port=9000"]])("an unknown option %s prints the usage on stderr and exits 2", async (option) => {
  const { code, stdout, stderr } = await run(option);
  expect(code).toBe(2);
  expect(stderr).toContain(`unknown command or option: ${option}`);
  for (const usage of EVERY_COMMAND) expect(stderr).toContain(usage);
  expect(stdout).toBe("");
});
