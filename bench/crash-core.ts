// Crash safety: SIGKILL the service at a random moment while clients register, upload pictures and
// change passwords, restart it, and check the database, the picture folder and every acknowledged write.
// Shared by bench/crash.ts (50 iterations) and test/scale/crash.test.ts (3, in CI).
import { Database } from "bun:sqlite";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { png } from "../test/fixtures/images.ts";
import { pictureObjects, pictureSet, type PictureSet } from "../src/store/rows.ts";
import { databaseFile, pictureFolder, startService, type Service } from "./service.ts";

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

type Kind = "register" | "upload" | "password";

type TrackedUser = {
  id: number;
  email: string;
  /** The last password a 200 (or the 201) confirmed. */
  password: string;
  /** Sent in a password change that a kill cut off: either may be the password now. */
  pendingPasswords: string[];
  token?: string;
  /** Upload number n sends a picture (100 + n % 800) × (100 + n / 800) pixels: the stored file says which. */
  uploadsSent: number;
  ackedUpload: number; // -1: none
  ackedVersion: number; // 0: none
  interruptedUploads: Set<number>;
  busy: boolean;
  touched: boolean;
};

/** mulberry32: small, seedable, good enough to place kills and pick operations. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const uploadSize = (n: number) => ({ width: 100 + (n % 800), height: 100 + Math.floor(n / 800) });
const uploadNumber = (width: number, height: number) => (height - 100) * 800 + (width - 100);

const pictures = new Map<number, Uint8Array>();
function pictureFor(n: number): Uint8Array {
  let bytes = pictures.get(n);
  if (!bytes) {
    const { width, height } = uploadSize(n);
    bytes = png(width, height, { seed: n });
    pictures.set(n, bytes);
  }
  return bytes;
}

/** Width and height from a baseline or progressive JPEG's SOF marker; undefined if it is not a whole JPEG. */
export function jpegSize(bytes: Uint8Array): { width: number; height: number } | undefined {
  const n = bytes.length;
  if (n < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8 || bytes[n - 2] !== 0xff || bytes[n - 1] !== 0xd9) return undefined;
  let i = 2;
  while (i + 9 < n) {
    if (bytes[i] !== 0xff) return undefined;
    const marker = bytes[i + 1]!;
    const length = (bytes[i + 2]! << 8) | bytes[i + 3]!;
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { height: (bytes[i + 5]! << 8) | bytes[i + 6]!, width: (bytes[i + 7]! << 8) | bytes[i + 8]! };
    }
    i += 2 + length;
  }
  return undefined;
}

/** A request that got no answer: the connection died with the process. */
class Interrupted extends Error {}

type Answer = { status: number; headers: Headers; bytes: Uint8Array; body: Record<string, unknown> };

/** One request, read to the end: an answer is only an acknowledgement once all of it arrived. */
async function call(url: string, init: RequestInit): Promise<Answer> {
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) });
    const bytes = new Uint8Array(await res.arrayBuffer());
    let body: Record<string, unknown> = {};
    if (res.headers.get("content-type")?.includes("json")) body = JSON.parse(new TextDecoder().decode(bytes));
    return { status: res.status, headers: res.headers, bytes, body };
  } catch (err) {
    throw new Interrupted(String(err));
  }
}

const json = (token?: string) => ({
  "Content-Type": "application/json",
  ...(token ? { Authorization: `Bearer ${token}` } : {}),
});

const zero = () => ({ register: 0, upload: 0, password: 0 });

export async function runCrashTrial(options: CrashOptions): Promise<CrashStats> {
  const { dir, iterations, seed } = options;
  const workers = options.workers ?? 4;
  const minKill = options.minKillMs ?? 10;
  const maxKill = options.maxKillMs ?? 1000;
  const log = options.log ?? (() => {});
  const random = prng(seed);
  const pick = <T>(items: T[]) => items[Math.floor(random() * items.length)]!;
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
  const users: TrackedUser[] = [];
  let emails = 0;
  let interruptedRegisters: { email: string; password: string }[] = [];

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
  // After a restart: the database, the folder, and what every (touched) user must still have.
  // ------------------------------------------------------------------------------------------
  async function verify(service: Service, all: boolean): Promise<void> {
    const db = new Database(databaseFile(dir), { readonly: true });
    let rows: { id: number; image_version: number | null; image_set: string | null }[];
    try {
      const integrity = db.query("PRAGMA integrity_check").all() as { integrity_check: string }[];
      if (integrity.length !== 1 || integrity[0]!.integrity_check !== "ok") fail(`integrity_check: ${JSON.stringify(integrity)}`);
      const fk = db.query("PRAGMA foreign_key_check").all();
      if (fk.length > 0) fail(`foreign_key_check: ${JSON.stringify(fk.slice(0, 5))}`);
      rows = db.query("SELECT id, image_version, image_set FROM users").all() as typeof rows;
    } finally {
      db.close();
    }

    // The folder: no temp file survives start-up; every picture row has its objects (a set, or the
    // single <id>.jpg of before sets) and every file belongs to a row's current picture.
    const versions = new Map(rows.map((row) => [row.id, row.image_version]));
    const sets = new Map<number, PictureSet>();
    for (const row of rows) {
      const set = pictureSet(row);
      if (set) sets.set(row.id, set);
    }
    const fullPath = (id: number) => join(folder, sets.has(id) ? sets.get(id)!.full : `${id}.jpg`);
    for (const name of readdirSync(folder)) {
      const id = Number(name.split(".")[0]);
      if (/^\d+$/.test(name)) {
        const current = new Set(sets.has(id) ? pictureObjects(sets.get(id)!) : []);
        for (const file of readdirSync(join(folder, name))) {
          if (!current.has(`${name}/${file}`)) fail(`${name}/${file} is no object of user ${id}'s current picture`);
        }
      } else if (!/^\d+\.jpg$/.test(name)) {
        fail(`a file other than <id>.jpg or a set folder after restart: ${name}`);
      } else if (versions.get(id) == null || sets.has(id)) {
        fail(`${name} belongs to no user whose picture it is`);
      }
    }
    const sizes = new Map<number, { width: number; height: number }>();
    for (const [id, version] of versions) {
      if (version == null) continue;
      const set = sets.get(id);
      const missing = (set ? pictureObjects(set) : [`${id}.jpg`]).filter((name) => !existsSync(join(folder, name)));
      if (missing.length > 0) {
        fail(`user ${id}: image_version ${version} but ${missing.join(", ")} is missing`);
        continue;
      }
      const size = jpegSize(readFileSync(fullPath(id)));
      if (!size) fail(`user ${id}: ${fullPath(id)} is not a whole JPEG`);
      else sizes.set(id, size);
      stats.picturesChecked++;
    }

    // Registrations a kill cut off: either the account exists with that password, or it does not.
    for (const r of interruptedRegisters) {
      const res = await call(`${service.url}/login`, { method: "POST", headers: json(), body: JSON.stringify(r) });
      if (res.status === 200) stats.interruptedButDone.register++;
      else if (res.status !== 401) fail(`login of interrupted registration ${r.email}: ${res.status}`);
    }
    interruptedRegisters = [];

    for (const user of users) {
      if (!all && !user.touched) continue;
      stats.usersChecked++;
      // The acknowledged password, or one whose change was cut off; nothing else.
      let token: string | undefined;
      for (const password of [user.password, ...user.pendingPasswords]) {
        const res = await call(`${service.url}/login`, { method: "POST", headers: json(), body: JSON.stringify({ email: user.email, password }) });
        const body = res.body as { access_token?: string };
        if (res.status === 200 && typeof body.access_token === "string") {
          if (password !== user.password) stats.interruptedButDone.password++;
          user.password = password;
          token = body.access_token;
          break;
        }
        if (res.status !== 401) fail(`user ${user.id}: login answered ${res.status}`);
      }
      user.pendingPasswords = [];
      if (!token) {
        fail(`user ${user.id} (${user.email}): the acknowledged password no longer logs in`);
        user.token = undefined;
        continue;
      }
      user.token = token;

      const res = await call(`${service.url}/me`, { headers: json(token) });
      const me = res.body as { id?: number; image_url?: string | null };
      if (res.status !== 200 || me.id !== user.id) {
        fail(`user ${user.id}: GET /me ${res.status} ${JSON.stringify(me)}`);
        continue;
      }
      const version = versions.get(user.id) ?? null;
      const urlVersion = me.image_url ? Number(new URL(me.image_url).searchParams.get("v")) : null;
      if (urlVersion !== version) fail(`user ${user.id}: image_url ${me.image_url} but image_version ${version}`);
      if (version === null) {
        if (user.ackedVersion > 0) fail(`user ${user.id}: acknowledged picture v${user.ackedVersion} lost (no picture now)`);
      } else {
        if (version < user.ackedVersion) fail(`user ${user.id}: image_version ${version} older than acknowledged v${user.ackedVersion}`);
        const size = sizes.get(user.id);
        const n = size ? uploadNumber(size.width, size.height) : undefined;
        if (n !== undefined) {
          if (n === user.ackedUpload) {
            // what was acknowledged, as acknowledged
          } else if (n > user.ackedUpload && user.interruptedUploads.has(n)) {
            if (version > user.ackedVersion) stats.interruptedButDone.upload++;
            else stats.newerPictureBehindOldUrl++; // README: "new picture behind the old ?v= URL"
          } else {
            fail(`user ${user.id}: picture is upload #${n}, acknowledged #${user.ackedUpload}, interrupted ${[...user.interruptedUploads]}`);
          }
          user.ackedUpload = n;
        }
        user.ackedVersion = version;
        // The URL serves those very bytes.
        const pic = await call(me.image_url!, {});
        if (pic.status !== 200 || pic.headers.get("content-type") !== "image/jpeg" || !Bun.deepEquals(pic.bytes, new Uint8Array(readFileSync(fullPath(user.id))))) {
          fail(`user ${user.id}: ${me.image_url} answered ${pic.status} ${pic.headers.get("content-type")} with other bytes than the file`);
        }
      }
      user.interruptedUploads.clear();
      user.touched = false;
    }
  }

  // ------------------------------------------------------------------------------------------
  // The load a kill interrupts: register, upload, change password, one user per client at a time.
  // ------------------------------------------------------------------------------------------
  async function register(service: Service): Promise<void> {
    const email = `crash-${seed}-${emails++}@example.com`;
    const password = `pw-${Math.floor(random() * 1e9)}-initial`;
    stats.requests.register++;
    let res: Answer;
    try {
      res = await call(`${service.url}/register`, { method: "POST", headers: json(), body: JSON.stringify({ name: "Crash Test", email, password }) });
    } catch (err) {
      if (!(err instanceof Interrupted)) throw err;
      stats.interrupted.register++;
      interruptedRegisters.push({ email, password });
      return;
    }
    const body = res.body as { id?: number };
    if (res.status !== 201 || typeof body.id !== "number") return fail(`register ${email}: ${res.status} ${JSON.stringify(body)}`);
    stats.acknowledged.register++;
    const user: TrackedUser = {
      id: body.id,
      email,
      password,
      pendingPasswords: [],
      uploadsSent: 0,
      ackedUpload: -1,
      ackedVersion: 0,
      interruptedUploads: new Set(),
      busy: true,
      touched: true,
    };
    users.push(user);
    // A token to upload and change the password with; a kill here leaves it to the next check.
    try {
      const login = await call(`${service.url}/login`, { method: "POST", headers: json(), body: JSON.stringify({ email, password }) });
      if (login.status === 200 && typeof login.body.access_token === "string") user.token = login.body.access_token;
      else fail(`login after register ${email}: ${login.status} ${JSON.stringify(login.body)}`);
    } catch (err) {
      if (!(err instanceof Interrupted)) throw err;
    }
    user.busy = false;
  }

  async function upload(service: Service, user: TrackedUser): Promise<void> {
    const n = user.uploadsSent++;
    const form = new FormData();
    form.append("image", new Blob([pictureFor(n)], { type: "image/png" }), `${n}.png`);
    user.touched = true;
    stats.requests.upload++;
    let res: Answer;
    try {
      res = await call(`${service.url}/me/upload-image`, { method: "POST", headers: { Authorization: `Bearer ${user.token}` }, body: form });
    } catch (err) {
      if (!(err instanceof Interrupted)) throw err;
      stats.interrupted.upload++;
      user.interruptedUploads.add(n);
      return;
    }
    const body = res.body as { image_url?: string };
    if (res.status !== 200 || !body.image_url) return fail(`upload user ${user.id}: ${res.status} ${JSON.stringify(body)}`);
    const version = Number(new URL(body.image_url).searchParams.get("v"));
    if (!(version > user.ackedVersion)) fail(`upload user ${user.id}: v${version} after acknowledged v${user.ackedVersion}`);
    stats.acknowledged.upload++;
    user.ackedUpload = n;
    user.ackedVersion = version;
    user.interruptedUploads.clear(); // an acknowledged later upload supersedes them
  }

  async function changePassword(service: Service, user: TrackedUser): Promise<void> {
    const next = `pw-${Math.floor(random() * 1e9)}-changed`;
    user.touched = true;
    stats.requests.password++;
    let res: Answer;
    try {
      res = await call(`${service.url}/me`, {
        method: "PUT",
        headers: json(user.token),
        body: JSON.stringify({ password: next, current_password: user.password }),
      });
    } catch (err) {
      if (!(err instanceof Interrupted)) throw err;
      stats.interrupted.password++;
      user.pendingPasswords.push(next);
      user.token = undefined; // the change may have revoked it
      return;
    }
    const body = res.body as { access_token?: string };
    if (res.status !== 200 || !body.access_token) return fail(`password change user ${user.id}: ${res.status} ${JSON.stringify(body)}`);
    stats.acknowledged.password++;
    user.password = next;
    user.token = body.access_token;
  }

  async function client(service: Service, alive: () => boolean): Promise<void> {
    while (alive()) {
      const free = users.filter((u) => !u.busy && u.token && u.pendingPasswords.length === 0);
      const r = random();
      if (r < 0.15 || free.length === 0) {
        await register(service);
        continue;
      }
      const user = pick(free);
      user.busy = true;
      try {
        if (r < 0.6) await upload(service, user);
        else await changePassword(service, user);
      } finally {
        user.busy = false;
      }
    }
  }

  // ------------------------------------------------------------------------------------------
  // The iterations: start, check, load, kill at a random moment; then one last start and check.
  // ------------------------------------------------------------------------------------------
  for (let i = 0; i < iterations; i++) {
    const service = await start();
    try {
      // Users left without a token here (a lost password) stay out of the load from now on.
      await verify(service, false);
    } catch (err) {
      await service.kill();
      throw err;
    }
    const delay = Math.round(minKill + random() * (maxKill - minKill));
    stats.killDelaysMs.push(delay);
    let alive = true;
    const clients = Array.from({ length: workers }, () => client(service, () => alive));
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
    log(`iteration ${i + 1}/${iterations}: killed after ${delay} ms, ${cut} request(s) cut off, ${temps} temp file(s) left, ${users.length} users, ${stats.failures.length} failure(s)`);
  }
  const final = await start();
  try {
    await verify(final, true);
  } finally {
    const code = await final.stop();
    if (code !== 0) fail(`final SIGTERM: exit ${code}`);
  }
  return stats;
}
