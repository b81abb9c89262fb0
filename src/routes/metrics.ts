// GET /metrics for Prometheus. Open by default like most exporters (the numbers name routes, not
// people); METRICS_TOKEN makes it ask for a bearer token, METRICS=off turns it into a 404.
import { timingSafeEqual } from "node:crypto";
import type { Ctx } from "../context.ts";
import { HttpError, unauthorized } from "../http/problem.ts";

const sha256 = (text: string) => new Bun.CryptoHasher("sha256").update(text).digest();

export async function metrics(req: Request, ctx: Ctx): Promise<Response> {
  const { config } = ctx.deps;
  if (!config.metrics) throw new HttpError("not_found", "Metrics are turned off (METRICS=off).");
  if (config.metricsToken !== undefined) {
    const given = /^Bearer (.+)$/i.exec(req.headers.get("authorization") ?? "")?.[1] ?? "";
    // Hashed first so the comparison is constant-time whatever the lengths.
    if (!timingSafeEqual(sha256(given), sha256(config.metricsToken))) throw unauthorized("invalid_token", "Metrics need the METRICS_TOKEN bearer token.");
  }
  return new Response(ctx.deps.metrics.render(), { headers: { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" } });
}
