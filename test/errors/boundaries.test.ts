// Domain modules raise CodedErrors and never import http/; src/http/problem.ts alone gives them a
// status. These pin both halves: the imports, and what each module's refusal becomes for a client.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { CodedError } from "../../src/core.ts";
import { HttpError, problemResponse, toHttpError } from "../../src/http/problem.ts";
import { UploadAdmission } from "../../src/images/process.ts";
import { imageError } from "../../src/images/decoder.ts";
import { RateLimiter } from "../../src/ratelimit/limiter.ts";
import { StorageUnavailableError } from "../../src/storage/index.ts";
import { QueueFullError, Semaphore } from "../../src/util/semaphore.ts";

const SRC = join(import.meta.dir, "../../src");
const sources = (dir: string) =>
  readdirSync(join(SRC, dir), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts"))
    .map((f) => ({ path: `${dir}/${f}`, text: readFileSync(join(SRC, dir, f), "utf8") }));

describe("domain modules stay out of http/", () => {
  for (const dir of ["images", "ratelimit", "storage", "mail", "util", "metrics"]) {
    test(`src/${dir} imports nothing from src/http`, () => {
      const offenders = sources(dir).filter(({ text }) => /from\s+["']\.\.\/http\//.test(text)).map(({ path }) => path);
      expect(offenders).toEqual([]);
    });
  }
});

describe("each refusal is a CodedError that toHttpError turns into the same answer as before", () => {
  test("a full wait line is 503 server_busy with Retry-After: 1", async () => {
    const gate = new Semaphore(1, 0);
    const running = gate.run(() => Bun.sleep(20));
    const err = await gate.run(async () => {}).catch((e: unknown) => e);
    await running;
    expect(err).toBeInstanceOf(QueueFullError);
    expect(err).toBeInstanceOf(CodedError);
    expect(err).not.toBeInstanceOf(HttpError);
    const http = toHttpError(err);
    expect([http.status, http.code, http.options.headers?.["Retry-After"]]).toEqual([503, "server_busy", "1"]);
    expect(http.detail).toBe("Too many requests are waiting; try again shortly.");
    // The log still sees what happened, not the client's sentence.
    expect((http.cause as Error).message).toBe("the work queue is full");
  });

  test("storage that does not answer is 503 service_unavailable with Retry-After: 5, and the log keeps the operation", () => {
    const err = new StorageUnavailableError("put", { cause: new Error("ECONNREFUSED") });
    expect(err).toBeInstanceOf(CodedError);
    const http = toHttpError(err);
    expect([http.status, http.code, http.options.headers?.["Retry-After"]]).toEqual([503, "service_unavailable", "5"]);
    expect(http.detail).toBe("Picture storage is not answering; try again shortly.");
    expect((http.cause as Error).message).toBe("picture storage unavailable (put)");
  });

  test("a full upload admission is 503 server_busy", () => {
    const admission = new UploadAdmission(1, 1);
    admission.enter(1);
    let err: unknown;
    try {
      admission.enter(2);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CodedError);
    expect(err).not.toBeInstanceOf(HttpError);
    expect(toHttpError(err).status).toBe(503);
  });

  test("a codec's refusals are image_too_large (413) and invalid_image (422)", () => {
    const big = imageError(Object.assign(new Error("x"), { code: "ERR_IMAGE_TOO_MANY_PIXELS" }));
    const bad = imageError(Object.assign(new Error("x"), { code: "ERR_IMAGE_DECODE_FAILED" }));
    expect(big).not.toBeInstanceOf(HttpError);
    expect([toHttpError(big).status, toHttpError(bad).status]).toEqual([413, 422]);
  });

  test("a full rate-limit window is 429 with Retry-After and RateLimit headers", async () => {
    const counters = { add: async () => ({ count: 2, resetMs: 30_000 }), close() {} };
    const limiter = new RateLimiter(counters as never, { login_ip: { max: 1, windowSeconds: 60 } } as never, () => 0);
    const err = await limiter.take("login_ip", "192.0.2.1").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CodedError);
    expect(err).not.toBeInstanceOf(HttpError);
    const res = problemResponse(toHttpError(err));
    expect(res.status).toBe(429);
    expect(res.headers.get("Retry-After")).toBe("30");
    expect(res.headers.get("RateLimit")).toBe("limit=1, remaining=0, reset=30");
    expect(res.headers.get("RateLimit-Policy")).toBe("1;w=60");
  });

  test("busy and unavailable are expected (logged at warn); a bug is not", () => {
    expect(toHttpError(new QueueFullError()).expected).toBe(true);
    expect(toHttpError(new StorageUnavailableError("get")).expected).toBe(true);
    expect(toHttpError(new Error("bug")).expected).toBe(false);
    expect(toHttpError(new CodedError("rate_limited", "slow down")).expected).toBe(false);
  });
});
