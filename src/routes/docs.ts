// The API's own description: GET /openapi.json (built in src/openapi/) and GET /docs, Swagger UI
// served from our own files under a CSP that allows nothing but this origin.
import type { Config } from "../config.ts";
import type { Ctx } from "../context.ts";
import { notModified } from "../http/conditional.ts";
import { HttpError } from "../http/problem.ts";
import { openApiDocument } from "../openapi/document.ts";
import { asset, page } from "../openapi/swagger-ui.ts";

// The document depends on the config (password length, upload size), so one per config.
const documents = new WeakMap<Config, string>();

export async function openApi(_req: Request, ctx: Ctx): Promise<Response> {
  const { config } = ctx.deps;
  let text = documents.get(config);
  if (text === undefined) {
    text = JSON.stringify(openApiDocument({ passwordMinLength: config.passwordMinLength, maxUploadBytes: config.maxUploadBytes }));
    documents.set(config, text);
  }
  return new Response(text, { headers: { "Content-Type": "application/json", "Cache-Control": "no-cache" } });
}

// No 'unsafe-inline' anywhere: Swagger UI sets styles through the DOM (which style-src allows) and
// draws its icons from data: URLs. Tested in Chromium, which reports any violation.
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join("; ");

export async function docsPage(_req: Request, _ctx: Ctx): Promise<Response> {
  return new Response(await page(), {
    headers: { "Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": CSP, "Referrer-Policy": "no-referrer", "Cache-Control": "no-cache" },
  });
}

const YEAR = 365 * 24 * 3600;

/** Swagger UI's files; their URLs carry a version, so caches may keep them for a year. */
export async function docsAsset(req: Request, ctx: Ctx): Promise<Response> {
  const file = await asset(ctx.params.name ?? "");
  if (!file) throw new HttpError("not_found", "No such file.");
  const headers: Record<string, string> = {
    "Content-Type": file.type,
    ETag: file.etag,
    "Cache-Control": `public, max-age=${YEAR}, immutable`,
  };
  if (file.gzip) headers.Vary = "Accept-Encoding";
  if (notModified(req, { etag: file.etag }, ctx.deps.clock())) return new Response(null, { status: 304, headers });
  if (file.gzip && acceptsGzip(req.headers.get("accept-encoding") ?? "")) {
    return new Response(file.gzip, { headers: { ...headers, "Content-Encoding": "gzip" } });
  }
  return new Response(file.bytes, { headers });
}

/** RFC 9110 §12.5.3: `gzip` (or `*`) listed with a q-value above zero; `gzip;q=0` means "not gzip". */
export function acceptsGzip(header: string): boolean {
  let star: boolean | undefined;
  for (const entry of header.split(",")) {
    const [coding, ...params] = entry.trim().toLowerCase().split(";");
    const q = params.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
    const wanted = q === undefined || Number(q) > 0;
    if (coding === "gzip") return wanted;
    if (coding === "*") star = wanted;
  }
  return star ?? false;
}
