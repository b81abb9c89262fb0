// The load a crash trial's kill interrupts: clients that register, upload and change passwords, one user
// per client at a time, keeping what the service acknowledged and what a kill cut off (bench/crash-core.ts).
import { png } from "../test/fixtures/images.ts";
import type { CrashStats } from "./crash-core.ts";
import type { Service } from "./service.ts";

export type TrackedUser = {
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

/** What a trial carries from kill to kill: its counts, its users and the registrations a kill cut off. */
export type Trial = {
  dir: string;
  folder: string;
  seed: number;
  random: () => number;
  stats: CrashStats;
  fail: (message: string) => void;
  users: TrackedUser[];
  emails: number;
  interruptedRegisters: { email: string; password: string }[];
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
export const uploadNumber = (width: number, height: number) => (height - 100) * 800 + (width - 100);

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

/** A request that got no answer: the connection died with the process. */
export class Interrupted extends Error {}

export type Answer = { status: number; headers: Headers; bytes: Uint8Array; body: Record<string, unknown> };

/** One request, read to the end: an answer is only an acknowledgement once all of it arrived. */
export async function call(url: string, init: RequestInit): Promise<Answer> {
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

export const json = (token?: string) => ({
  "Content-Type": "application/json",
  ...(token ? { Authorization: `Bearer ${token}` } : {}),
});

/** A new account, then a login for its token; a kill during either is settled by the next check. */
async function register(trial: Trial, service: Service): Promise<void> {
  const { stats, fail, users, random } = trial;
  const email = `crash-${trial.seed}-${trial.emails++}@example.com`;
  const password = `pw-${Math.floor(random() * 1e9)}-initial`;
  stats.requests.register++;
  let res: Answer;
  try {
    res = await call(`${service.url}/register`, { method: "POST", headers: json(), body: JSON.stringify({ name: "Crash Test", email, password }) });
  } catch (err) {
    if (!(err instanceof Interrupted)) throw err;
    stats.interrupted.register++;
    trial.interruptedRegisters.push({ email, password });
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

async function upload(trial: Trial, service: Service, user: TrackedUser): Promise<void> {
  const { stats, fail } = trial;
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

async function changePassword(trial: Trial, service: Service, user: TrackedUser): Promise<void> {
  const { stats, fail, random } = trial;
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

/** One client: until the kill, registers or picks a free user to upload for or change the password of. */
export async function client(trial: Trial, service: Service, alive: () => boolean): Promise<void> {
  const { users, random } = trial;
  const pick = <T>(items: T[]) => items[Math.floor(random() * items.length)]!;
  while (alive()) {
    const free = users.filter((u) => !u.busy && u.token && u.pendingPasswords.length === 0);
    const r = random();
    if (r < 0.15 || free.length === 0) {
      await register(trial, service);
      continue;
    }
    const user = pick(free);
    user.busy = true;
    try {
      if (r < 0.6) await upload(trial, service, user);
      else await changePassword(trial, service, user);
    } finally {
      user.busy = false;
    }
  }
}
