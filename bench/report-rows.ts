// The report's table as data: one row per metric of bench/run.sh (throughput, latency, uploads, cold start,
// memory), each with how to read it from a run, how to show it, and the target it is judged against.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { atLeast, atMost, below, int, mib, ms, pct, times, type Row, type Run } from "./report-data.ts";

/** The rows, in the report's order; a section title is a row with no value. */
export function reportRows(runs: Run[]): Row[] {
  const rows: Row[] = [];
  const section = (title: string) => rows.push({ metric: `**${title}**`, get: () => NaN, show: () => "" });

  const baselineRps = (r: Run) => (r.wrk("baseline1").rps + r.wrk("baseline2").rps) / 2;

  section("1–2. GET /me throughput (wrk -t1 -c32 -d10s after 2 s warm-up; server on core 0, wrk on core 1)");
  rows.push(
    {
      metric: "Baseline (bare Bun.serve) req/s, mean of the run before and after the service",
      get: baselineRps,
      show: int,
      note: (r) => `${int(r.wrk("baseline1").rps)} / ${int(r.wrk("baseline2").rps)}`,
    },
    {
      metric: "Baseline p99",
      get: (r) => (r.wrk("baseline1").p99_ms + r.wrk("baseline2").p99_ms) / 2,
      show: ms,
      note: (r) => `${ms(r.wrk("baseline1").p99_ms)} / ${ms(r.wrk("baseline2").p99_ms)}`,
    },
    { metric: "Service req/s — ACCESS_LOG=on (default, headline)", get: (r) => r.wrk("me-log").rps, show: int },
    { metric: "Service p99 — ACCESS_LOG=on", get: (r) => r.wrk("me-log").p99_ms, show: ms },
    {
      metric: "Service / baseline req/s — ACCESS_LOG=on",
      get: (r) => r.wrk("me-log").rps / baselineRps(r),
      show: pct,
      target: "≥ 50%",
      check: atLeast(0.5, pct),
    },
    { metric: "Service req/s — ACCESS_LOG=off (for comparison)", get: (r) => r.wrk("me-nolog").rps, show: int },
    { metric: "Service p99 — ACCESS_LOG=off", get: (r) => r.wrk("me-nolog").p99_ms, show: ms },
    {
      metric: "Service / baseline req/s — ACCESS_LOG=off (not the target config)",
      get: (r) => r.wrk("me-nolog").rps / baselineRps(r),
      show: pct,
      target: "(info)",
    },
    {
      metric: "Access log written per GET /me (ACCESS_LOG=on)",
      get: (r) => Number(r.text("me-log.log_bytes")) / r.wrk("me-log").requests,
      show: (n) => `${Math.round(n)} B`,
    },
  );

  const envOf = (label: string) => runs[0]!.text(`${label}.env`) ?? "default configuration";
  for (const [label, title] of [
    ["core0", `3–4. Login and login flood — server on core 0 (headline), wrk on core 1; service env: ${envOf("core0")}`],
    ["cores01", `3–4. Variant: server on cores 0,1 (taskset -c 0,1), wrk still on core 1 — shares a core with the server; service env: ${envOf("cores01")}`],
  ] as const) {
    section(title);
    rows.push(
      {
        metric: `POST /login p50 (-c4, 10 s) [${label}]`,
        get: (r) => r.wrk(`login-${label}`).p50_ms,
        show: ms,
        sources: [`login-${label}`],
        note: (r) => r.text(`${label}.parallelism`)?.replace(/^availableParallelism under /, "") ?? "",
      },
      { metric: `POST /login p99 [${label}]`, get: (r) => r.wrk(`login-${label}`).p99_ms, show: ms, sources: [`login-${label}`] },
      { metric: `POST /login logins/s [${label}]`, get: (r) => r.wrk(`login-${label}`).rps, show: (n) => n.toFixed(1), sources: [`login-${label}`] },
      { metric: `GET /me p99, -c8 alone [${label}]`, get: (r) => r.wrk(`me8-alone-${label}`).p99_ms, show: ms, sources: [`me8-alone-${label}`] },
      {
        metric: `GET /me p99, -c8 during login flood -c16 [${label}]`,
        get: (r) => r.wrk(`me8-flood-${label}`).p99_ms,
        show: ms,
        sources: [`me8-flood-${label}`],
      },
      {
        metric: `GET /me p99 flood / alone [${label}]${label === "cores01" ? " (variant)" : ""}`,
        get: (r) => r.wrk(`me8-flood-${label}`).p99_ms / r.wrk(`me8-alone-${label}`).p99_ms,
        show: times,
        target: "≤ 3×",
        check: atMost(3, times),
        sources: [`me8-alone-${label}`, `me8-flood-${label}`],
      },
      {
        metric: `GET /me req/s alone → during flood [${label}]`,
        get: (r) => r.wrk(`me8-flood-${label}`).rps,
        show: int,
        note: (r) => `${int(r.wrk(`me8-alone-${label}`).rps)} → ${int(r.wrk(`me8-flood-${label}`).rps)}`,
      },
      {
        metric: `Login flood: logins/s, p99 [${label}]`,
        get: (r) => r.wrk(`flood-${label}`).rps,
        show: (n) => `${n.toFixed(1)}/s`,
        sources: [`flood-${label}`],
        note: (r) => `p99 ${ms(r.wrk(`flood-${label}`).p99_ms)}`,
      },
      {
        metric: `POST /login p99, -c4 during GET /me flood -c32 [${label}]${label === "cores01" ? " (variant)" : ""}`,
        get: (r) => r.wrk(`login-meflood-${label}`).p99_ms,
        show: ms,
        target: "≤ 1 s",
        check: atMost(1000, ms),
        sources: [`login-meflood-${label}`, `meflood-${label}`],
        note: (r) => `${r.wrk(`login-meflood-${label}`).rps.toFixed(1)} logins/s, p50 ${ms(r.wrk(`login-meflood-${label}`).p50_ms)}; GET /me ${int(r.wrk(`meflood-${label}`).rps)}/s`,
      },
    );
  }

  if (runs.every((r) => existsSync(join(r.dir, "me8-flood-core0-limits.json")))) {
    const label = "core0-limits";
    section(`Extra, not the target: the same GET /me + login flood against the default configuration (rate limits on; one client IP, so logins past the per-IP limit get 429); server on core 0`);
    rows.push(
      { metric: `GET /me p99, -c8 alone [${label}]`, get: (r) => r.wrk(`me8-alone-${label}`).p99_ms, show: ms },
      { metric: `GET /me p99, -c8 during the login flood [${label}]`, get: (r) => r.wrk(`me8-flood-${label}`).p99_ms, show: ms },
      {
        metric: `GET /me p99 flood / alone [${label}] (info)`,
        get: (r) => r.wrk(`me8-flood-${label}`).p99_ms / r.wrk(`me8-alone-${label}`).p99_ms,
        show: times,
      },
      {
        metric: `GET /me req/s alone → during flood [${label}]`,
        get: (r) => r.wrk(`me8-flood-${label}`).rps,
        show: int,
        note: (r) => `${int(r.wrk(`me8-alone-${label}`).rps)} → ${int(r.wrk(`me8-flood-${label}`).rps)}`,
      },
      {
        metric: `Login flood answers/s, share that were not 2xx [${label}]`,
        get: (r) => r.wrk(`flood-${label}`).rps,
        show: (n) => `${int(n)}/s`,
        note: (r) => `${pct(r.wrk(`flood-${label}`).non2xx / Math.max(1, r.wrk(`flood-${label}`).requests))} non-2xx`,
      },
    );
  }

  section("5. Uploads — 16 parallel × ~5 MiB noise JPEG, 3 rounds, 16 users; server on core 0");
  rows.push(
    {
      metric: "Uploads/s",
      get: (r) => r.json("uploads").uploads_per_s,
      show: (n) => n.toFixed(2),
      note: (r) => `image ${(r.json("uploads").image_bytes / 1048576).toFixed(2)} MiB; rounds ${r.json("uploads").round_ms.join(", ")} ms`,
    },
    { metric: "Input MiB/s", get: (r) => r.json("uploads").input_mib_per_s, show: (n) => n.toFixed(1) },
    {
      metric: "Upload latency p50 / max",
      get: (r) => r.json("uploads").latency_ms.p50,
      show: ms,
      note: (r) => `max ${ms(r.json("uploads").latency_ms.max)}`,
    },
    {
      metric: "Non-200 answers (of 48)",
      get: (r) => r.json("uploads").non200,
      show: (n) => String(n),
      target: "0",
      check: (v) => (v === 0 ? "yes" : `**NO** — ${v} non-200`),
      note: (r) => JSON.stringify(r.json("uploads").statuses),
    },
    {
      metric: "Server VmRSS before the uploads (after 16 registrations + logins)",
      get: (r) => r.json("uploads").rss_before_kib,
      show: mib,
      note: (r) => `VmHWM then ${mib(r.json("uploads").hwm_before_kib)}`,
    },
    {
      metric: "Server peak RSS (VmHWM after the 3 rounds)",
      get: (r) => r.json("uploads").hwm_after_kib,
      show: mib,
      target: "< 300 MiB",
      check: below(300 * 1024, mib),
      note: (r) => {
        const u = r.json("uploads");
        const rounds = (u.round_max_rss_kib as number[] | undefined)?.map((k) => (k / 1024).toFixed(0)).join(" / ");
        return `VmRSS after ${mib(u.rss_after_kib)}${rounds ? `; sampled max VmRSS per round ${rounds} MiB` : ""}`;
      },
    },
  );

  section("6–7. Start-up and idle (server on core 0)");
  rows.push(
    {
      metric: "Cold start, spawn → first 200 /healthz (median of 7)",
      get: (r) => r.json("coldstart").median_ms,
      show: ms,
      target: "< 150 ms",
      check: below(150, ms),
      note: (r) => `min ${ms(r.json("coldstart").min_ms)}, max ${ms(r.json("coldstart").max_ms)}`,
    },
    {
      metric: "Idle RSS (fresh, 20 × /healthz, 2 s idle)",
      get: (r) => r.json("idle").rss_kib,
      show: mib,
      target: "< 80 MiB",
      check: below(80 * 1024, mib),
    },
  );
  return rows;
}
