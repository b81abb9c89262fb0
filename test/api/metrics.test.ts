// GET /metrics in Prometheus text format: requests by route and status with a latency histogram,
// queue depths, uploads, rate-limit refusals (database errors: test/scale/database-outage.test.ts).
// Prometheus scrapes the management listener (METRICS_PORT); the public listener serves a narrower
// view, and only with METRICS_TOKEN, that must not tell which addresses have accounts.
import { describe, expect, test } from "bun:test";
import { jpeg, png } from "../fixtures/images.ts";
import { expectProblem, serverForFile, startServer, uniqueEmail, type TestServer } from "../helpers/server.ts";
import { startSmtpSink } from "../helpers/smtp.ts";

const server = await serverForFile();

async function scrape(url = server.metricsUrl!, token?: string) {
  const res = await fetch(url, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
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

  test("rate-limit refusals, by limit; mail, by kind when asked for and by result when done", async () => {
    await using limited = await startServer({ RATE_LIMITS: "on", RATE_LIMIT_REGISTER_IP: "1/60" });
    expect((await limited.client.register()).status).toBe(201);
    expect((await limited.client.register()).status).toBe(429);
    await limited.deps.outbox.idle();
    const { text } = await scrape(limited.metricsUrl);
    expect(sample(text, 'rate_limit_refusals_total{limit="register_ip"}')).toBe(1);
    expect(sample(text, 'mail_requests_total{kind="email_verification"}')).toBe(1);
    expect(sample(text, 'mail_messages_total{result="sent"}')).toBe(1); // the verification mail (to the log here)
  });
});

const TOKEN = "metrics-token-0123456789";

describe("where metrics are served", () => {
  test("by default: on the management listener only; the public listener answers 404", async () => {
    expect((await scrape()).status).toBe(200);
    expectProblem(await server.client.send("GET", "/metrics"), 404, "not_found");
    // Not on the management listener's other paths, nor for other methods.
    expect((await fetch(server.metricsUrl!.replace(/\/metrics$/, "/healthz"))).status).toBe(404);
    expect((await fetch(server.metricsUrl!, { method: "POST" })).status).toBe(405);
  });

  test("METRICS_TOKEN: the public listener serves its view for that bearer token (401 otherwise); the management listener asks for it too", async () => {
    await using guarded = await startServer({ METRICS_TOKEN: TOKEN });
    const publicUrl = `${guarded.url}/metrics`;
    for (const url of [publicUrl, guarded.metricsUrl!]) {
      expect((await scrape(url)).status).toBe(401);
      expect((await scrape(url, `${TOKEN}x`)).status).toBe(401);
      expect((await scrape(url, TOKEN)).status).toBe(200);
    }
    expectProblem(await guarded.client.send("GET", "/metrics", { token: `${TOKEN}x` }), 401, "invalid_token");
    // The public view: requests, latency, queues in front of work done while answering, and mail as
    // asked for; never what happened to a message afterwards, nor how many are still on their way.
    const view = (await scrape(publicUrl, TOKEN)).text;
    for (const name of ["http_requests_total", "http_request_duration_seconds", "mail_requests_total", "password_hash_queue_depth"]) {
      expect(view).toContain(`# TYPE ${name} `);
    }
    for (const name of ["mail_messages_total", "mail_queue_depth"]) expect(view).not.toContain(name);
    const full = (await scrape(guarded.metricsUrl!, TOKEN)).text;
    for (const name of ["mail_messages_total", "mail_queue_depth"]) expect(full).toContain(`# TYPE ${name} `);
  });

  test("METRICS=off: 404 on the public listener, and no management listener", async () => {
    await using off = await startServer({ METRICS: "off", METRICS_TOKEN: TOKEN });
    expectProblem(await off.client.send("GET", "/metrics", { token: TOKEN }), 404, "not_found");
    expect(off.metricsUrl).toBeUndefined();
  });
});

/**
 * Everything the public listener lets anyone see: its metrics (with the token: the most it shows),
 * health and readiness. One after the other, so every round adds the same requests to the next.
 * Latency buckets and sums, and the process's memory, are left out: they differ between any two
 * requests by noise (the routes' equal timing has its own tests); the latency counts stay in.
 */
async function publicState(s: TestServer): Promise<Map<string, string>> {
  const state = new Map<string, string>();
  const metrics = await fetch(`${s.url}/metrics`, { headers: { Authorization: `Bearer ${TOKEN}` } });
  expect(metrics.status).toBe(200);
  for (const line of (await metrics.text()).split("\n")) {
    if (line === "" || /^http_request_duration_seconds_(bucket|sum)|^process_resident_memory_bytes /.test(line)) continue;
    const at = line.lastIndexOf(" ");
    state.set(line.startsWith("#") ? line : line.slice(0, at), line.startsWith("#") ? "" : line.slice(at + 1));
  }
  for (const path of ["/healthz", "/readyz", "/openapi.json"]) {
    const res = await fetch(`${s.url}${path}`);
    state.set(path, `${res.status} ${await res.text()}`);
  }
  return state;
}

/** What changed from `before` to `after`, series by series (counters as differences). */
function change(before: Map<string, string>, after: Map<string, string>): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const [key, value] of after) {
    const was = before.get(key);
    const moved = /^-?[\d.e+]+$/.test(value) && (was === undefined || /^-?[\d.e+]+$/.test(was)) ? Number(value) - Number(was ?? 0) : value === was ? 0 : value;
    if (moved !== 0) out[key] = moved;
  }
  for (const key of before.keys()) if (!after.has(key)) out[key] = "gone";
  return out;
}

describe("the public listener does not tell which addresses have accounts", () => {
  type Case = { name: string; path: string; known: (s: TestServer) => Promise<string> };
  const register = async (s: TestServer) => {
    const email = uniqueEmail("known");
    expect((await s.client.register({ email })).status).toBe(201); // an account, not yet verified
    return email;
  };
  const cases: Case[] = [
    { name: "POST /password/forgot", path: "/password/forgot", known: register },
    { name: "POST /email/verify/resend, signed out, for an unverified account", path: "/email/verify/resend", known: register },
  ];

  for (const { name, path, known } of cases) {
    test(`${name}: a known and an unknown address leave the same observable state once mail is done`, async () => {
      const smtp = await startSmtpSink();
      try {
        await using s = await startServer({ METRICS_TOKEN: TOKEN, RATE_LIMITS: "on", SMTP_URL: smtp.url });
        const email = await known(s);
        await smtp.next(email); // the verification mail from signing up, out of the way
        await s.deps.outbox.idle();
        const states = [await publicState(s)];
        const replies = [];
        for (const address of [email, uniqueEmail("nobody")]) {
          const reply = await s.client.send("POST", path, { json: { email: address } });
          replies.push({ status: reply.status, body: reply.body });
          await s.deps.outbox.idle();
          states.push(await publicState(s));
        }
        // The known address really was mailed, so the comparison below is not between two no-ops.
        expect((await smtp.next(email)).to).toEqual([email]);
        expect(replies[0]!.status).toBe(202);
        expect(replies[1]).toEqual(replies[0]!);
        const [forKnown, forUnknown] = [change(states[0]!, states[1]!), change(states[1]!, states[2]!)];
        expect(forKnown).toEqual(forUnknown);
        expect(forKnown[`http_requests_total{route="${path}",method="POST",status="202"}`]).toBe(1);
        // The management listener, which only the operator reaches, does count the delivery.
        expect(sample((await scrape(s.metricsUrl!, TOKEN)).text, 'mail_messages_total{result="sent"}')).toBe(2);
      } finally {
        await smtp.close();
      }
    });
  }
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
