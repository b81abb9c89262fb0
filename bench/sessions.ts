// What sessions cost: the per-login device record (SessionStore.rememberLogin), the list, the per-request "last used"
// check with no write due, and GET /me with and without the bun:sqlite hot-path reader. Run: bun bench/sessions.ts
import { startServer } from "../test/helpers/server.ts";

/** The sessions feature's own operations, timed one by one against the store. */
async function featureCosts(): Promise<void> {
  await using server = await startServer();
  const user = await server.client.signUp();
  const { sessions } = server.deps;
  const N = 500;
  const time = async (label: string, run: (i: number) => unknown) => {
    const start = performance.now();
    for (let i = 0; i < N; i++) await run(i);
    console.log(`${label}: ${(((performance.now() - start) / N) * 1000).toFixed(1)} µs each (${N} runs)`);
  };
  await time("rememberLogin, a known pair", () => sessions.rememberLogin(user.id, { device: "curl", ip: "192.0.2.1" }));
  await time("rememberLogin, a new pair each time", (i) => sessions.rememberLogin(user.id, { device: "curl", ip: `10.${i >> 8}.${i & 255}.1` }));
  for (let i = 0; i < 9; i++) await server.client.login(user.email, user.password);
  await time("list of 10 sessions", () => sessions.list(user.id));
  const sid = ((await server.client.send("GET", "/me/sessions", { token: user.token })).body.sessions as { id: string }[])[0]!.id;
  const start = performance.now();
  for (let i = 0; i < 100_000; i++) sessions.touch(sid);
  console.log(`touch with no write due: ${(((performance.now() - start) / 100_000) * 1e6).toFixed(0)} ns each`);
}

/**
 * GET /me in a loop with and without the bun:sqlite hot-path reader (src/store/sessions.ts), to decide
 * whether that second SQLite driver earns its keep; alternating, ROUNDS times, each after a warm-up.
 */
async function readerCosts(): Promise<void> {
  const ROUNDS = 3;
  const REQUESTS = 3000;
  await using server = await startServer({ RATE_LIMITS: "off" });
  const { token } = await server.client.signUp();
  // The reader is private on purpose; this script alone switches it off and on.
  const sessions = server.deps.store.sessions as unknown as { reader?: unknown };
  const reader = sessions.reader;
  if (!reader) throw new Error("no reader: run with the default SQLite database");

  async function perRequestMicros(n: number): Promise<number> {
    const started = performance.now();
    for (let i = 0; i < n; i++) {
      const res = await fetch(`${server.url}/me`, { headers: { Authorization: `Bearer ${token}` } });
      await res.arrayBuffer();
    }
    return ((performance.now() - started) * 1000) / n;
  }

  for (let round = 1; round <= ROUNDS; round++) {
    sessions.reader = reader;
    await perRequestMicros(300);
    const withReader = await perRequestMicros(REQUESTS);
    sessions.reader = undefined;
    await perRequestMicros(300);
    const without = await perRequestMicros(REQUESTS);
    console.log(`round ${round}: GET /me ${withReader.toFixed(1)} µs with the reader, ${without.toFixed(1)} µs without`);
  }
  sessions.reader = reader;
}

await featureCosts();
await readerCosts();
