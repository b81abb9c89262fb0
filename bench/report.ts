// Turns the raw numbers of one or more runs of bench/run.sh into a markdown report.
//   bun bench/report.ts bench/out/runs/<run>              one run: its values
//   bun bench/report.ts bench/out/runs/<a> bench/out/runs/<b> …   median over the runs, each run beside it
// Every metric is computed per run (a ratio uses its own run's baseline); "value" is the median of
// those per-run values and "met?" is judged on that median.
import { existsSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";

type Wrk = {
  requests: number;
  rps: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  p999_ms: number;
  lat_max_ms: number;
  err_connect: number;
  err_read: number;
  err_write: number;
  err_timeout: number;
  non2xx: number;
};

type Run = {
  dir: string;
  meta: Record<string, string>;
  wrk: (name: string) => Wrk;
  json: (name: string) => any;
  text: (name: string) => string | undefined;
};

function loadRun(dir: string): Run {
  const meta: Record<string, string> = {};
  for (const line of readFileSync(join(dir, "meta.txt"), "utf8").split("\n")) {
    const at = line.indexOf(": ");
    if (at > 0) meta[line.slice(0, at)] = line.slice(at + 2);
  }
  const json = (name: string) => JSON.parse(readFileSync(join(dir, `${name}.json`), "utf8"));
  const text = (name: string) => (existsSync(join(dir, name)) ? readFileSync(join(dir, name), "utf8").trim() : undefined);
  return { dir, meta, wrk: json, json, text };
}

const dirs = process.argv.slice(2);
if (dirs.length === 0) {
  process.stderr.write("usage: bun bench/report.ts <run-dir> [<run-dir> …]\n");
  process.exit(2);
}
const runs = dirs.map(loadRun);

const median = (values: number[]) => {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const int = (n: number) => Math.round(n).toLocaleString("en-US");
const ms = (n: number) => `${n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : Math.round(n)} ms`;
const mib = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const times = (x: number) => `${x.toFixed(2)}×`;

type Check = (v: number) => string;
const atLeast = (target: number, show: (n: number) => string): Check => (v) =>
  v >= target ? `yes (+${pct(v / target - 1)} margin)` : `**NO** — ${show(v)} vs ≥ ${show(target)}, short by ${pct(1 - v / target)}`;
const atMost = (target: number, show: (n: number) => string): Check => (v) =>
  v <= target ? `yes (${pct(1 - v / target)} under)` : `**NO** — ${show(v)} vs ≤ ${show(target)}, over by ${pct(v / target - 1)}`;
const below = (target: number, show: (n: number) => string): Check => (v) =>
  v < target ? `yes (${pct(1 - v / target)} under)` : `**NO** — ${show(v)} vs < ${show(target)}, over by ${pct(v / target - 1)}`;

type Row = {
  metric: string;
  get: (r: Run) => number;
  show: (n: number) => string;
  target?: string;
  check?: Check;
  note?: (r: Run) => string;
  /** wrk runs behind the value: any non-2xx answer or socket error there marks the value ⚠. */
  sources?: string[];
};
const rows: Row[] = [];
const section = (title: string) => rows.push({ metric: `**${title}**`, get: () => NaN, show: () => "" });

/** "" when the wrk run was clean, else what went wrong ("3 non-2xx, 1 timeout"). */
const wrkTrouble = (w: Wrk): string =>
  [
    [w.non2xx, "non-2xx"],
    [w.err_timeout, "timeout"],
    [w.err_connect + w.err_read + w.err_write, "socket error"],
  ]
    .filter(([n]) => (n as number) > 0)
    .map(([n, what]) => `${n} ${what}${(n as number) > 1 && what !== "non-2xx" ? "s" : ""}`)
    .join(", ");

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

// ---------------------------------------------------------------------------------------------
const out: string[] = [];
const m0 = runs[0]!.meta;
out.push(`# profile-service benchmark${runs.length > 1 ? ` — median of ${runs.length} runs` : ""}`, "");
out.push(
  `Machine: ${m0.nproc} CPUs (${m0.cpu_model}), ${m0.mem_total} RAM, ${m0.kernel}, bun ${m0.bun}, wrk ${m0.wrk}.`,
  "",
);
for (const r of runs) {
  const changed = r.meta.src_fingerprint_end && r.meta.src_fingerprint_end !== r.meta.src_fingerprint;
  out.push(
    `- run \`${basename(r.dir)}\` (${r.meta.date_utc} UTC): source \`${r.meta.src_fingerprint}\` (snapshot of src/ at start; newest file ${r.meta.src_newest_file})` +
      `${changed ? `, **src/ changed during the run** (now \`${r.meta.src_fingerprint_end}\`; the run kept measuring its snapshot)` : ""}; ` +
      `idle check: ${r.meta.idle_check ?? "n/a"}; ` +
      `\`bun test\` processes at start/end ${r.meta.bun_test_procs_start}/${r.meta.bun_test_procs_end ?? "?"}, ` +
      `load average at start ${r.meta.loadavg_start}, at end ${r.meta.loadavg_end ?? "?"}`,
  );
}
const fingerprints = new Set(runs.map((r) => r.meta.src_fingerprint));
if (fingerprints.size > 1) out.push("", `**Warning: these runs measured ${fingerprints.size} different versions of src/; the median mixes them.**`);
out.push("");

const multi = runs.length > 1;
const head = ["metric", multi ? `value (median of ${runs.length})` : "value", "target", "met?", ...(multi ? runs.map((_, i) => `run ${i + 1}`) : []), "notes"];
out.push(`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`);
for (const row of rows) {
  if (row.show(0) === "" && Number.isNaN(row.get(runs[0]!))) {
    out.push(`| ${row.metric} |${" |".repeat(head.length - 1)}`);
    continue;
  }
  const values = runs.map(row.get);
  const value = median(values);
  const troubles = runs.map((r) => (row.sources ?? []).map((name) => wrkTrouble(r.wrk(name))).filter(Boolean).join(", "));
  const tainted = troubles.map(Boolean);
  const mark = (text: string, trouble: string) => (trouble ? `${text} ⚠ ${trouble}` : text);
  const verdict = !row.check ? "" : tainted.some(Boolean) ? "n/a — invalid: non-2xx answers, timeouts or socket errors behind it" : row.check(value);
  const cells = [row.metric, mark(row.show(value), troubles.filter(Boolean).join("; ")), row.target ?? "", verdict];
  if (multi) {
    cells.push(...values.map((v, i) => mark(row.check && !row.check(v).startsWith("yes") ? `${row.show(v)} ✗` : row.show(v), troubles[i]!)));
    cells.push(runs.map((r) => row.note?.(r)).filter(Boolean).join(" · "));
  } else cells.push(row.note?.(runs[0]!) ?? "");
  out.push(`| ${cells.join(" | ")} |`);
}

// Anything wrk counted as an error or a non-2xx answer is reported, never hidden.
const problems: string[] = [];
for (const r of runs) {
  for (const name of [
    "baseline1", "baseline2", "me-log", "me-nolog",
    "login-core0", "me8-alone-core0", "me8-flood-core0", "flood-core0", "login-meflood-core0", "meflood-core0",
    "login-cores01", "me8-alone-cores01", "me8-flood-cores01", "flood-cores01", "login-meflood-cores01", "meflood-cores01",
    "me8-alone-core0-limits", "me8-flood-core0-limits", "flood-core0-limits",
  ]) {
    if (!existsSync(join(r.dir, `${name}.json`))) continue;
    const w = r.wrk(name);
    const errs = w.err_connect + w.err_read + w.err_write + w.err_timeout;
    if (w.non2xx > 0 || errs > 0) {
      const expected = name === "flood-core0-limits" ? " (expected: the rate limiter's 429s)" : "";
      problems.push(`${basename(r.dir)} ${name}: ${w.non2xx} non-2xx/3xx of ${w.requests}${expected}, socket errors connect ${w.err_connect} read ${w.err_read} write ${w.err_write} timeout ${w.err_timeout}`);
    }
  }
}
// Noise: CPU used outside the benchmark's process group, and steal, during each measured window.
const NOISE_WINDOWS = [
  "baseline1", "me-log", "me-nolog", "baseline2",
  "login-core0", "me8-alone-core0", "me8-flood-core0",
  "login-cores01", "me8-alone-cores01", "me8-flood-cores01",
  "me8-alone-core0-limits", "me8-flood-core0-limits",
  "uploads", "coldstart",
];
type Noise = {
  foreign_cpu_pct: number;
  kernel_threads_pct?: number;
  steal_pct: number;
  cpu0_busy_pct?: number;
  cpu1_busy_pct?: number;
  server_cpu_pct?: number;
};
const pct0 = (n: number | undefined) => (n === undefined ? "–" : `${n.toFixed(0)}%`);
const flagged: string[] = [];
const noiseRows: string[] = [];
for (const [i, r] of runs.entries()) {
  for (const name of NOISE_WINDOWS) {
    if (!existsSync(join(r.dir, `${name}.cpu.json`))) continue;
    const n = r.json(`${name}.cpu`) as Noise;
    const bad = n.foreign_cpu_pct > 10 || n.steal_pct > 5;
    if (bad) flagged.push(`run ${i + 1} ${name} (other processes ${pct0(n.foreign_cpu_pct)}, steal ${pct0(n.steal_pct)})`);
    noiseRows.push(
      `| ${i + 1} | ${name}${bad ? " ⚠" : ""} | ${pct0(n.foreign_cpu_pct)} | ${pct0(n.kernel_threads_pct)} | ${pct0(n.steal_pct)} | ` +
        `${pct0(n.cpu0_busy_pct)} | ${pct0(n.cpu1_busy_pct)} | ${name === "coldstart" ? "–" : pct0(n.server_cpu_pct)} |`,
    );
  }
}
if (noiseRows.length) {
  out.push(
    "",
    flagged.length
      ? `Noise: in ${flagged.length} measured window(s) other processes used more than 10% of a core or steal passed 5%, so those numbers are suspect: ${flagged.join("; ")}.`
      : "Noise: in no measured window did other processes use more than 10% of a core, nor steal pass 5%.",
    "",
    "<details><summary>CPU per measured window (% of one core)</summary>",
    "",
    "Other processes = user processes outside this benchmark; kernel threads = ksoftirqd, kworkers (partly our own loopback traffic); server = the process under test (all its threads).",
    "",
    "| run | window | other processes | kernel threads | steal | core 0 busy | core 1 busy | server |",
    "|---|---|---|---|---|---|---|---|",
    ...noiseRows,
    "",
    "</details>",
  );
}

out.push("");
out.push(problems.length ? `wrk errors or non-2xx answers:\n\n${problems.map((p) => `- ${p}`).join("\n")}` : "wrk: no socket errors and no non-2xx answers in any run.");
console.log(out.join("\n"));
