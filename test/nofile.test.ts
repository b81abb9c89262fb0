// The start-up warning about a low open-files limit (issue 14.4): when it speaks, what it reads.
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "../src/log.ts";
import { hardNofile, SAFE_NOFILE, warnIfLowNofile } from "../src/startup.ts";

function warnings(hard: number | undefined): Array<Record<string, unknown>> {
  const lines: string[] = [];
  warnIfLowNofile(createLogger((line) => lines.push(line)), hard);
  return lines.map((line) => JSON.parse(line));
}

test.each([[1024], [SAFE_NOFILE - 1]])("a hard limit of %d: one warning naming it", (hard) => {
  expect(warnings(hard)).toMatchObject([{ level: "warn", nofile: hard, safe_floor: SAFE_NOFILE }]);
});

test.each([[SAFE_NOFILE], [1_048_576], [undefined]])("a hard limit of %p: silent", (hard) => {
  expect(warnings(hard)).toEqual([]);
});

test("reads the hard column of /proc/<pid>/limits, not the soft one", () => {
  const dir = mkdtempSync(join(tmpdir(), "nofile-"));
  try {
    const file = join(dir, "limits");
    writeFileSync(file, "Limit                     Soft Limit           Hard Limit           Units     \nMax open files            512                  2048                 files     \n");
    expect(hardNofile(file)).toBe(2048);
    writeFileSync(file, "Max open files            unlimited            unlimited            files     \n");
    expect(hardNofile(file)).toBeUndefined();
    expect(hardNofile(join(dir, "missing"))).toBeUndefined();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
