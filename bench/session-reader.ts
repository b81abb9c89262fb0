// GET /me in a loop with and without the bun:sqlite hot-path reader (src/store/sessions.ts), to
// decide whether that second SQLite driver earns its keep: `bun bench/session-reader.ts`.
import { startServer } from "../test/helpers/server.ts";

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
