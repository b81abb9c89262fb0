// Crash safety: SIGKILL the service at random moments while clients write (crash-load.ts), restart it and check
// every acknowledged write (crash-verify.ts). Shared by bench/crash.ts (50 kills) and test/scale/crash.test.ts (3, in CI).
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { client, prng, type Trial } from "./crash-load.ts";
import { verify } from "./crash-verify.ts";
import { pictureFolder, startService } from "./service.ts";

export type CrashOptions = {
  dir: string;
  iterations: number;
  seed: number;
  /** Clients sending requests at once (each keeps to one user at a time). */
  workers?: number;
  /** The kill lands uniformly between these, counted from the start of the load. */
  minKillMs?: number;
  maxKillMs?: number;
  /** taskset for the server, e.g. "0"; unset: no pinning. */
  cpus?: string;
  log?: (line: string) => void;
  /** Called while the service is down after each kill: lets a test break things on purpose. */
  afterKill?: (dir: string) => void;
};

export type CrashStats = {
  iterations: number;
  failures: string[];
  requests: { register: number; upload: number; password: number };
  acknowledged: { register: number; upload: number; password: number };
  /** Requests cut off by a kill: the client never learned whether they happened. */
  interrupted: { register: number; upload: number; password: number };
  /** Of the interrupted ones, those found to have taken effect after the restart. */
  interruptedButDone: { register: number; upload: number; password: number };
  /** The documented case: the new file was renamed into place, the row still names the old version. */
  newerPictureBehindOldUrl: number;
  tempFilesFoundAfterKill: number;
  killsWithRequestsInFlight: number;
  usersChecked: number;
  picturesChecked: number;
  killDelaysMs: number[];
};

const zero = () => ({ register: 0, upload: 0, password: 0 });

/** `iterations` kills during load, each followed by a restart and the checks; then a last start, check and SIGTERM. */
export async function runCrashTrial(options: CrashOptions): Promise<CrashStats> {
  const { dir, iterations, seed } = options;
  const workers = options.workers ?? 4;
  const minKill = options.minKillMs ?? 10;
  const maxKill = options.maxKillMs ?? 1000;
  const log = options.log ?? (() => {});
  const random = prng(seed);
  const secret = `crash-${seed}-`.padEnd(48, "x");
  const logFile = join(dir, "service.log");
  const folder = pictureFolder(dir);

  const stats: CrashStats = {
    iterations: 0,
    failures: [],
    requests: zero(),
    acknowledged: zero(),
    interrupted: zero(),
    interruptedButDone: zero(),
    newerPictureBehindOldUrl: 0,
    tempFilesFoundAfterKill: 0,
    killsWithRequestsInFlight: 0,
    usersChecked: 0,
    picturesChecked: 0,
    killDelaysMs: [],
  };
  const fail = (message: string) => {
    stats.failures.push(message);
    log(`FAIL ${message}`);
  };
  const trial: Trial = { dir, folder, seed, random, stats, fail, users: [], emails: 0, interruptedRegisters: [] };

  const start = () =>
    startService({
      dir,
      jwtSecret: secret,
      cpus: options.cpus,
      logFile,
      // Cheap hashes, as in the test suite: the crash windows are in the writes, not in argon2id,
      // and cheaper hashes put more writes in each window. Long-lived tokens span the whole run.
      // Start-up removes leftovers only once older than STORAGE_GRACE_SECONDS (they could be another
      // instance's uploads in flight); one second here, and each restart waits that long after the kill.
      env: { ARGON2_MEMORY_KIB: "1024", ARGON2_TIME_COST: "1", ACCESS_TOKEN_TTL_SECONDS: "86400", STORAGE_GRACE_SECONDS: "1" },
    });

  // ------------------------------------------------------------------------------------------
  // The iterations: start, check, load, kill at a random moment; then one last start and check.
  // ------------------------------------------------------------------------------------------
  for (let i = 0; i < iterations; i++) {
    const service = await start();
    try {
      // Users left without a token here (a lost password) stay out of the load from now on.
      await verify(trial, service, false);
    } catch (err) {
      await service.kill();
      throw err;
    }
    const delay = Math.round(minKill + random() * (maxKill - minKill));
    stats.killDelaysMs.push(delay);
    let alive = true;
    const clients = Array.from({ length: workers }, () => client(trial, service, () => alive));
    const before = { ...stats.interrupted };
    await Bun.sleep(delay);
    alive = false;
    await service.kill();
    await Promise.all(clients);
    const cut = Object.values(stats.interrupted).reduce((a, b) => a + b, 0) - Object.values(before).reduce((a, b) => a + b, 0);
    if (cut > 0) stats.killsWithRequestsInFlight++;
    const temps = readdirSync(folder, { recursive: true }).map(String).filter((name) => name.endsWith(".tmp")).length;
    stats.tempFilesFoundAfterKill += temps;
    options.afterKill?.(dir);
    await Bun.sleep(1100); // past STORAGE_GRACE_SECONDS, so the next start may remove what the kill left
    stats.iterations++;
    log(`iteration ${i + 1}/${iterations}: killed after ${delay} ms, ${cut} request(s) cut off, ${temps} temp file(s) left, ${trial.users.length} users, ${stats.failures.length} failure(s)`);
  }
  const final = await start();
  try {
    await verify(trial, final, true);
  } finally {
    const code = await final.stop();
    if (code !== 0) fail(`final SIGTERM: exit ${code}`);
  }
  return stats;
}
