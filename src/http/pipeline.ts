// What wraps every handler: request id, 405 with Allow, CORS, the entry's rate limit and access
// rule, problem+json for errors, security headers, one access-log line. Bun matches the path.
import type { Server } from "bun";
import type { Ctx, Deps } from "../context.ts";
import { isUnavailable, StoreUnavailableError } from "../store/index.ts";
import { describeError } from "../log.ts";
import { authorize, type Acting } from "./auth.ts";
import { discardBody } from "./body.ts";
import { HttpError, problemResponse, toHttpError } from "./problem.ts";
import type { Entry, Route } from "../app.ts";

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const METRIC_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);
const CORS_ALLOWED_HEADERS = "Authorization, Content-Type, X-Request-Id";

type Methods = Route & Partial<Record<string, Entry>>;

function allowedMethods(methods: Route): string[] {
  const names = Object.keys(methods);
  if (names.includes("GET") && !names.includes("HEAD")) names.push("HEAD");
  return [...names, "OPTIONS"];
}

function corsOrigin(req: Request, deps: Deps): string | undefined {
  const allowed = deps.config.corsOrigins;
  if (allowed.length === 0) return undefined;
  const origin = req.headers.get("origin");
  if (origin === null) return undefined;
  if (allowed.includes("*")) return "*";
  return allowed.includes(origin) ? origin : undefined;
}

function preflight(req: Request, allow: string[], deps: Deps): Response {
  const headers: Record<string, string> = { Allow: allow.join(", ") };
  const origin = corsOrigin(req, deps);
  if (origin !== undefined && req.headers.has("access-control-request-method")) {
    Object.assign(headers, {
      "Access-Control-Allow-Methods": allow.join(", "),
      "Access-Control-Allow-Headers": CORS_ALLOWED_HEADERS,
      "Access-Control-Max-Age": "600",
    });
  }
  return new Response(null, { status: 204, headers });
}

/**
 * How much of a refused request's body is read and dropped, beyond the largest upload: enough for
 * any body a client could mean to send here. Past it the connection is closed on the unread rest,
 * and a client still sending may see a reset instead of the status.
 */
export const LINGER_EXTRA_BYTES = 8 * 1024 * 1024;

/**
 * A refusal that every client can read although its body was not (a lingering close, done by
 * hand). Closing on unread input makes the kernel reset the connection, and a client still writing
 * (Node's fetch and http.request) then reports EPIPE, never the status. So the rest of the body is
 * read and dropped, up to `cap`. A declared length on a kept-alive connection Bun drains itself,
 * after the answer, so the answer goes out at once. Where Bun would close right after answering
 * (the client said `Connection: close`) and for a chunked body, whose end alone says how long it
 * was, it is drained here first. Past `cap` the connection is closed on the rest.
 */
async function refusal(req: Request, res: Response, cap: number): Promise<Response> {
  const declared = req.headers.get("content-length");
  if (declared !== null && Number(declared) > cap) {
    res.headers.set("Connection", "close");
    return res;
  }
  const closing = /(^|,)\s*close\s*(,|$)/i.test(req.headers.get("connection") ?? "");
  if (declared === null || closing) {
    if (!(await discardBody(req, cap))) res.headers.set("Connection", "close");
  }
  return res;
}

function finish(req: Request, res: Response, ctx: Ctx, route: string, started: number): Response | Promise<Response> {
  const headers = res.headers;
  // Answers made by json() (src/context.ts) carry the first two already.
  if (!headers.has("X-Content-Type-Options")) headers.set("X-Content-Type-Options", "nosniff");
  if (!headers.has("Cache-Control")) headers.set("Cache-Control", "no-store");
  headers.set("X-Request-Id", ctx.requestId);
  const { corsOrigins } = ctx.deps.config;
  if (corsOrigins.length > 0) {
    if (!corsOrigins.includes("*")) headers.append("Vary", "Origin");
    const origin = corsOrigin(req, ctx.deps);
    if (origin !== undefined) {
      headers.set("Access-Control-Allow-Origin", origin);
      headers.set("Access-Control-Expose-Headers", "X-Request-Id, WWW-Authenticate, Retry-After, ETag");
    }
  }
  const elapsedMs = performance.now() - started;
  // Bun accepts some 35 methods (PROPFIND, MKCALENDAR, …); each would add series to every route for
  // anyone who cares to send it, so all but the usual ones share one label.
  const method = METRIC_METHODS.has(req.method) ? req.method : "other";
  ctx.deps.metrics.observeRequest(route, method, res.status, elapsedMs / 1000);
  if (ctx.deps.config.accessLog) {
    ctx.deps.log.request({
      requestId: ctx.requestId,
      method: req.method,
      route,
      status: res.status,
      durationMs: Math.round(elapsedMs * 100) / 100,
      userId: ctx.userId,
      problem: ctx.problem,
      ip: ctx.ip(),
    });
  }
  if (res.status >= 400 && req.body !== null) return refusal(req, res, ctx.deps.config.maxUploadBytes + LINGER_EXTRA_BYTES);
  return res;
}

// A failure that came from the database driver rather than from our code.
const isQueryError = (err: unknown) => /^(SQLITE_|ERR_POSTGRES_)/.test(String((err as { code?: unknown } | null)?.code ?? ""));

/** A database that is not answering, counted; the store's coded errors map through toHttpError alone. */
function storeError(err: unknown, deps: Deps): HttpError | undefined {
  if (!isUnavailable(err)) return undefined;
  deps.metrics.databaseErrors.inc({ kind: "unavailable" });
  return toHttpError(err instanceof StoreUnavailableError ? err : new StoreUnavailableError(err));
}

function failure(err: unknown, ctx: Ctx, route: string): Response {
  const error = storeError(err, ctx.deps) ?? toHttpError(err);
  ctx.problem = error.code;
  if (error.code === "internal_error" && isQueryError(err)) ctx.deps.metrics.databaseErrors.inc({ kind: "query" });
  // Once per failed request, with what the client never sees: the cause and where it came from.
  if (error.status >= 500) {
    const fields = { request_id: ctx.requestId, route, code: error.code, ...describeError(error.cause ?? err) };
    // A refusal by design (busy, a dependency down) is news, not a bug: a warning without a stack.
    if (error.expected) ctx.deps.log.warn("request refused", { ...fields, stack: undefined });
    else ctx.deps.log.error("request failed", fields);
  }
  return problemResponse(error);
}

/** With N trusted proxies in front, the client is the Nth address from the right of X-Forwarded-For. */
function clientIp(req: Request, socketIp: () => string, trustProxy: number): string {
  if (trustProxy === 0) return socketIp();
  const forwarded = (req.headers.get("x-forwarded-for") ?? "").split(",").map((part) => part.trim()).filter(Boolean);
  // Fewer entries than proxies means the chain is not what we were told: trust only the socket.
  return forwarded[forwarded.length - trustProxy] ?? socketIp();
}

function newContext(req: Request, deps: Deps, params: Record<string, string>, server?: Server<undefined>): Ctx {
  const given = req.headers.get("x-request-id");
  const requestId = given !== null && SANE_REQUEST_ID.test(given) ? given : crypto.randomUUID();
  let ip: string | undefined;
  // Asking the socket is a system call per request in Bun; behind proxies the header usually answers.
  const socketIp = () => server?.requestIP(req)?.address ?? "unknown";
  const lookup = () => (ip ??= clientIp(req, socketIp, deps.config.trustProxy));
  return { deps, params, requestId, ip: lookup };
}

/** HEAD answers with GET's headers, including the length of the body it does not send. */
async function withoutBody(res: Response): Promise<Response> {
  const headers = new Headers(res.headers);
  if (!headers.has("Content-Length")) headers.set("Content-Length", String((await res.arrayBuffer()).byteLength));
  return new Response(null, { status: res.status, headers });
}

/** The entry's limit (per client address) and access rule, then its handler; waits only where one of them must. */
function run(entry: Entry, req: Request, ctx: Ctx): Response | Promise<Response> {
  if (entry.limit !== undefined) return ctx.deps.limiter.take(entry.limit, ctx.ip()).then(() => admitted(entry, req, ctx));
  return admitted(entry, req, ctx);
}

function admitted(entry: Entry, req: Request, ctx: Ctx): Response | Promise<Response> {
  // Nearly always known without waiting (src/http/auth.ts); a promise would cost a turn of the queue.
  const acting = authorize(entry.access, req, ctx);
  return acting instanceof Promise ? acting.then((known) => handle(entry, req, ctx, known)) : handle(entry, req, ctx, acting);
}

function handle(entry: Entry, req: Request, ctx: Ctx, acting: Acting | undefined): Response | Promise<Response> {
  ctx.acting = acting;
  if (acting) ctx.deps.sessions.touch(acting.sessionId); // "last used", written at most once a minute
  return entry.handler(req, ctx);
}

/** One Bun route: dispatches on method, answering OPTIONS and 405 itself. */
export function routeHandler(route: string, methods: Methods, deps: Deps) {
  const allow = allowedMethods(methods);
  return (req: Request & { params?: Record<string, string> }, server: Server<undefined>): Response | Promise<Response> => {
    const started = performance.now();
    const ctx = newContext(req, deps, req.params ?? {}, server);
    let res: Response | Promise<Response>;
    try {
      const entry = methods[req.method] ?? (req.method === "HEAD" ? methods.GET : undefined);
      if (entry) res = run(entry, req, ctx);
      else if (req.method === "OPTIONS") res = preflight(req, allow, deps);
      else {
        throw new HttpError("method_not_allowed", `${req.method} is not allowed here.`, {
          headers: { Allow: allow.join(", ") },
        });
      }
    } catch (err) {
      res = failure(err, ctx, route);
    }
    // An answer known at once goes back as it is: Bun sends a Response returned synchronously without
    // the promise a handler's `async` would add (GET /me from the session cache is nearly every request).
    if (!(res instanceof Promise)) return completed(req, res, ctx, route, started);
    return res.then(
      (answer) => completed(req, answer, ctx, route, started),
      (err) => completed(req, failure(err, ctx, route), ctx, route, started),
    );
  };
}

function completed(req: Request, res: Response, ctx: Ctx, route: string, started: number): Response | Promise<Response> {
  if (req.method === "HEAD" && res.body !== null) return withoutBody(res).then((bare) => finish(req, bare, ctx, route, started));
  return finish(req, res, ctx, route, started);
}

export function notFoundHandler(deps: Deps) {
  return (req: Request, server: Server<undefined>): Response | Promise<Response> => {
    const ctx = newContext(req, deps, {}, server);
    ctx.problem = "not_found";
    return finish(req, problemResponse(new HttpError("not_found", "No such route.")), ctx, "(unmatched)", performance.now());
  };
}

/** Bun's `error` hook: the same bare 500 as any unknown failure, with the cause in the log only. */
export function lastResortHandler(deps: Deps) {
  return (err: Error): Response => {
    deps.log.error("response failed", { request_id: undefined, ...describeError(err) });
    const res = problemResponse(toHttpError(err));
    res.headers.set("X-Content-Type-Options", "nosniff");
    return res;
  };
}
