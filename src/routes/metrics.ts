// GET /metrics for Prometheus. Open by default like most exporters (the numbers name routes, not
// people); METRICS_TOKEN makes it ask for a bearer token, METRICS=off turns it into a 404.
import { secretMatches, sha256 } from "../auth/opaque.ts";
import type { Ctx } from "../context.ts";
import { HttpError, unauthorized } from "../http/problem.ts";

export async function metrics(req: Request, ctx: Ctx): Promise<Response> {
  const { config } = ctx.deps;
  if (!config.metrics) throw new HttpError("not_found", "Metrics are turned off (METRICS=off).");
  if (config.metricsToken !== undefined) {
    const given = /^Bearer (.+)$/i.exec(req.headers.get("authorization") ?? "")?.[1] ?? "";
    // The same constant-time check as our other secrets, whatever the lengths.
    if (!secretMatches(given, sha256(config.metricsToken).toString("hex"))) throw unauthorized("invalid_token", "Metrics need the METRICS_TOKEN bearer token.");
  }
  return new Response(ctx.deps.metrics.render(), { headers: { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" } });
}
