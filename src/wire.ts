// Builds the service's dependencies from a Config: database (migrated), storage (reconciled),
// hashers and token issuers. main.ts and the tests both start the service through here.
import { AccessTokens } from "./auth/access.ts";
import type { Clock } from "./core.ts";
import { PasswordHasher } from "./auth/password.ts";
import { Sessions } from "./auth/session.ts";
import { SessionCache } from "./auth/session-cache.ts";
import { resolveSigning } from "./auth/secret.ts";
import { keyRingFromConfig, parseSecretList } from "./auth/signing-key-config.ts";
import type { Config } from "./config.ts";
import type { Deps } from "./context.ts";
import { AdminRefusedError, createAdmin } from "./cli/create-admin.ts";
import { ImageProcessor } from "./images/process.ts";
import { describeError, type Logger } from "./log.ts";
import { EmailTakenError, openStore, type Store } from "./store/index.ts";
import { createMailer } from "./mail/mailer.ts";
import { Outbox } from "./mail/outbox.ts";
import { Metrics } from "./metrics/index.ts";
import type { ImageStorage } from "./storage/index.ts";
import { LocalImageStorage } from "./storage/local.ts";
import { S3ImageStorage } from "./storage/s3.ts";
import { PictureSweeper } from "./storage/sweeper.ts";
import { PictureBackfill } from "./images/backfill.ts";
import { KeyedMutex } from "./util/semaphore.ts";
import { MemoryCounters, RedisCounters, type Counters } from "./ratelimit/counters.ts";
import { DEFAULT_LIMITS, RateLimiter } from "./ratelimit/limiter.ts";

function rateLimitCounters(config: Config, log: Logger): Counters | undefined {
  if (!config.rateLimits) {
    if (config.env === "production") log.warn("RATE_LIMITS=off in production: logins and sign-ups are not rate limited");
    return undefined;
  }
  return config.redisUrl ? new RedisCounters(config.redisUrl, log, `${config.redisKeyPrefix}ratelimit:`) : new MemoryCounters();
}

/** Picture storage: S3 when configured, else the folder (STATIC_DIR, or move-up's --to-static). */
export async function openStorage(config: Config, staticDir = config.staticDir): Promise<ImageStorage> {
  if (config.s3) return new S3ImageStorage(config.s3, config.publicBaseUrl);
  const local = new LocalImageStorage(staticDir, config.publicBaseUrl);
  await local.init();
  return local;
}

export async function buildDeps(config: Config, log: Logger, clock: Clock): Promise<Deps> {
  const { signing, source, path } = resolveSigning(config);
  if (source === "generated") log.warn(`generated a JWT ${signing.alg} key for development`, { path });
  const ring = await keyRingFromConfig(signing, clock);
  // Tokens from before key rings carry no kid: they verify with these secrets for one lifetime (src/auth/access.ts).
  const accessTokens = await AccessTokens.create(ring, config.accessTokenTtlSeconds, clock, signing.secrets ? parseSecretList(signing.secrets) : []);

  const { store, applied } = await openStore(config.databaseUrl, {
    poolSize: config.databasePoolSize,
    timeoutMs: config.databaseTimeoutMs,
    onRecycle: (reason) => log.warn("database connections replaced", { reason }),
    now: clock,
  });
  if (applied.length > 0) log.info("migrated database", { versions: applied.map((m) => m.version) });

  const storage = await openStorage(config);
  const imageLocks = new KeyedMutex<number>();
  const sweeper = new PictureSweeper(storage, (ids) => store.imageVersions(ids), imageLocks, log, {
    currentObjects: (ids) => store.imageObjects(ids),
    graceMs: config.storageGraceSeconds * 1000,
    intervalMs: config.storageSweepSeconds * 1000,
    clock,
  });
  // What a crash left behind goes now; storage being down does not stop the start (uploads answer
  // 503 meanwhile), and the periodic passes take over from here.
  await sweeper.pass().catch((err) => log.warn("picture storage not reachable at start-up", { ...describeError(err), stack: undefined }));
  sweeper.start();

  const hasher = new PasswordHasher({
    memoryKiB: config.argon2MemoryKiB,
    timeCost: config.argon2TimeCost,
    concurrency: config.hashConcurrency,
    queueMax: config.hashQueueMax,
    threadNice: config.hashThreadNice,
    cpuPercent: config.hashCpuPercent,
  });

  if (config.admin) await ensureFirstAdmin(store, hasher, config, config.admin, log, clock);
  // Imported accounts with slower hashes: time one now, in the background, so failed logins are
  // padded from the first one on (src/auth/password.ts).
  void store
    .legacyPasswordHash(hasher.currentPrefix)
    .then((hash) => (hash === undefined ? undefined : hasher.calibrate(hash)))
    .catch((err) => log.warn("could not time a legacy password hash", describeError(err)));

  const images = new ImageProcessor({
    maxSide: config.imageMaxSide,
    maxPixels: config.imageMaxPixels,
    quality: config.jpegQuality,
    concurrency: config.imageConcurrency,
    queueMax: config.imageQueueMax,
    decodeTimeoutMs: config.imageDecodeTimeoutMs,
    decodeMemoryBytes: config.imageDecodeMemoryMiB * 1024 * 1024,
    uploadsInFlight: config.uploadsInFlight,
    uploadsPerUser: config.uploadsPerUser,
    variantSizes: config.imageVariantSizes,
  });
  const backfill = new PictureBackfill({ store, storage, images, sweeper, imageLocks, log }, { concurrency: config.imageBackfillConcurrency });
  void backfill.start();
  // Each reads the other, only ever after both exist.
  const outbox = new Outbox(
    log,
    (event, kind) => (event === "requested" ? metrics.mailRequests.inc({ kind }) : metrics.mail.inc({ result: event })),
    config.mailQueueMax,
  );
  const metrics = new Metrics({ hashing: () => hasher.queueDepth, images: () => images.queueDepth, mail: () => outbox.depth });

  const sessionCache =
    config.sessionCacheSize > 0 ? new SessionCache(store, { size: config.sessionCacheSize, boundMs: config.sessionCacheBoundMs, log }) : undefined;
  sessionCache?.start();

  return {
    config,
    store,
    sessionCache,
    accountTokens: store.links,
    mailer: createMailer(config, log),
    outbox,
    storage,
    log,
    clock,
    hasher,
    accessTokens,
    sessions: new Sessions(store.sessions, config.refreshTokenTtlSeconds, clock, config.refreshTokenReuseSeconds),
    images,
    imageLocks,
    sweeper,
    backfill,
    limiter: new RateLimiter(
      rateLimitCounters(config, log),
      config.rateLimits ?? DEFAULT_LIMITS,
      clock,
      (name) => metrics.rateLimited.inc({ limit: name }),
      config.rateLimitIpv6Prefix,
    ),
    metrics,
  };
}

/**
 * ADMIN_EMAIL + ADMIN_PASSWORD: while the service has no active admin, make one as create-admin
 * does (src/cli/create-admin.ts), except that an unverified account is never trusted. Once an admin
 * exists the variables do nothing, so a password changed since is never reset by a restart.
 */
async function ensureFirstAdmin(
  store: Store,
  hasher: PasswordHasher,
  config: Config,
  admin: { email: string; password: string },
  log: Logger,
  clock: Clock,
): Promise<void> {
  if ((await store.activeAdminCount()) > 0) return;
  try {
    const result = await createAdmin(store, (password) => hasher.hash(password), config.passwordMinLength, admin, clock());
    if (result.action === "promoted") log.warn("promoted the ADMIN_EMAIL account to admin", { user_id: result.id });
    if (result.action === "created") log.warn("created the first admin from ADMIN_EMAIL", { user_id: result.id });
  } catch (err) {
    // Another instance made it first.
    if (err instanceof EmailTakenError) return;
    if (!(err instanceof AdminRefusedError)) throw err;
    log.error("ADMIN_EMAIL + ADMIN_PASSWORD made no admin", {
      reason: err.message.replace(/^--email/, "ADMIN_EMAIL").replace(/^--password/, "ADMIN_PASSWORD"),
      fix: "confirm the address from its mail, or delete that account, or use another ADMIN_EMAIL",
    });
  }
}
