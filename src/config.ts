// Parses the environment once at start-up into a frozen Config.
// Every bad variable is collected so the operator sees all of them at once, not one per restart.
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { DEFAULT_LIMITS, parseLimit, type Limits } from "./ratelimit/limiter.ts";
import type { S3Settings } from "./storage/s3.ts";
import { DEFAULT_CPU_PERCENT, DEFAULT_THREAD_NICE } from "./auth/password.ts";
import { parseSecretList } from "./auth/signing-key-config.ts";
import { ConfigError, Reader, redactUrl, type Env } from "./config-reader.ts";
import { LOG_LEVELS, type LogLevel } from "./log.ts";
import { DEFAULT_VARIANT_SIZES, validSizes } from "./images/variants.ts";

export { ConfigError, redactUrl };

export type Config = Readonly<{
  env: "development" | "production" | "test";
  host: string;
  port: number;
  /** Let other processes listen on the same port (SO_REUSEPORT); off, a taken port stops the start. */
  reusePort: boolean;
  /** Users and live sessions kept in memory for authentication (0: none; every request reads the database). */
  sessionCacheSize: number;
  /** Another instance's revocation is honoured within this; a feed silent for longer bypasses the cache. */
  sessionCacheBoundMs: number;
  /** Seconds a connection may send nothing (mid-request or between requests) before it is closed. */
  idleTimeoutSeconds: number;
  publicBaseUrl: string;
  databaseUrl: string;
  databasePoolSize: number;
  /** PostgreSQL statement_timeout; one second more and a stuck pool is replaced (src/store/bounded.ts). */
  databaseTimeoutMs: number;
  dataDir: string;
  staticDir: string;
  /** JWT_SECRET as given: one or more HS256 secrets, the current one first (src/auth/signing-key-config.ts). */
  jwtSecret: string | undefined;
  /** HS256 (shared secrets, the default) or EdDSA (Ed25519, public keys at /.well-known/jwks.json). */
  jwtAlg: "HS256" | "EdDSA";
  /** The text of JWT_ED25519_KEYS or of the file JWT_ED25519_KEYS_FILE names: PEM or JWK(S), current first. */
  jwtEd25519Keys: string | undefined;
  /** The iss and aud of every access token (RFC 8725 §3.9, §3.10); the instances of one service agree on both. */
  jwtIssuer: string;
  jwtAudience: string;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  /** How long a spent refresh token may be presented again and still continue its session (0: never). */
  refreshTokenReuseSeconds: number;
  passwordMinLength: number;
  argon2MemoryKiB: number;
  argon2TimeCost: number;
  hashConcurrency: number;
  hashQueueMax: number;
  hashThreadNice: number;
  /** Percent of HASH_CONCURRENCY cores hashing may spend (a token bucket of CPU time, src/auth/cpu-budget.ts). */
  hashCpuPercent: number;
  maxUploadBytes: number;
  imageMaxSide: number;
  imageMaxPixels: number;
  imageConcurrency: number;
  imageQueueMax: number;
  imageDecodeTimeoutMs: number;
  imageDecodeMemoryMiB: number;
  uploadsInFlight: number;
  uploadsPerUser: number;
  jpegQuality: number;
  /** Square variant sides made at upload (IMAGE_VARIANT_SIZES), ascending. */
  imageVariantSizes: readonly number[];
  /** Legacy pictures given variants at once by the background backfill (0: no backfill). */
  imageBackfillConcurrency: number;
  s3: S3Settings | undefined;
  /** Between passes of the picture sweep, which removes pictures no row points at (src/storage/sweeper.ts). */
  storageSweepSeconds: number;
  /** How old an unreferenced picture must be before a sweep may remove it (uploads in flight are younger). */
  storageGraceSeconds: number;
  rateLimits: Limits | undefined;
  /** IPv6 clients are counted by this prefix of their address (one customer's /64 is one client). */
  rateLimitIpv6Prefix: number;
  redisUrl: string | undefined;
  redisKeyPrefix: string;
  trustProxy: number;
  corsOrigins: readonly string[];
  accessLog: boolean;
  logLevel: LogLevel;
  metrics: boolean;
  /** When set, GET /metrics wants `Authorization: Bearer <this>`, and the public listener serves it too. */
  metricsToken: string | undefined;
  /** The management listener that serves GET /metrics (src/metrics/listener.ts). */
  metricsHost: string;
  metricsPort: number;
  /** METRICS_PORT was given: failing to listen on it stops the start instead of being a warning. */
  metricsPortExplicit: boolean;
  shutdownTimeoutMs: number;
  smtpUrl: string | undefined;
  mailFrom: string;
  mailQueueMax: number;
  /** Where mailed links point: a front end's APP_URL, or this service's own pages. */
  linkBaseUrl: string;
  /** NEW_DEVICE_ALERTS: mail the account's owner on a login from a device and network not seen lately. */
  newDeviceAlerts: boolean;
  passwordResetTtlSeconds: number;
  emailVerificationTtlSeconds: number;
  requireEmailVerification: boolean;
  reauthWindowSeconds: number;
  admin: { email: string; password: string } | undefined;
}>;

const MIB = 1024 * 1024;

/** LOG_LEVEL alone, before the rest of the config, so even a failed start logs at the chosen level. */
export function logLevelFrom(env: Env = process.env): LogLevel {
  return new Reader(env).oneOf("LOG_LEVEL", "info", LOG_LEVELS);
}

/** PORT alone, for `profile-service healthcheck`, which must not fail on the rest of the config. */
export function portFrom(env: Env = process.env): number {
  return new Reader(env).int("PORT", 8000, 0, 65535);
}

export function loadConfig(env: Env = process.env): Config {
  const read = new Reader(env);
  const cores = Math.max(1, availableParallelism());
  const nodeEnv = read.oneOf("NODE_ENV", "development", ["development", "production", "test"] as const);
  const port = read.int("PORT", 8000, 0, 65535);
  const publicBaseUrl = read.url("PUBLIC_BASE_URL", `http://localhost:${port}`, ["http:", "https:"]).replace(/\/+$/, "");
  const databaseUrl = read.string("DATABASE_URL", "sqlite://data/app.db");
  if (!/^(sqlite:|postgres(ql)?:\/\/)/.test(databaseUrl) && databaseUrl !== ":memory:") {
    read.problems.push(`DATABASE_URL must be sqlite://<path> or postgres://… (got "${redactUrl(databaseUrl)}")`);
  }

  const jwtAlg = read.oneOf("JWT_ALG", "HS256", ["HS256", "EdDSA"] as const);
  const jwtSecret = read.raw("JWT_SECRET");
  // Several secrets, current first, are a rotation in progress (docs/operations.md); each must be long enough.
  const secrets = jwtSecret === undefined ? [] : jwtSecret.replace(/[\s,]/g, "") === "" ? [""] : parseSecretList(jwtSecret);
  if (secrets.some((secret) => Buffer.byteLength(secret) < 32)) {
    read.problems.push("JWT_SECRET must be at least 32 bytes long (each one, when it lists several separated by commas)");
  }
  if (jwtSecret === undefined && nodeEnv === "production" && jwtAlg === "HS256") {
    read.problems.push("JWT_SECRET is required when NODE_ENV=production (at least 32 random bytes)");
  }
  let jwtEd25519Keys = read.raw("JWT_ED25519_KEYS");
  const keysFile = read.raw("JWT_ED25519_KEYS_FILE");
  if (keysFile !== undefined) {
    if (jwtEd25519Keys !== undefined) read.problems.push("JWT_ED25519_KEYS and JWT_ED25519_KEYS_FILE are both set: set one");
    try {
      jwtEd25519Keys = readFileSync(keysFile, "utf8");
    } catch (err) {
      read.problems.push(`JWT_ED25519_KEYS_FILE cannot be read (${(err as NodeJS.ErrnoException).code ?? "error"}: ${keysFile})`);
    }
  }
  if (jwtAlg === "EdDSA" && jwtEd25519Keys === undefined && nodeEnv === "production") {
    read.problems.push("JWT_ALG=EdDSA needs JWT_ED25519_KEYS or JWT_ED25519_KEYS_FILE when NODE_ENV=production");
  }

  const imageVariantSizes = validSizes(read.wholeNumbers("IMAGE_VARIANT_SIZES", DEFAULT_VARIANT_SIZES, 4096, 8, "pixel sizes"));

  const corsOrigins = (read.raw("CORS_ORIGINS") ?? "")
    .split(",")
    .map((origin) => origin.trim().replace(/\/+$/, ""))
    .filter(Boolean);
  for (const origin of corsOrigins) {
    if (origin !== "*" && !/^https?:\/\/[^/\s]+$/.test(origin)) {
      read.problems.push(`CORS_ORIGINS entries must be * or scheme://host[:port] (got "${origin}")`);
    }
  }

  const bucket = read.raw("S3_BUCKET");
  const s3: S3Settings | undefined =
    bucket === undefined
      ? undefined
      : {
          bucket,
          endpoint: read.raw("S3_ENDPOINT") === undefined ? undefined : read.url("S3_ENDPOINT", "", ["http:", "https:"]),
          region: read.string("S3_REGION", "us-east-1"),
          accessKeyId: read.raw("S3_ACCESS_KEY_ID"),
          secretAccessKey: read.raw("S3_SECRET_ACCESS_KEY"),
          virtualHostedStyle: read.bool("S3_VIRTUAL_HOSTED_STYLE", false),
          publicUrl:
            read.raw("S3_PUBLIC_URL") === undefined ? undefined : read.url("S3_PUBLIC_URL", "", ["http:", "https:"]).replace(/\/+$/, ""),
          timeoutMs: read.int("S3_TIMEOUT_MS", 5000, 100, 600_000),
        };
  if (bucket === undefined && read.raw("S3_ENDPOINT") !== undefined) read.problems.push("S3_ENDPOINT is set but S3_BUCKET is not");

  const limitsOn = read.bool("RATE_LIMITS", true);
  const limits = { ...DEFAULT_LIMITS };
  for (const name of Object.keys(DEFAULT_LIMITS) as (keyof Limits)[]) {
    const variable = `RATE_LIMIT_${name.toUpperCase()}`;
    const value = read.raw(variable);
    if (value === undefined) continue;
    const parsed = parseLimit(value);
    if (parsed) limits[name] = parsed;
    else read.problems.push(`${variable} must look like 10/60 (requests per seconds), got "${value}"`);
  }
  const redisUrl = read.raw("REDIS_URL") === undefined ? undefined : read.url("REDIS_URL", "", ["redis:", "rediss:"]);

  const smtpUrl = read.raw("SMTP_URL") === undefined ? undefined : read.url("SMTP_URL", "", ["smtp:", "smtps:"]);
  if (smtpUrl === undefined && nodeEnv === "production") {
    read.problems.push(
      "SMTP_URL is required when NODE_ENV=production: password reset and email verification send mail (smtp://user:pass@host:587 or smtps://…:465)",
    );
  }
  const mailFrom = read.string("MAIL_FROM", "Profile Service <no-reply@localhost>");
  if (!/^[^<>@\s]+@[^<>@\s]+$|<[^<>@\s]+@[^<>@\s]+>$/.test(mailFrom)) {
    read.problems.push(`MAIL_FROM must be an address, optionally with a name: "Name <a@b.example>" (got "${mailFrom}")`);
  }
  const appUrl = read.raw("APP_URL") === undefined ? undefined : read.url("APP_URL", "", ["http:", "https:"]).replace(/\/+$/, "");
  const metricsToken = read.raw("METRICS_TOKEN");
  if (metricsToken !== undefined && metricsToken.length < 16) read.problems.push("METRICS_TOKEN must be at least 16 characters");
  const metricsPort = read.int("METRICS_PORT", 9464, 0, 65535);
  if (metricsPort !== 0 && metricsPort === port) read.problems.push(`METRICS_PORT must differ from PORT (both ${port})`);
  const adminEmail = read.raw("ADMIN_EMAIL");
  const adminPassword = read.raw("ADMIN_PASSWORD");
  if ((adminEmail === undefined) !== (adminPassword === undefined)) {
    read.problems.push("ADMIN_EMAIL and ADMIN_PASSWORD go together: set both (to create the first admin) or neither");
  }

  const config: Config = {
    env: nodeEnv,
    host: read.string("HOST", "127.0.0.1"),
    port,
    reusePort: read.bool("REUSE_PORT", false),
    // Bun's own ceiling is 255 s.
    idleTimeoutSeconds: read.int("IDLE_TIMEOUT_SECONDS", 10, 1, 255),
    publicBaseUrl,
    databaseUrl,
    databasePoolSize: read.int("DATABASE_POOL_SIZE", 10, 1, 500),
    // At most 8 s: with the 1 s grace, a client gets its 503 before Bun closes an idle request at 10 s.
    databaseTimeoutMs: read.int("DATABASE_TIMEOUT_MS", 5000, 100, 8000),
    sessionCacheSize: read.int("SESSION_CACHE_SIZE", 50_000, 0, 10_000_000),
    sessionCacheBoundMs: read.int("SESSION_CACHE_BOUND_MS", 1000, 100, 60_000),
    dataDir: read.string("DATA_DIR", "data"),
    staticDir: read.string("STATIC_DIR", "static"),
    jwtSecret,
    jwtAlg,
    jwtEd25519Keys,
    // Not PUBLIC_BASE_URL: its default follows PORT, and a token must not die with a port or a domain move.
    jwtIssuer: read.string("JWT_ISSUER", "profile-service"),
    jwtAudience: read.string("JWT_AUDIENCE", "profile-service"),
    accessTokenTtlSeconds: read.int("ACCESS_TOKEN_TTL_SECONDS", 15 * 60, 30, 24 * 3600),
    refreshTokenTtlSeconds: read.int("REFRESH_TOKEN_TTL_SECONDS", 30 * 24 * 3600, 60, 365 * 24 * 3600),
    // Supabase Auth's REFRESH_TOKEN_REUSE_INTERVAL, with its default; longer widens what a thief gets.
    refreshTokenReuseSeconds: read.int("REFRESH_TOKEN_REUSE_SECONDS", 10, 0, 300),
    passwordMinLength: read.int("PASSWORD_MIN_LENGTH", 8, 8, 128),
    argon2MemoryKiB: read.int("ARGON2_MEMORY_KIB", 19 * 1024, 1024, 4 * 1024 * 1024),
    argon2TimeCost: read.int("ARGON2_TIME_COST", 2, 1, 20),
    hashConcurrency: read.int("HASH_CONCURRENCY", cores, 1, 256),
    hashQueueMax: read.int("HASH_QUEUE_MAX", 256, 1, 100_000),
    // Handed to the hashing threads by their pool (src/auth/hash-worker.ts).
    hashThreadNice: read.int("HASH_THREAD_NICE", DEFAULT_THREAD_NICE, 0, 19),
    hashCpuPercent: read.int("HASH_CPU_PERCENT", DEFAULT_CPU_PERCENT, 1, 100),
    maxUploadBytes: read.int("MAX_UPLOAD_BYTES", 5 * MIB, 1024, 100 * MIB),
    imageMaxSide: read.int("IMAGE_MAX_SIDE", 1024, 16, 8192),
    // 25 MP takes any phone photo and a 24 MP camera; a 25 MP PNG still costs ~150 MiB to decode.
    imageMaxPixels: read.int("IMAGE_MAX_PIXELS", 25_000_000, 1_000_000, 268_000_000),
    imageConcurrency: read.int("IMAGE_CONCURRENCY", cores, 1, 256),
    imageQueueMax: read.int("IMAGE_QUEUE_MAX", 32, 1, 10_000),
    imageDecodeTimeoutMs: read.int("IMAGE_DECODE_TIMEOUT_MS", 1500, 100, 60_000),
    imageDecodeMemoryMiB: read.int("IMAGE_DECODE_MEMORY_MIB", 160, 32, 64 * 1024),
    // Sized for a 512 MiB container: 16 held 5 MiB bodies are some 80 MiB.
    uploadsInFlight: read.int("UPLOADS_IN_FLIGHT", 16, 1, 10_000),
    uploadsPerUser: read.int("UPLOADS_PER_USER", 2, 1, 100),
    jpegQuality: read.int("JPEG_QUALITY", 85, 30, 100),
    imageVariantSizes,
    imageBackfillConcurrency: read.int("IMAGE_BACKFILL_CONCURRENCY", 1, 0, 64),
    s3,
    storageSweepSeconds: read.int("STORAGE_SWEEP_SECONDS", 600, 1, 7 * 24 * 3600),
    storageGraceSeconds: read.int("STORAGE_GRACE_SECONDS", 3600, 1, 7 * 24 * 3600),
    rateLimits: limitsOn ? limits : undefined,
    rateLimitIpv6Prefix: read.int("RATE_LIMIT_IPV6_PREFIX", 64, 16, 128),
    redisUrl,
    redisKeyPrefix: read.string("REDIS_KEY_PREFIX", "profile-service:"),
    trustProxy: read.int("TRUST_PROXY", 0, 0, 10),
    corsOrigins,
    accessLog: read.bool("ACCESS_LOG", true),
    logLevel: read.oneOf("LOG_LEVEL", "info", LOG_LEVELS),
    metrics: read.bool("METRICS", true),
    metricsToken,
    metricsHost: read.string("METRICS_HOST", "127.0.0.1"),
    metricsPort,
    metricsPortExplicit: read.raw("METRICS_PORT") !== undefined,
    shutdownTimeoutMs: read.int("SHUTDOWN_TIMEOUT_MS", 10_000, 0, 300_000),
    smtpUrl,
    mailFrom,
    mailQueueMax: read.int("MAIL_QUEUE_MAX", 1000, 1, 100_000),
    linkBaseUrl: appUrl ?? publicBaseUrl,
    newDeviceAlerts: read.bool("NEW_DEVICE_ALERTS", true),
    passwordResetTtlSeconds: read.int("PASSWORD_RESET_TTL_SECONDS", 30 * 60, 60, 24 * 3600),
    emailVerificationTtlSeconds: read.int("EMAIL_VERIFICATION_TTL_SECONDS", 24 * 3600, 60, 30 * 24 * 3600),
    requireEmailVerification: read.bool("REQUIRE_EMAIL_VERIFICATION", false),
    reauthWindowSeconds: read.int("REAUTH_WINDOW_SECONDS", 5 * 60, 0, 24 * 3600),
    admin: adminEmail !== undefined && adminPassword !== undefined ? { email: adminEmail, password: adminPassword } : undefined,
  };
  if (read.problems.length > 0) throw new ConfigError(read.problems);
  return Object.freeze(config);
}
