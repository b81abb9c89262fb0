// GET /metrics in Prometheus text format: requests by route and status with a latency histogram,
// queue depths, uploads, rate-limit refusals (database errors: test/scale/database-outage.test.ts).
import { describe, expect, test } from "bun:test";
import { jpeg, png } from "../fixtures/images.ts";
import { expectProblem, serverForFile, startServer } from "../helpers/server.ts";

const server = await serverForFile();

async function scrape(url = server.url, token?: string) {
  const res = await fetch(`${url}/metrics`, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  return { status: res.status, type: res.headers.get("content-type"), text: await res.text() };
}

/** The value of one sample, e.g. sample(text, 'http_requests_total{route="/me",method="GET",status="200"}'). */
function sample(text: string, series: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

describe("GET /metrics", () => {
  test("Prometheus text: each request counted by route pattern, method and status, with a latency histogram", async () => {
    const user = await server.client.signUp();
    const before = (await scrape()).text;
    for (let i = 0; i < 3; i++) await server.client.send("GET", "/me", { token: user.token });
    await server.client.send("GET", "/me");
    await server.client.send("GET", `/users/${user.id}`, { token: user.token });
    const { status, type, text } = await scrape();
    expect(status).toBe(200);
    expect(type).toStartWith("text/plain; version=0.0.4");
    const me200 = 'http_requests_total{route="/me",method="GET",status="200"}';
    expect(sample(text, me200) - sample(before, me200)).toBe(3);
    expect(sample(text, 'http_requests_total{route="/me",method="GET",status="401"}')).toBeGreaterThanOrEqual(1);
    // The route pattern, never the id: one series however many users there are.
    expect(text).toContain('http_requests_total{route="/users/:id",method="GET",status="200"}');
    expect(text).not.toContain(`/users/${user.id}"`);
    expect(text).toContain("# TYPE http_request_duration_seconds histogram");
    const count = sample(text, 'http_request_duration_seconds_count{route="/me",method="GET"}');
    expect(sample(text, 'http_request_duration_seconds_bucket{route="/me",method="GET",le="+Inf"}')).toBe(count);
    expect(count).toBeGreaterThanOrEqual(4);
  });

  test("unusual methods share one label, so nobody can add series at will", async () => {
    for (const method of ["PROPFIND", "MKCALENDAR", "LOCK"]) await fetch(`${server.url}/me`, { method });
    const { text } = await scrape();
    expect(text).not.toMatch(/method="(PROPFIND|MKCALENDAR|LOCK)"/);
    expect(sample(text, 'http_requests_total{route="/me",method="other",status="405"}')).toBeGreaterThanOrEqual(3);
  });

  test("queue depths (hashing, images, mail) and the process's memory are gauges", async () => {
    const { text } = await scrape();
    for (const gauge of ["password_hash_queue_depth", "image_queue_depth", "mail_queue_depth", "process_resident_memory_bytes"]) {
      expect(text).toContain(`# TYPE ${gauge} gauge`);
      expect(sample(text, gauge)).toBeGreaterThanOrEqual(0);
    }
    expect(sample(text, "process_resident_memory_bytes")).toBeGreaterThan(1024 * 1024);
  });

  test("uploads: stored and refused", async () => {
    const user = await server.client.signUp();
    const before = (await scrape()).text;
    expect((await server.client.upload(user.token, png(20, 20))).status).toBe(200);
    expect((await server.client.upload(user.token, (await jpeg(20, 20)).subarray(0, 50))).status).toBeGreaterThanOrEqual(400);
    const after = (await scrape()).text;
    expect(sample(after, 'profile_picture_uploads_total{result="stored"}') - sample(before, 'profile_picture_uploads_total{result="stored"}')).toBe(1);
    expect(sample(after, 'profile_picture_uploads_total{result="refused"}') - sample(before, 'profile_picture_uploads_total{result="refused"}')).toBe(1);
  });

  test("rate-limit refusals, by limit; mail, by result", async () => {
    await using limited = await startServer({ RATE_LIMITS: "on", RATE_LIMIT_REGISTER_IP: "1/60" });
    expect((await limited.client.register()).status).toBe(201);
    expect((await limited.client.register()).status).toBe(429);
    await limited.deps.outbox.idle();
    const { text } = await scrape(limited.url);
    expect(sample(text, 'rate_limit_refusals_total{limit="register_ip"}')).toBe(1);
    expect(sample(text, 'mail_messages_total{result="sent"}')).toBe(1); // the verification mail (to the log here)
  });

  test("METRICS_TOKEN: 401 without it or with another, 200 with it; METRICS=off: 404", async () => {
    const token = "metrics-token-0123456789";
    await using guarded = await startServer({ METRICS_TOKEN: token });
    expect((await scrape(guarded.url)).status).toBe(401);
    expect((await scrape(guarded.url, `${token}x`)).status).toBe(401);
    expect((await scrape(guarded.url, token)).status).toBe(200);
    await using off = await startServer({ METRICS: "off" });
    expectProblem(await off.client.send("GET", "/metrics"), 404);
  });
});

describe("LOG_LEVEL", () => {
  test("warn drops the access log and info lines, keeps warnings and errors", async () => {
    await using quiet = await startServer({ LOG_LEVEL: "warn", SMTP_URL: "smtp://127.0.0.1:1" });
    await quiet.client.register();
    await quiet.client.send("GET", "/healthz");
    await quiet.deps.outbox.idle();
    const levels = quiet.logs.map((line) => JSON.parse(line).level);
    expect(levels).not.toContain("info");
    expect(levels).toContain("error"); // the mail that could not be sent
  });

  test("an unknown level is a configuration error", async () => {
    await expect(startServer({ LOG_LEVEL: "loud" })).rejects.toThrow(/LOG_LEVEL must be one of debug, info, warn, error/);
  });
});
