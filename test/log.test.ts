// The stdout sink: lines are held and written together, in order, once LOG_BATCH_BYTES have
// collected, every 100 ms, or when flushed (at shutdown); never a write with nothing in it.
// The access line, written by hand: the same JSON as any other line, whatever a client put in it.
import { expect, test } from "bun:test";
import { createLogger, LOG_BATCH_BYTES, stdoutSink, type AccessLine } from "../src/log.ts";

const line = (i: number) => `{"n":"${String(i).padStart(6, "0")}","pad":"${"x".repeat(100)}"}\n`;

test("holds lines until a batch's worth has collected, then writes them at once, in order", () => {
  const writes: string[] = [];
  const { sink } = stdoutSink((text) => writes.push(text));
  const perBatch = Math.ceil(LOG_BATCH_BYTES / line(0).length);
  for (let i = 0; i < perBatch - 1; i++) sink(line(i));
  expect(writes).toEqual([]);
  sink(line(perBatch - 1));
  expect(writes).toEqual([Array.from({ length: perBatch }, (_, i) => line(i)).join("")]);
});

test("what is held goes out within 100 ms, and at once when flushed; an empty flush writes nothing", async () => {
  const writes: string[] = [];
  const { sink, flush } = stdoutSink((text) => writes.push(text));
  flush();
  expect(writes).toEqual([]);
  sink(line(1));
  await Bun.sleep(150);
  expect(writes).toEqual([line(1)]);
  sink(line(2));
  flush();
  expect(writes).toEqual([line(1), line(2)]);
});

const access: AccessLine = { requestId: "req-1", method: "GET", route: "/users/:id", status: 200, durationMs: 0.42, userId: 7, problem: undefined, ip: "192.0.2.5" };
const accessLines = (level: "info" | "warn", l: AccessLine) => {
  const lines: string[] = [];
  createLogger((text) => lines.push(text), undefined, level, () => Date.UTC(2026, 11, 3)).request(l);
  return lines;
};

test("an access line is one JSON line with the fields in a fixed order, and no key for what a request lacks", () => {
  const [text] = accessLines("info", access);
  expect(text).toEndWith("}\n");
  expect(Object.entries(JSON.parse(text!))).toEqual([
    ["time", "2026-12-03T00:00:00.000Z"],
    ["level", "info"],
    ["msg", "request"],
    ["request_id", "req-1"],
    ["method", "GET"],
    ["route", "/users/:id"],
    ["status", 200],
    ["duration_ms", 0.42],
    ["user_id", 7],
    ["ip", "192.0.2.5"],
  ]);
  const refused = JSON.parse(accessLines("info", { ...access, userId: undefined, problem: "invalid_token", status: 401 })[0]!);
  expect(refused).not.toHaveProperty("user_id");
  expect(refused).toMatchObject({ status: 401, problem: "invalid_token" });
});

test("a method or a forwarded address with quotes, backslashes or a newline stays inside its own field", () => {
  const hostile = 'x", "injected": "1\\\n{"';
  const [text] = accessLines("info", { ...access, method: hostile, ip: hostile });
  expect(text!.split("\n")).toEqual([expect.any(String), ""]);
  const parsed = JSON.parse(text!);
  expect(parsed).not.toHaveProperty("injected");
  expect([parsed.method, parsed.ip]).toEqual([hostile, hostile]);
});

test("a method and an address are written exactly as JSON.stringify writes them, whatever they hold", () => {
  const texts = ["GET", "2001:db8::1", "::ffff:127.0.0.1", "", "tab\there", "del\u007f", "café", "日本", "lone \ud800 surrogate", "emoji 😀", "back\\slash", 'quote"d'];
  for (const text of texts) {
    const [line] = accessLines("info", { ...access, method: text, ip: text });
    expect(line).toContain(`"method":${JSON.stringify(text)},`);
    expect(line).toContain(`"ip":${JSON.stringify(text)}}`);
    expect(JSON.parse(line!)).toMatchObject({ method: text, ip: text });
  }
});

test("LOG_LEVEL=warn drops the access line before it is built", () => {
  expect(accessLines("warn", access)).toEqual([]);
});
