// Turns the raw numbers of one or more runs of bench/run.sh into a markdown report.
//   bun bench/report.ts bench/out/runs/<run>              one run: its values
//   bun bench/report.ts bench/out/runs/<a> bench/out/runs/<b> …   median over the runs, each run beside it
// Every metric is computed per run (a ratio uses its own run's baseline); "value" is the median of
// those per-run values and "met?" is judged on that median.
import { existsSync } from "node:fs";
import { basename, join } from "node:path";
import { loadRun, median, wrkTrouble } from "./report-data.ts";
import { reportRows } from "./report-rows.ts";

const dirs = process.argv.slice(2);
if (dirs.length === 0) {
  process.stderr.write("usage: bun bench/report.ts <run-dir> [<run-dir> …]\n");
  process.exit(2);
}
const runs = dirs.map(loadRun);
const rows = reportRows(runs);

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
