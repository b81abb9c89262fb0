// The service's own routes, about the process rather than an account: liveness and readiness, the
// public /metrics (behind its own token), and the JWKS that lets other services verify our tokens.
import { json, type Ctx } from "../context.ts";
import { HttpError, unauthorized } from "../http/problem.ts";
import { metricsResponse, tokenMatches } from "../metrics/listener.ts";

// A readiness check that has not answered by then counts as unavailable.
const CHECK_TIMEOUT_MS = 2000;

/** GET /healthz: the process answers. */
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

/** GET /readyz: its database and storage answer, each within a bound. */
export async function readyz(_req: Request, ctx: Ctx): Promise<Response> {
  const { store, storage } = ctx.deps;
  const [database, files] = await Promise.all([probe(() => store.ping()), probe(() => storage.check())]);
  const checks = { database, storage: files };
  if (database === "ok" && files === "ok") return json({ status: "ok", checks });
  throw new HttpError("service_unavailable", "A dependency is not answering.", { extensions: { checks } });
}

/**
 * GET /metrics on the public listener: a 404 unless METRICS_TOKEN is set, then for that bearer token
 * only, and the public view (src/metrics/index.ts). Prometheus normally scrapes the management
 * listener instead (METRICS_PORT, src/metrics/listener.ts), which the outside does not reach.
 */
export async function metrics(req: Request, ctx: Ctx): Promise<Response> {
  const { config } = ctx.deps;
  if (!config.metrics || config.metricsToken === undefined) {
    throw new HttpError("not_found", "Metrics are served on the management port (METRICS_PORT), and here only when METRICS_TOKEN is set.");
  }
  if (!tokenMatches(req, config.metricsToken)) throw unauthorized("invalid_token", "Metrics need the METRICS_TOKEN bearer token.");
  return metricsResponse(ctx.deps.metrics.render("public"));
}

// Verifiers may cache the key set this long; a new key is listed (second) at least this long before it
// signs (the rotation procedure in docs/operations.md), so no cached copy lacks the key of a token.
export const JWKS_MAX_AGE_SECONDS = 300;

/**
 * GET /.well-known/jwks.json: the public keys access tokens are signed with (RFC 7517), so another
 * service verifies our tokens with any JWT library and no shared secret. HS256 publishes none.
 */
export async function jwks(_req: Request, ctx: Ctx): Promise<Response> {
  // With HS256 an empty set, not a 404: a verifier finds no key and refuses, the same as for an unknown kid.
  return json(ctx.deps.accessTokens.jwks(), 200, {
    "Content-Type": "application/jwk-set+json",
    "Cache-Control": `public, max-age=${JWKS_MAX_AGE_SECONDS}`,
  });
}
