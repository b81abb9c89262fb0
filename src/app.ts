// The route table, each entry declaring its route completely, and the server built from it. Nothing
// runs at import: `createServer` takes its dependencies and a port, so tests start many servers.
import type { Server } from "bun";
import type { Deps } from "./context.ts";
import { lastResortHandler, notFoundHandler, routeHandler } from "./http/pipeline.ts";
import { alias, resolve, type Alias, type Route } from "./http/route.ts";
import { operations as op } from "./openapi/operations.ts";
import * as accounts from "./routes/accounts.ts";
import * as auth from "./routes/auth.ts";
import * as avatar from "./routes/avatar.ts";
import * as docs from "./routes/docs.ts";
import * as health from "./routes/health.ts";
import * as images from "./routes/images.ts";
import * as jwks from "./routes/jwks.ts";
import * as links from "./routes/mailed-links.ts";
import * as metrics from "./routes/metrics.ts";
import * as pages from "./routes/pages.ts";
import * as sessions from "./routes/sessions.ts";
import * as statics from "./routes/static.ts";
import * as users from "./routes/users.ts";

export type RouteTable = Record<string, Route | Alias>;

// Each entry: handler, who may call it (src/http/route.ts), the per-address limit, its OpenAPI operation.
export const routes: RouteTable = {
  "/register": { POST: { handler: auth.register, access: "public", limit: "register_ip", operation: op.register } },
  "/login": { POST: { handler: auth.login, access: "public", limit: "login_ip", operation: op.login } },
  "/token/refresh": { POST: { handler: auth.refresh, access: "public", limit: "refresh_ip", operation: op.refreshTokens } },
  "/logout": { POST: { handler: auth.logout, access: "public", operation: op.logout } },
  "/me": {
    GET: { handler: accounts.read, access: "user", operation: op.getMe },
    PUT: { handler: accounts.update, access: "user", operation: op.updateMe },
    DELETE: { handler: accounts.remove, access: "user", operation: op.deleteMe },
  },
  "/me/upload-image": { POST: { handler: images.upload, access: "user", operation: op.uploadImage } },
  "/me/image": { DELETE: { handler: images.remove, access: "user", operation: op.deleteImage } },
  "/me/sessions": { GET: { handler: sessions.list, access: "user", operation: op.listMySessions } },
  "/me/sessions/:sid": { DELETE: { handler: sessions.end, access: "user", operation: op.endMySession } },
  "/password/forgot": { POST: { handler: links.forgotPassword, access: "public", limit: "forgot_ip", operation: op.forgotPassword } },
  "/password/reset": { POST: { handler: links.resetPassword, access: "public", limit: "link_ip", operation: op.resetPassword } },
  "/email/verify": { POST: { handler: links.verifyEmail, access: "public", limit: "link_ip", operation: op.verifyEmail } },
  // Signed in or not; signed out it counts against forgot_ip (src/routes/mailed-links.ts).
  "/email/verify/resend": { POST: { handler: links.resendVerification, access: "public", operation: op.resendVerification } },
  "/users": { GET: { handler: users.list, access: "admin", operation: op.listUsers } },
  "/users/:id": {
    GET: { handler: accounts.read, access: "self-or-admin", operation: op.getUser },
    PUT: { handler: accounts.update, access: "self-or-admin", operation: op.updateUser },
    DELETE: { handler: accounts.remove, access: "self-or-admin", operation: op.deleteUser },
  },
  "/users/:id/profile-picture": {
    POST: { handler: images.upload, access: "self-or-admin", operation: op.uploadUserPicture },
    DELETE: { handler: images.remove, access: "self-or-admin", operation: op.deleteUserPicture },
  },
  // Public, like pictures: a 302 to the picture, or a generated default avatar.
  "/users/:id/avatar": { GET: { handler: avatar.avatar, access: "public", operation: op.userAvatar } },
  "/users/:id/sessions": { GET: { handler: sessions.list, access: "self-or-admin", operation: op.listUserSessions } },
  "/users/:id/sessions/:sid": { DELETE: { handler: sessions.end, access: "self-or-admin", operation: op.endUserSession } },
  "/static/profile/:file": { GET: { handler: statics.profileImage, access: "public", operation: op.profileImage } },
  "/static/p/:owner/:object": { GET: { handler: statics.pictureObject, access: "public", operation: op.pictureObject } },
  "/verify-email": { GET: { handler: pages.verifyEmailPage, access: "public", operation: op.verifyEmailPage } },
  "/reset-password": { GET: { handler: pages.resetPasswordPage, access: "public", operation: op.resetPasswordPage } },
  "/healthz": { GET: { handler: health.healthz, access: "public", operation: op.healthz } },
  "/readyz": { GET: { handler: health.readyz, access: "public", operation: op.readyz } },
  // Its own bearer token (METRICS_TOKEN), not a user's.
  "/metrics": { GET: { handler: metrics.metrics, access: "public", operation: op.metrics } },
  "/.well-known/jwks.json": { GET: { handler: jwks.jwks, access: "public", operation: op.jwks } },
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
