// The dependencies every handler receives, wired once in main.ts (or a test) and passed down:
// no handler imports a global, so tests can give each server its own database, clock and storage.
import type { AccessTokens } from "./auth/access.ts";
import type { Clock, ProblemCode } from "./core.ts";
import type { PasswordHasher } from "./auth/password.ts";
import type { Sessions } from "./auth/session.ts";
import type { SessionCache } from "./auth/session-cache.ts";
import type { Config } from "./config.ts";
import type { LinkStore, Store } from "./store/index.ts";
import type { Acting } from "./http/auth.ts";
import type { PictureBackfill } from "./images/backfill.ts";
import type { ImageProcessor } from "./images/process.ts";
import type { Logger } from "./log.ts";
import type { Mailer } from "./mail/mailer.ts";
import type { Outbox } from "./mail/outbox.ts";
import type { Metrics } from "./metrics/index.ts";
import type { RateLimiter } from "./ratelimit/limiter.ts";
import type { ImageStorage } from "./storage/index.ts";
import type { PictureSweeper } from "./storage/sweeper.ts";
import type { KeyedMutex } from "./util/semaphore.ts";

export type Deps = {
  config: Config;
  store: Store;
  accountTokens: LinkStore;
  mailer: Mailer;
  outbox: Outbox;
  hasher: PasswordHasher;
  accessTokens: AccessTokens;
  sessions: Sessions;
  /** Undefined with SESSION_CACHE_SIZE=0: authentication reads the store every time. */
  sessionCache: SessionCache | undefined;
  images: ImageProcessor;
  storage: ImageStorage;
  sweeper: PictureSweeper;
  /** Variant sets for pictures from before them, made in the background (src/images/backfill.ts). */
  backfill: PictureBackfill;
  log: Logger;
  clock: Clock;
  imageLocks: KeyedMutex<number>;
  limiter: RateLimiter;
  metrics: Metrics;
};

export type Ctx = {
  deps: Deps;
  params: Record<string, string>;
  requestId: string;
  /**
   * The client's address: the socket's, or from X-Forwarded-For behind TRUST_PROXY proxies.
   * A function, because asking the socket costs microseconds that only rate-limited routes need.
   */
  ip: () => string;
  /** Set once the request is authenticated, for the access log. */
  userId?: number;
  /** Who acts on which account, set by the pipeline from the route's access rule (none on public routes). */
  acting?: Acting;
  /** The problem code of an error answer, for the access log. */
  problem?: ProblemCode;
};

/** A handler with nothing to wait for may answer at once (src/routes/accounts.ts `read`); the pipeline takes either. */
export type Handler = (req: Request, ctx: Ctx) => Response | Promise<Response>;

/** For handlers of signed-in routes: who acts on which account. A handler on a public route asking is a bug. */
export function actingOf(ctx: Ctx): Acting {
  if (ctx.acting === undefined) throw new TypeError("this handler needs a route whose access rule signs the caller in");
  return ctx.acting;
}

// The headers the pipeline would add to any answer (src/http/pipeline.ts), given at construction:
// setting them one by one afterwards cost more than the rest of building the answer.
// A Headers object is copied into each Response (measured cheaper than reading a plain object's keys).
const JSON_HEADER_FIELDS = { "Content-Type": "application/json", "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff" };
const JSON_HEADERS = new Headers(JSON_HEADER_FIELDS);

/** An answer whose body is JSON text made already (src/accounts/profile.ts keeps some). */
export const jsonText = (text: string, status = 200, headers?: Record<string, string>): Response =>
  new Response(text, { status, headers: headers === undefined ? JSON_HEADERS : { ...JSON_HEADER_FIELDS, ...headers } });

// JSON.stringify into a plain Response: measured faster here than Response.json on the hot path.
export const json = (body: unknown, status = 200, headers?: Record<string, string>): Response => jsonText(JSON.stringify(body), status, headers);
