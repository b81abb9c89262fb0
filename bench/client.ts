// Small client commands for bench/run.sh (run on the load-generator core):
//   bun bench/client.ts port                               print a free 127.0.0.1 port
//   bun bench/client.ts wait  <base>                       poll /healthz until 200 (20 s max)
//   bun bench/client.ts token <base> <email> <password>    register (must be new) + log in, print the access token
//   bun bench/client.ts check <base> <token>               GET /me once, fail unless 200 with a profile
//   bun bench/client.ts healthz <base> <n>                 n sequential GET /healthz, fail on any non-200
import { die, freePort, userToken, waitHealthy } from "./lib.ts";

const [command, ...args] = process.argv.slice(2);

switch (command) {
  case "port":
    console.log(freePort());
    break;
  case "wait":
    await waitHealthy(args[0]!);
    break;
  case "token":
    console.log(await userToken(args[0]!, args[1]!, args[2]!));
    break;
  case "check": {
    const res = await fetch(`${args[0]}/me`, { headers: { Authorization: `Bearer ${args[1]}` } });
    const body = (await res.json()) as { id?: number; email?: string };
    if (res.status !== 200 || typeof body.id !== "number") die(`GET /me answered ${res.status} ${JSON.stringify(body)}`);
    break;
  }
  case "healthz": {
    const n = Number(args[1]);
    for (let i = 0; i < n; i++) {
      const res = await fetch(`${args[0]}/healthz`);
      await res.arrayBuffer();
      if (res.status !== 200) die(`GET /healthz answered ${res.status}`);
    }
    break;
  }
  default:
    die(`unknown command ${command}`);
}
