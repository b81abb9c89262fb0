// Configuration is read once, with defaults a laptop needs nothing for, and every bad variable
// reported together.
import { describe, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { ConfigError, loadConfig } from "../src/config.ts";

describe("loadConfig", () => {
  test("defaults: port 8000, embedded SQLite, ./static, 15-minute and 30-day tokens, 5 MiB uploads", () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      env: "development",
      port: 8000,
      publicBaseUrl: "http://localhost:8000",
      databaseUrl: "sqlite://data/app.db",
      staticDir: "static",
      accessTokenTtlSeconds: 900,
      refreshTokenTtlSeconds: 30 * 24 * 3600,
      passwordMinLength: 8,
      argon2MemoryKiB: 19456,
      argon2TimeCost: 2,
      maxUploadBytes: 5 * 1024 * 1024,
      imageMaxSide: 1024,
      corsOrigins: [],
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  test("PUBLIC_BASE_URL follows PORT and loses a trailing slash", () => {
    expect(loadConfig({ PORT: "9000" }).publicBaseUrl).toBe("http://localhost:9000");
    expect(loadConfig({ PUBLIC_BASE_URL: "https://api.example.com/" }).publicBaseUrl).toBe("https://api.example.com");
  });

  test("every bad variable is reported at once", () => {
    let error: ConfigError | undefined;
    try {
      loadConfig({ PORT: "eighty", JWT_SECRET: "short", MAX_UPLOAD_BYTES: "-1", NODE_ENV: "staging", CORS_ORIGINS: "not a url", PUBLIC_BASE_URL: "ftp://x" });
    } catch (err) {
      error = err as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const text = error!.problems.join("\n");
    for (const name of ["PORT", "JWT_SECRET", "MAX_UPLOAD_BYTES", "NODE_ENV", "CORS_ORIGINS", "PUBLIC_BASE_URL"]) expect(text).toContain(name);
    expect(error!.problems).toHaveLength(6);
  });

  test("production refuses to start without JWT_SECRET or SMTP_URL", () => {
    expect(() => loadConfig({ NODE_ENV: "production", SMTP_URL: "smtp://mail.example:587" })).toThrow(/JWT_SECRET is required/);
    expect(() => loadConfig({ NODE_ENV: "production", JWT_SECRET: "x".repeat(32) })).toThrow(/SMTP_URL is required when NODE_ENV=production/);
    expect(loadConfig({ NODE_ENV: "production", JWT_SECRET: "x".repeat(32), SMTP_URL: "smtps://u:p@mail.example" }).env).toBe("production");
  });

  test("mail and accounts: defaults, APP_URL for links, and bad values reported together", () => {
    expect(loadConfig({})).toMatchObject({
      smtpUrl: undefined,
      linkBaseUrl: "http://localhost:8000",
      passwordResetTtlSeconds: 1800,
      emailVerificationTtlSeconds: 86400,
      requireEmailVerification: false,
      reauthWindowSeconds: 300,
      admin: undefined,
    });
    expect(loadConfig({ APP_URL: "https://app.example/" }).linkBaseUrl).toBe("https://app.example");
    expect(loadConfig({ ADMIN_EMAIL: "a@b.example", ADMIN_PASSWORD: "pw-pw-pw-pw" }).admin).toEqual({ email: "a@b.example", password: "pw-pw-pw-pw" });
    let error: ConfigError | undefined;
    try {
      loadConfig({ SMTP_URL: "http://mail.example", MAIL_FROM: "nobody", ADMIN_EMAIL: "a@b.example", REQUIRE_EMAIL_VERIFICATION: "maybe" });
    } catch (err) {
      error = err as ConfigError;
    }
    const text = error!.problems.join("\n");
    for (const name of ["SMTP_URL", "MAIL_FROM", "ADMIN_EMAIL and ADMIN_PASSWORD", "REQUIRE_EMAIL_VERIFICATION"]) expect(text).toContain(name);
  });

  test("an SMTP password in a bad SMTP_URL is not echoed back", () => {
    expect(() => loadConfig({ SMTP_URL: "ftp://mailer:hunter2@mail.example" })).toThrow(/SMTP_URL/);
    try {
      loadConfig({ SMTP_URL: "ftp://mailer:hunter2@mail.example" });
    } catch (err) {
      expect(String(err)).not.toContain("hunter2");
    }
  });

  test("a secret in a bad variable is not echoed back", () => {
    try {
      loadConfig({ JWT_SECRET: "tiny-secret", DATABASE_URL: "postgres://admin:hunter2@db/app" });
    } catch (err) {
      expect(String(err)).not.toContain("tiny-secret");
      expect(String(err)).not.toContain("hunter2");
    }
  });
});

test("redactUrl hides passwords containing / and @", async () => {
  const { redactUrl } = await import("../src/config.ts");
  for (const url of ["postgres://admin:s3cr/et@db.internal/app", "postgres://admin:p@ssw0rd@db/app", "redis://:hunter2@cache:6379"]) {
    const shown = redactUrl(url);
    expect(shown).not.toMatch(/s3cr|ssw0rd|hunter2/);
    expect(shown).toContain("***");
  }
});

test("REFRESH_TOKEN_REUSE_SECONDS: 10 by default, 0 allowed (no window), refused outside 0–300", () => {
  expect(loadConfig({}).refreshTokenReuseSeconds).toBe(10);
  expect(loadConfig({ REFRESH_TOKEN_REUSE_SECONDS: "0" }).refreshTokenReuseSeconds).toBe(0);
  for (const bad of ["-1", "301", "ten"]) {
    expect(() => loadConfig({ REFRESH_TOKEN_REUSE_SECONDS: bad })).toThrow(/REFRESH_TOKEN_REUSE_SECONDS/);
  }
});

test("IMAGE_VARIANT_SIZES: 64,128,256 by default, sorted and deduplicated, refused when not 1–8 sizes of 1–4096 px", () => {
  expect(loadConfig({}).imageVariantSizes).toEqual([64, 128, 256]);
  expect(loadConfig({ IMAGE_VARIANT_SIZES: "512, 64,64,128" }).imageVariantSizes).toEqual([64, 128, 512]);
  for (const bad of ["0", "64,", "4097", "big", "1,2,3,4,5,6,7,8,9", "64;128"]) {
    expect(() => loadConfig({ IMAGE_VARIANT_SIZES: bad })).toThrow(/IMAGE_VARIANT_SIZES/);
  }
  expect(loadConfig({}).imageBackfillConcurrency).toBe(1);
  expect(loadConfig({ IMAGE_BACKFILL_CONCURRENCY: "0" }).imageBackfillConcurrency).toBe(0);
});

describe("signing keys", () => {
  const long = (tag: string) => `${tag}-0123456789abcdefghijklmnopqrstuvwxyz`;

  test("JWT_SECRET may list several secrets, current first; each must be 32 bytes; the secret is not echoed", () => {
    expect(loadConfig({ JWT_SECRET: `${long("new")}, ${long("old")}` }).jwtSecret).toBe(`${long("new")}, ${long("old")}`);
    const error = (() => {
      try {
        loadConfig({ JWT_SECRET: `${long("new")},short-one` });
      } catch (err) {
        return String(err);
      }
    })();
    expect(error).toContain("JWT_SECRET must be at least 32 bytes");
    expect(error).not.toContain("short-one");
    expect(() => loadConfig({ JWT_SECRET: " , " })).toThrow(/JWT_SECRET must be at least 32 bytes/);
  });

  test("JWT_ALG, issuer and audience: HS256 and profile-service by default, whatever PORT or PUBLIC_BASE_URL", () => {
    for (const env of [{}, { PORT: "9000" }, { PUBLIC_BASE_URL: "https://p.example/" }]) {
      expect(loadConfig(env)).toMatchObject({ jwtAlg: "HS256", jwtIssuer: "profile-service", jwtAudience: "profile-service" });
    }
    expect(loadConfig({ JWT_ALG: "EdDSA", JWT_ISSUER: "i", JWT_AUDIENCE: "a" })).toMatchObject({ jwtAlg: "EdDSA", jwtIssuer: "i", jwtAudience: "a" });
    expect(() => loadConfig({ JWT_ALG: "RS256" })).toThrow(/JWT_ALG must be one of HS256, EdDSA/);
  });

  test("EdDSA in production needs keys (and no JWT_SECRET); the keys come from the variable or a file, not both", () => {
    const production = { NODE_ENV: "production", SMTP_URL: "smtp://mail:25", JWT_ALG: "EdDSA" };
    expect(() => loadConfig(production)).toThrow(/JWT_ALG=EdDSA needs JWT_ED25519_KEYS/);
    expect(loadConfig({ ...production, JWT_ED25519_KEYS: "-----BEGIN PRIVATE KEY-----" }).jwtEd25519Keys).toBe("-----BEGIN PRIVATE KEY-----");
    const file = `${tmpdir()}/ed25519-${crypto.randomUUID()}.pem`;
    writeFileSync(file, "from the file\n");
    expect(loadConfig({ ...production, JWT_ED25519_KEYS_FILE: file }).jwtEd25519Keys).toBe("from the file\n");
    expect(() => loadConfig({ ...production, JWT_ED25519_KEYS_FILE: file, JWT_ED25519_KEYS: "x" })).toThrow(/both set/);
    expect(() => loadConfig({ ...production, JWT_ED25519_KEYS_FILE: `${file}.missing` })).toThrow(/JWT_ED25519_KEYS_FILE cannot be read \(ENOENT/);
    rmSync(file);
  });
});
