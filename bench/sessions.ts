// What the sessions feature adds: the per-login device record (SessionStore.rememberLogin), a list
// of sessions, and the per-request "last used" check when no write is due. Run: bun bench/sessions.ts
import { startServer } from "../test/helpers/server.ts";

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
