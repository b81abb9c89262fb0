// The stdout sink: lines are held and written together, in order, once LOG_BATCH_BYTES have
// collected, every 100 ms, or when flushed (at shutdown); never a write with nothing in it.
import { expect, test } from "bun:test";
import { LOG_BATCH_BYTES, stdoutSink } from "../src/log.ts";

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
