// The route table, each entry declaring its route completely, and the server built from it. Nothing
// runs at import: `createServer` takes its dependencies and a port, so tests start many servers.
import type { Server } from "bun";
import type { Deps, Handler } from "./context.ts";
import { lastResortHandler, notFoundHandler, routeHandler } from "./http/pipeline.ts";
import { operations as op, type Operation } from "./openapi/operations.ts";
import type { LimitName } from "./ratelimit/limiter.ts";
import * as accounts from "./routes/accounts.ts";
import * as auth from "./routes/auth.ts";
import * as avatar from "./routes/avatar.ts";
import * as docs from "./routes/docs.ts";
import * as images from "./routes/images.ts";
import * as links from "./routes/mailed-links.ts";
import * as pages from "./routes/pages.ts";
import * as service from "./routes/service.ts";
import * as statics from "./routes/static.ts";

export type Method = "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE";

/**
 * Who may call a route, checked by the pipeline (src/http/auth.ts) before the handler runs:
 * - `public`: anyone (a handler may still look at an optional bearer token itself);
 * - `user`: a valid bearer token; the account acted on is the caller's own;
 * - `self-or-admin`: a valid bearer token, and the route's `:id` is the caller or the caller is an admin;
 * - `admin`: a valid bearer token of an admin.
 */
export type Access = "public" | "user" | "self-or-admin" | "admin";

/** What one entry says about its route; the pipeline and the OpenAPI document both read it. */
export type Entry = {
  handler: Handler;
  access: Access;
  /** A limit keyed by the client's address, taken before anything else. Limits keyed by what the body names stay with the domain code. */
  limit?: LimitName;
  operation: Operation;
};

export type Route = Partial<Record<Method, Entry>>;

/** Another name for a route, kept for older clients: the same entries, for all or some of its methods. */
export type Alias = { alias: string; methods?: Method[] };

const alias = (canonical: string, methods?: Method[]): Alias => ({ alias: canonical, methods });

export const isAlias = (value: Route | Alias): value is Alias => "alias" in value;

/** The entries an alias serves: its canonical route's, for the methods it keeps. */
export function resolve(table: Record<string, Route | Alias>, value: Route | Alias): Route {
  if (!isAlias(value)) return value;
  const canonical = table[value.alias];
  if (canonical === undefined || isAlias(canonical)) throw new TypeError(`alias of ${value.alias}, which is not a route`);
  if (value.methods === undefined) return canonical;
  return Object.fromEntries(value.methods.map((method) => [method, canonical[method]]));
}

/** One account read, changed or deleted: the same handlers on /me and /users/:id, told apart by access. */
const account = (access: Access, read: Operation, update: Operation, remove: Operation): Route => ({
  GET: { handler: accounts.read, access, operation: read },
  PUT: { handler: accounts.update, access, operation: update },
  DELETE: { handler: accounts.remove, access, operation: remove },
});

export type RouteTable = Record<string, Route | Alias>;

// Each entry: handler, who may call it (Access, above), the per-address limit, its OpenAPI operation.
export const routes: RouteTable = {
  "/register": { POST: { handler: auth.register, access: "public", limit: "register_ip", operation: op.register } },
  "/login": { POST: { handler: auth.login, access: "public", limit: "login_ip", operation: op.login } },
  "/token/refresh": { POST: { handler: auth.refresh, access: "public", limit: "refresh_ip", operation: op.refreshTokens } },
  "/logout": { POST: { handler: auth.logout, access: "public", operation: op.logout } },
  "/me": account("user", op.getMe, op.updateMe, op.deleteMe),
  "/me/upload-image": { POST: { handler: images.upload, access: "user", operation: op.uploadImage } },
  "/me/image": { DELETE: { handler: images.remove, access: "user", operation: op.deleteImage } },
  "/me/sessions": { GET: { handler: auth.listSessions, access: "user", operation: op.listMySessions } },
  "/me/sessions/:sid": { DELETE: { handler: auth.endSession, access: "user", operation: op.endMySession } },
  "/password/forgot": { POST: { handler: links.forgotPassword, access: "public", limit: "forgot_ip", operation: op.forgotPassword } },
  "/password/reset": { POST: { handler: links.resetPassword, access: "public", limit: "link_ip", operation: op.resetPassword } },
  "/email/verify": { POST: { handler: links.verifyEmail, access: "public", limit: "link_ip", operation: op.verifyEmail } },
  // Signed in or not; signed out it counts against forgot_ip (src/routes/mailed-links.ts).
  "/email/verify/resend": { POST: { handler: links.resendVerification, access: "public", operation: op.resendVerification } },
  "/users": { GET: { handler: accounts.list, access: "admin", operation: op.listUsers } },
  "/users/:id": account("self-or-admin", op.getUser, op.updateUser, op.deleteUser),
  "/users/:id/profile-picture": {
    POST: { handler: images.upload, access: "self-or-admin", operation: op.uploadUserPicture },
    DELETE: { handler: images.remove, access: "self-or-admin", operation: op.deleteUserPicture },
  },
  // Public, like pictures: a 302 to the picture, or a generated default avatar.
  "/users/:id/avatar": { GET: { handler: avatar.avatar, access: "public", operation: op.userAvatar } },
  "/users/:id/sessions": { GET: { handler: auth.listSessions, access: "self-or-admin", operation: op.listUserSessions } },
  "/users/:id/sessions/:sid": { DELETE: { handler: auth.endSession, access: "self-or-admin", operation: op.endUserSession } },
  "/static/profile/:file": { GET: { handler: statics.profileImage, access: "public", operation: op.profileImage } },
  "/static/p/:owner/:object": { GET: { handler: statics.pictureObject, access: "public", operation: op.pictureObject } },
  "/verify-email": { GET: { handler: pages.verifyEmailPage, access: "public", operation: op.verifyEmailPage } },
  "/reset-password": { GET: { handler: pages.resetPasswordPage, access: "public", operation: op.resetPasswordPage } },
  "/healthz": { GET: { handler: service.healthz, access: "public", operation: op.healthz } },
  "/readyz": { GET: { handler: service.readyz, access: "public", operation: op.readyz } },
  // Its own bearer token (METRICS_TOKEN), not a user's.
  "/metrics": { GET: { handler: service.metrics, access: "public", operation: op.metrics } },
  "/.well-known/jwks.json": { GET: { handler: service.jwks, access: "public", operation: op.jwks } },
  "/openapi.json": { GET: { handler: docs.openApi, access: "public", operation: op.openApi } },
  "/docs": { GET: { handler: docs.docsPage, access: "public", operation: op.docsPage } },
  "/docs/assets/:name": { GET: { handler: docs.docsAsset, access: "public", operation: op.docsAsset } },

  // Aliases: the names older clients were written against, for the same entries. Their bodies' own
  // names (`username` or `user` for `name`, the OAuth2 password form) are src/http/validate.ts's.
  "/auth/signup": alias("/register"),
  "/auth/login": alias("/login"),
  "/profile/me": alias("/me", ["GET", "PUT"]),
  "/users/register": alias("/register"),
  "/users/login": alias("/login"),
  "/users/me": alias("/me"),
  "/profile/:id": alias("/users/:id", ["GET", "PUT"]),
};

// Bodies are limited per route while reading (64 KiB JSON, MAX_UPLOAD_BYTES uploads). Bun's own
// limit would answer a bare 413 before our handler runs, so it is set out of the way.
const MAX_REQUEST_BODY = Number.MAX_SAFE_INTEGER;

export function createServer(deps: Deps, listen: { hostname: string; port: number }): Server<undefined> {
  return Bun.serve({
    hostname: listen.hostname,
    port: listen.port,
    maxRequestBodySize: MAX_REQUEST_BODY,
    // Explicit, as `development: false` alone lets a second process share the port unnoticed.
    reusePort: deps.config.reusePort,
    // Held connections cost a file descriptor each: one that sends nothing for this long is closed.
    idleTimeout: deps.config.idleTimeoutSeconds,
    routes: Object.fromEntries(Object.entries(routes).map(([path, value]) => [path, routeHandler(path, resolve(routes, value), deps)])),
    fetch: notFoundHandler(deps),
    // Only reached if a response body fails after our handler returned; never Bun's own error page.
    error: lastResortHandler(deps),
    development: false,
  });
}
