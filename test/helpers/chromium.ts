// Which Chromium the /docs browser test drives: Debian's /usr/bin/chromium when installed, else the
// headless shell shipped (brotli-packed) in the @sparticuz/chromium package, unpacked once to the temp dir.
// That build links only NSS/NSPR/expat; the package's own copies of those are put on LD_LIBRARY_PATH.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Page } from "playwright-core";

export const DEBIAN_CHROMIUM = "/usr/bin/chromium";

export type ChromiumBinary = { executablePath: string; env: Record<string, string>; source: string };

export async function findChromium(): Promise<ChromiumBinary> {
  if (existsSync(DEBIAN_CHROMIUM)) return { executablePath: DEBIAN_CHROMIUM, env: {}, source: "Debian's chromium" };
  let packaged: typeof import("@sparticuz/chromium");
  try {
    packaged = await import("@sparticuz/chromium");
  } catch {
    throw new Error(`no Chromium: ${DEBIAN_CHROMIUM} is missing and @sparticuz/chromium is not installed (npm install, or apt-get install chromium)`);
  }
  const executablePath = await packaged.default.executablePath();
  const bin = join(dirname(new URL(import.meta.resolve("@sparticuz/chromium")).pathname), "..", "bin");
  const libraries = await packaged.inflate(join(bin, "al2023.tar.br"));
  const env = { LD_LIBRARY_PATH: [join(libraries, "lib"), process.env.LD_LIBRARY_PATH].filter(Boolean).join(":") };
  return { executablePath, env, source: "@sparticuz/chromium" };
}

/** Runs `--version`: a binary that cannot start (a missing library) fails here, with its message. */
export function chromiumVersion(chromium: ChromiumBinary): string {
  const run = Bun.spawnSync([chromium.executablePath, "--headless", "--no-sandbox", "--version"], {
    env: { ...process.env, ...chromium.env },
    stdout: "pipe",
    stderr: "pipe",
    timeout: 30_000,
  });
  if (run.exitCode !== 0) throw new Error(`${chromium.source} at ${chromium.executablePath} does not start: ${run.stderr.toString().trim().slice(0, 300)}`);
  return run.stdout.toString().trim();
}

/** What a page complains about, collected as it happens: uncaught errors and console errors. */
export function complaintsOf(page: Page): string[] {
  const complaints: string[] = [];
  page.on("pageerror", (err) => complaints.push(`page error: ${err.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") complaints.push(`console: ${message.text()}`);
  });
  return complaints;
}
