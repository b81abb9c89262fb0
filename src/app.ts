// The whole route table in one object, and the server built from it. Nothing runs at import:
// `createServer` takes its dependencies and a port, so tests start as many servers as they like.
import type { Server } from "bun";
import type { Deps, Handler } from "./context.ts";
import { lastResortHandler, notFoundHandler, routeHandler } from "./http/pipeline.ts";
import * as account from "./routes/account.ts";
import * as auth from "./routes/auth.ts";
import * as docs from "./routes/docs.ts";
import * as health from "./routes/health.ts";
import * as images from "./routes/images.ts";
import * as me from "./routes/me.ts";
import * as metrics from "./routes/metrics.ts";
import * as pages from "./routes/pages.ts";
import * as statics from "./routes/static.ts";
import * as users from "./routes/users.ts";

export type Method = "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE";
export type RouteTable = Record<string, Partial<Record<Method, Handler>>>;

export const routes: RouteTable = {
  "/register": { POST: auth.register },
  "/login": { POST: auth.login },
  "/token/refresh": { POST: auth.refresh },
  "/logout": { POST: auth.logout },
  "/me": { GET: me.getMe, PUT: me.updateMe, DELETE: me.deleteMe },
  "/me/upload-image": { POST: images.uploadImage },
  "/me/image": { DELETE: images.deleteImage },
  "/password/forgot": { POST: account.forgotPassword },
  "/password/reset": { POST: account.resetPassword },
  "/email/verify": { POST: account.verifyEmail },
  "/email/verify/resend": { POST: account.resendVerification },
  "/users": { GET: users.listUsers },
  "/users/:id": { GET: users.getUser, PUT: users.updateUser, DELETE: users.deleteUser },
  "/users/:id/profile-picture": { POST: images.uploadUserPicture, DELETE: images.deleteUserPicture },
  "/static/profile/:file": { GET: statics.profileImage },
  "/verify-email": { GET: pages.verifyEmailPage },
  "/reset-password": { GET: pages.resetPasswordPage },
  "/healthz": { GET: health.healthz },
  "/readyz": { GET: health.readyz },
  "/metrics": { GET: metrics.metrics },
  "/openapi.json": { GET: docs.openApi },
  "/docs": { GET: docs.docsPage },
  "/docs/assets/:name": { GET: docs.docsAsset },

  // The seeds' own names for the same handlers, so their clients work unchanged.
  "/auth/signup": { POST: auth.register }, // seed 001
  "/auth/login": { POST: auth.login },
  "/profile/me": { GET: me.getMe, PUT: me.updateMe },
  "/users/register": { POST: auth.register }, // seed 003 (`username` is the name)
  "/users/login": { POST: auth.login }, // seed 003 (`username` is the email)
  "/users/me": { GET: me.getMe, PUT: me.updateMe, DELETE: me.deleteMe },
  "/profile/:id": { GET: users.getUser, PUT: users.updateUser }, // seed 004 (`user` is the name)
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
    routes: Object.fromEntries(Object.entries(routes).map(([path, methods]) => [path, routeHandler(path, methods, deps)])),
    fetch: notFoundHandler(deps),
    // Only reached if a response body fails after our handler returned; never Bun's own error page.
    error: lastResortHandler(deps),
    development: false,
  });
}
