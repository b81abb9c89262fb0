// Issue 14.1 against the real entry point: text that NFC used to take seconds over, sent to every
// route that takes text, answers 422 within 50 ms, and a /healthz sent meanwhile within 50 ms too.
import { expect, test } from "bun:test";
import { measureTextCost, table } from "../../bench/text-cost.ts";

test("every route that takes text refuses costly-to-normalise text at once, and /healthz meanwhile is not held up", async () => {
  // Three tries per route; the bar (50 ms) holds for the best of them, so one scheduling
  // hiccup on a loaded machine does not decide it. Before the fix every try took 4–6 s.
  const results = await measureTextCost(3, 2000);
  expect(results.length).toBeGreaterThan(55);
  const slow: string[] = [];
  for (const m of results) {
    expect({ label: m.label, statuses: m.statuses }).toEqual({ label: m.label, statuses: [422, 422, 422] });
    if (Math.min(...m.routeMs) >= 50 || Math.min(...m.healthMs) >= 50) slow.push(m.label);
    // No single try comes anywhere near the seconds NFC took.
    expect(Math.max(...m.routeMs, ...m.healthMs)).toBeLessThan(1000);
  }
  if (slow.length > 0) console.log(table(results));
  expect(slow).toEqual([]);
}, 60_000);
