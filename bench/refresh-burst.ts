// How long a burst of parallel refreshes of ONE token takes now that they take turns on its row
// (the reuse window, issue 9.11), against the same number of refreshes of distinct tokens.
// Usage: bun bench/refresh-burst.ts [sqlite|postgres] [burst=50] [rounds=10]   (PostgreSQL: 127.0.0.1:5432)
import { startServer } from "../test/helpers/server.ts";

const database = process.argv[2] === "postgres" ? "postgres" : "sqlite";
const burst = Number(process.argv[3] ?? 50);
const rounds = Number(process.argv[4] ?? 10);
const server = await startServer({ DATABASE_POOL_SIZE: "10" }, { database });
const refresh = (token: string) => server.client.send("POST", "/token/refresh", { json: { refresh_token: token } });

async function timed(tokens: string[]): Promise<number> {
  const start = performance.now();
  const replies = await Promise.all(tokens.map(refresh));
  const elapsed = performance.now() - start;
  if (replies.some((r) => r.status !== 200)) throw new Error(`not all 200: ${replies.map((r) => r.status)}`);
  return elapsed;
}

const median = (xs: number[]) => xs.toSorted((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const same: number[] = [];
const distinct: number[] = [];
for (let round = 0; round < rounds; round++) {
  const user = await server.client.signUp();
  same.push(await timed(Array(burst).fill(user.refresh)));
  const logins = await Promise.all(Array.from({ length: burst }, () => server.client.login(user.email)));
  distinct.push(await timed(logins.map((l) => l.body.refresh_token)));
}
console.log(JSON.stringify({ database, burst, rounds, sameTokenMedianMs: +median(same).toFixed(1), distinctTokensMedianMs: +median(distinct).toFixed(1) }));
await server.close();
