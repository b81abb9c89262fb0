// Builds the service's dependencies from a Config: database (migrated), storage (reconciled),
// hashers and token issuers. main.ts and the tests both start the service through here.
import { AccessTokens } from "./auth/access.ts";
import type { Clock } from "./auth/jwt.ts";
import { PasswordHasher } from "./auth/password.ts";
import { RefreshTokens } from "./auth/refresh.ts";
import { resolveJwtSecret } from "./auth/secret.ts";
import type { Config } from "./config.ts";
import type { Deps } from "./context.ts";
import { AccountTokenStore } from "./db/account-tokens.ts";
import { configureSqlite, EmailTakenError, openDatabase, Store } from "./db/index.ts";
import { migrate } from "./db/migrate.ts";
import { SYNC_BUSY_MS } from "./db/patient-sqlite.ts";
import { ImageProcessor } from "./images/process.ts";
import { describeError, type Logger } from "./log.ts";
import { createMailer } from "./mail/mailer.ts";
import { Outbox } from "./mail/outbox.ts";
import { Metrics } from "./metrics/index.ts";
import type { ImageStorage } from "./storage/index.ts";
import { LocalImageStorage } from "./storage/local.ts";
import { S3ImageStorage } from "./storage/s3.ts";
import { PictureSweeper } from "./storage/sweeper.ts";
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

async function openStorage(config: Config): Promise<ImageStorage> {
  if (config.s3) return new S3ImageStorage(config.s3, config.publicBaseUrl);
  const local = new LocalImageStorage(config.staticDir, config.publicBaseUrl);
  await local.init();
  return local;
}

export async function buildDeps(config: Config, log: Logger, clock: Clock = Date.now): Promise<Deps> {
  const { secret, source } = resolveJwtSecret(config);
  if (source === "generated") log.warn("generated a JWT secret for development", { path: `${config.dataDir}/jwt-secret` });

  const { sql, dialect, readUser } = openDatabase(config.databaseUrl, {
    poolSize: config.databasePoolSize,
    timeoutMs: config.databaseTimeoutMs,
    onRecycle: (reason) => log.warn("database connections replaced", { reason }),
  });
  if (dialect === "sqlite") await configureSqlite(sql, SYNC_BUSY_MS);
  // A migration may take longer than a request may wait: on PostgreSQL it gets a connection without the bound.
  const setup = dialect === "postgres" ? openDatabase(config.databaseUrl, { poolSize: 1 }).sql : sql;
  const applied = await migrate(setup, dialect, () => new Date(clock())).finally(() => (setup === sql ? undefined : setup.close()));
  if (applied.length > 0) log.info("migrated database", { versions: applied.map((m) => m.version) });
  const store = new Store(sql, dialect, readUser);

  const storage = await openStorage(config);
  const imageLocks = new KeyedMutex<number>();
  const sweeper = new PictureSweeper(storage, (ids) => store.imageVersions(ids), imageLocks, log, {
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
  });

  if (config.admin) await ensureFirstAdmin(store, hasher, config.admin, log, clock);
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
  });
  // Each reads the other, only ever after both exist.
  const outbox = new Outbox(
    log,
    (event, kind) => (event === "requested" ? metrics.mailRequests.inc({ kind }) : metrics.mail.inc({ result: event })),
    config.mailQueueMax,
  );
  const metrics = new Metrics({ hashing: () => hasher.queueDepth, images: () => images.queueDepth, mail: () => outbox.depth });

  return {
    config,
    store,
    accountTokens: new AccountTokenStore(sql, dialect),
    mailer: createMailer(config, log),
    outbox,
    storage,
    log,
    clock,
    hasher,
    accessTokens: await AccessTokens.create(secret, config.accessTokenTtlSeconds, clock),
    refreshTokens: new RefreshTokens(store, config.refreshTokenTtlSeconds, clock, config.refreshTokenReuseSeconds),
    images,
    imageLocks,
    sweeper,
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
 * ADMIN_EMAIL + ADMIN_PASSWORD: while the service has no active admin, make one (promoting the
 * account if the address is taken and verified, leaving its password alone). Once an admin exists
 * the variables do nothing, so a password changed since is never reset by a restart. An unverified
 * account with that address may be anyone's (registered before the operator chose the address), so
 * it is not promoted: an error says what to do.
 */
async function ensureFirstAdmin(
  store: Store,
  hasher: PasswordHasher,
  admin: { email: string; password: string },
  log: Logger,
  clock: Clock,
): Promise<void> {
  if ((await store.activeAdminCount()) > 0) return;
  const email = admin.email.trim().toLowerCase();
  const now = new Date(clock());
  const existing = await store.userByEmail(email);
  if (existing && !existing.emailVerified) {
    log.error("ADMIN_EMAIL belongs to an account that never confirmed its address; not promoting it", {
      user_id: existing.id,
      fix: "confirm the address from its mail, or delete that account, or use another ADMIN_EMAIL",
    });
    return;
  }
  if (existing) {
    await store.updateAccount(existing.id, { role: "admin", disabled: false }, {}, now);
    log.warn("promoted the ADMIN_EMAIL account to admin", { user_id: existing.id });
    return;
  }
  try {
    const id = await store.createUser({ name: "Admin", email, passwordHash: await hasher.hash(admin.password), now, role: "admin", emailVerified: true });
    log.warn("created the first admin from ADMIN_EMAIL", { user_id: id });
  } catch (err) {
    // Another instance made it first.
    if (!(err instanceof EmailTakenError)) throw err;
  }
}
