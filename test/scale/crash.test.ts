// Crash safety in CI: three SIGKILLs at random moments during registrations, uploads and password
// changes, with the checks of bench/crash.ts (which runs 50); and proof that those checks can fail.
import { expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { unlinkSync } from "node:fs";
import { join } from "node:path";
import { runCrashTrial } from "../../bench/crash-core.ts";
import { databaseFile, pictureFolder } from "../../bench/service.ts";
import { tempDirsForFile } from "../helpers/server.ts";

const tempDir = tempDirsForFile("profile-crash-");
test("3 kills mid-write: database intact, no temp files, every acknowledged write survives", async () => {
  const seed = Math.floor(Math.random() * 2 ** 31);
  console.log(`crash seed ${seed} (same choices: SEED=${seed} ITERATIONS=3 MIN_KILL_MS=100 MAX_KILL_MS=600 bun bench/crash.ts)`);
  const stats = await runCrashTrial({ dir: tempDir(), iterations: 3, seed, minKillMs: 100, maxKillMs: 600 });
  expect(stats.failures).toEqual([]);
  expect(stats.iterations).toBe(3);
  expect(stats.acknowledged.register).toBeGreaterThan(0);
  expect(stats.acknowledged.upload).toBeGreaterThan(0);
  expect(stats.acknowledged.password).toBeGreaterThan(0);
}, 30_000);

test("the checks notice a lost picture and a rolled-back password", async () => {
  const stats = await runCrashTrial({
    dir: tempDir(),
    iterations: 1,
    seed: 7,
    // Late enough that an upload and a password change were acknowledged even on a busy machine
    // (at 400 ms a loaded run had no upload yet, and so nothing to sabotage).
    minKillMs: 1500,
    maxKillMs: 1500,
    afterKill(dir) {
      const db = new Database(databaseFile(dir));
      const { image_set } = db.query("SELECT image_set FROM users WHERE image_set IS NOT NULL LIMIT 1").get() as { image_set: string };
      unlinkSync(join(pictureFolder(dir), (JSON.parse(image_set) as { full: string }).full));
      db.run("UPDATE users SET password_hash = (SELECT password_hash FROM users WHERE id = 1) WHERE id = 2");
      db.close();
    },
  });
  // Start-up reconciliation only removes files, so the row now names a picture that is gone.
  expect(stats.failures.some((f) => /is missing/.test(f))).toBe(true);
  expect(stats.failures.some((f) => /acknowledged password no longer logs in/.test(f))).toBe(true);
}, 30_000);
