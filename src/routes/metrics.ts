// GET /metrics on the public listener: a 404 unless METRICS_TOKEN is set, then for that bearer token
// only, and the public view (src/metrics/index.ts). Prometheus normally scrapes the management
// listener instead (METRICS_PORT, src/metrics/listener.ts), which the outside does not reach.
import type { Ctx } from "../context.ts";
import { HttpError, unauthorized } from "../http/problem.ts";
import { metricsResponse, tokenMatches } from "../metrics/listener.ts";

export async function metrics(req: Request, ctx: Ctx): Promise<Response> {
  const { config } = ctx.deps;
  if (!config.metrics || config.metricsToken === undefined) {
    throw new HttpError("not_found", "Metrics are served on the management port (METRICS_PORT), and here only when METRICS_TOKEN is set.");
  }
  if (!tokenMatches(req, config.metricsToken)) throw unauthorized("invalid_token", "Metrics need the METRICS_TOKEN bearer token.");
  return metricsResponse(ctx.deps.metrics.render("public"));
}
