// The management listener: GET /metrics on its own port (METRICS_PORT, 9464) and address
// (METRICS_HOST, loopback), so the full figures never share a port with the public API.
import type { Server } from "bun";
import { secretMatches, sha256 } from "../auth/session.ts";
import type { Deps } from "../context.ts";
import { describeError } from "../log.ts";

export const metricsResponse = (text: string) => new Response(text, { headers: { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" } });

/** `Authorization: Bearer <token>`, with the same constant-time check as our other secrets, whatever the lengths. */
export function tokenMatches(req: Request, token: string): boolean {
  const given = /^Bearer (.+)$/i.exec(req.headers.get("authorization") ?? "")?.[1] ?? "";
  return secretMatches(given, sha256(token).toString("hex"));
}

const plain = (status: number, text: string, headers: Record<string, string> = {}) =>
  new Response(`${text}\n`, { status, headers: { "Content-Type": "text/plain; charset=utf-8", ...headers } });

/** Answers only GET /metrics; METRICS_TOKEN, when set, is asked for here too (in case METRICS_HOST is widened). */
function handler(deps: Pick<Deps, "config" | "metrics">) {
  const { metricsToken } = deps.config;
  return (req: Request): Response => {
    if (new URL(req.url).pathname !== "/metrics") return plain(404, "Not found: this port serves GET /metrics only.");
    if (req.method !== "GET" && req.method !== "HEAD") return plain(405, "Method not allowed.", { Allow: "GET, HEAD" });
    if (metricsToken !== undefined && !tokenMatches(req, metricsToken)) {
      return plain(401, "Metrics need the METRICS_TOKEN bearer token.", { "WWW-Authenticate": 'Bearer realm="metrics"' });
    }
    return metricsResponse(deps.metrics.render("management"));
  };
}

/**
 * Starts the management listener, or nothing when METRICS=off. A port taken by someone else stops
 * the start if METRICS_PORT was set; with the default port (two instances on one host) it is a
 * warning and the service runs without it. The caller stops the server it gets on shutdown.
 */
export function startMetricsListener(deps: Pick<Deps, "config" | "metrics" | "log">): Server<undefined> | undefined {
  const { config } = deps;
  if (!config.metrics) return undefined;
  let server: Server<undefined>;
  try {
    server = Bun.serve({ hostname: config.metricsHost, port: config.metricsPort, fetch: handler(deps), development: false });
  } catch (err) {
    const where = `${config.metricsHost}:${config.metricsPort}`;
    if (config.metricsPortExplicit || (err as { code?: string }).code !== "EADDRINUSE") {
      throw new Error(`cannot serve metrics on ${where} (METRICS_HOST, METRICS_PORT): ${(err as Error).message}`, { cause: err });
    }
    deps.log.warn("metrics listener not started: its default port is in use; set METRICS_PORT", { address: where, ...describeError(err), stack: undefined });
    return undefined;
  }
  deps.log.info("metrics listening", { url: `http://${server.hostname}:${server.port}/metrics` });
  return server;
}
