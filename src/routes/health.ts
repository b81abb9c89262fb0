// Liveness (the process answers) and readiness (its database and storage answer, within a bound).
import { json, type Ctx } from "../context.ts";
import { HttpError } from "../http/problem.ts";

const CHECK_TIMEOUT_MS = 2000;

export async function healthz(): Promise<Response> {
  return json({ status: "ok" });
}

async function probe(check: () => Promise<unknown>): Promise<"ok" | "unavailable"> {
  let timer: Timer | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("timed out")), CHECK_TIMEOUT_MS);
  });
  try {
    await Promise.race([check(), timeout]);
    return "ok";
  } catch {
    return "unavailable";
  } finally {
    clearTimeout(timer);
  }
}

export async function readyz(_req: Request, ctx: Ctx): Promise<Response> {
  const { store, storage } = ctx.deps;
  const [database, files] = await Promise.all([probe(() => store.ping()), probe(() => storage.check())]);
  const checks = { database, storage: files };
  if (database === "ok" && files === "ok") return json({ status: "ok", checks });
  throw new HttpError("service_unavailable", "A dependency is not answering.", { extensions: { checks } });
}
