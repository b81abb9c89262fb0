// Measures what a client sees when PostgreSQL or Redis goes silent (black-holed through a proxy, no
// FIN or RST) and heals: status codes during the outage, and time from the heal to the first success.
// Usage: bun bench/silent-outage.ts   (machine's PostgreSQL and Redis on 127.0.0.1; about 40 s)
import { RedisClient } from "bun";
import { POSTGRES_URL } from "../test/helpers/database.ts";
import { startServer, type TestServer } from "../test/helpers/server.ts";
import { TcpProxy } from "../test/helpers/tcp-proxy.ts";

const OUTAGE_MS = 8000;

async function get(server: TestServer, token: string): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  const status = await server.client
    .send("GET", "/me", { token })
    .then((r) => r.status)
    .catch(() => 0); // 0: empty reply / connection closed
  return { status, ms: Math.round(performance.now() - started) };
}

/** busy: requests all through the outage; idle: none until the heal, so the pool's connections are stuck. */
async function postgres(mode: "busy" | "idle"): Promise<void> {
  const upstream = new URL(POSTGRES_URL);
  const proxy = await TcpProxy.start({ hostname: upstream.hostname, port: Number(upstream.port || 5432) });
  const through = new URL(POSTGRES_URL);
  through.port = String(proxy.port);
  await using server = await startServer({}, { database: "postgres", postgresUrl: through.toString() });
  const user = await server.client.signUp();
  await get(server, user.token);
  proxy.blackhole();
  const during: Array<{ status: number; ms: number }> = [];
  const outageEnds = performance.now() + OUTAGE_MS;
  if (mode === "busy") while (performance.now() < outageEnds) during.push(await get(server, user.token));
  else await Bun.sleep(OUTAGE_MS);
  const ready = await server.client.send("GET", "/readyz");
  proxy.restore();
  const healed = performance.now();
  const after: Array<{ status: number; ms: number }> = [];
  while (performance.now() - healed < 20_000) {
    const reply = await get(server, user.token);
    after.push(reply);
    if (reply.status === 200) break;
  }
  console.log(
    `postgres (${mode}, DATABASE_TIMEOUT_MS default): during ${JSON.stringify(during)}; /readyz during ${ready.status}; ` +
      `after the heal ${JSON.stringify(after)}; first 200 at ${Math.round(performance.now() - healed)} ms`,
  );
  proxy.stop();
}

async function redis(): Promise<void> {
  const upstream = new URL(process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379");
  const proxy = await TcpProxy.start({ hostname: upstream.hostname, port: Number(upstream.port || 6379) });
  const through = new URL(upstream);
  through.port = String(proxy.port);
  const prefix = `bench:${crypto.randomUUID()}:`;
  const direct = new RedisClient(upstream.toString());
  await using server = await startServer({ RATE_LIMITS: "on", RATE_LIMIT_LOGIN_IP: "1000/300", REDIS_URL: through.toString(), REDIS_KEY_PREFIX: prefix });
  const user = await server.client.signUp();
  const total = async () => {
    let sum = 0;
    for (const key of (await direct.send("KEYS", [`${prefix}*`])) as string[]) sum += Number(await direct.get(key));
    return sum;
  };
  const login = async () => {
    const started = performance.now();
    const status = (await server.client.login(user.email)).status;
    return { status, ms: Math.round(performance.now() - started) };
  };
  proxy.blackhole();
  const during = [];
  for (let i = 0; i < 5; i++) {
    during.push(await login());
    await Bun.sleep(500);
  }
  const before = await total();
  proxy.restore();
  const healed = performance.now();
  while ((await total()) === before && performance.now() - healed < 20_000) {
    await login();
    await Bun.sleep(100);
  }
  console.log(`redis: logins during ${JSON.stringify(during)}; counts on Redis again ${Math.round(performance.now() - healed)} ms after the heal`);
  console.log(server.logs.filter((line) => /rate limit/.test(line)).join("\n"));
  for (const key of (await direct.send("KEYS", [`${prefix}*`])) as string[]) await direct.del(key);
  direct.close();
  proxy.stop();
}

await postgres("busy");
await postgres("idle");
await redis();
process.exit(0);
