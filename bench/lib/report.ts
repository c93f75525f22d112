import fs from "node:fs";
import path from "node:path";
import type { Summary } from "./stats";

/** One line of a scenario table: Parley beside the raw baseline, with the ratio and the target. */
export interface Row {
  metric: string;
  /** "ms", "events/s", "ops/s", "MiB", "count", … */
  unit: string;
  parley: Summary | null;
  baseline: Summary | null;
  /** Parley relative to the baseline: latency as Parley/raw (×), rates as Parley/raw (%). */
  ratio: number | null;
  ratioKind?: "x" | "%";
  target: string;
  met: boolean | null;
  /** Extra figures shown beside (scenario 7: Parley on Postgres/Redis; scenario 8: Parley). */
  beside?: Summary | null;
  note?: string;
}

export interface ScenarioResult {
  id: string;
  title: string;
  /** Markdown: how it was measured. */
  method: string;
  /** Column titles for this scenario's table. */
  columns?: { subject?: string; baseline?: string; beside?: string };
  rows: Row[];
  /** Markdown appended after the table (plans, profiles, findings). */
  appendix?: string;
  error?: string;
  seconds?: number;
}

export interface Report {
  title: string;
  mode: "quick" | "full";
  startedAt: string;
  finishedAt?: string;
  machine: Record<string, string | number>;
  scenarios: ScenarioResult[];
  notes: string[];
}

const fmtNum = (v: number | undefined | null, unit?: string): string => {
  if (v === undefined || v === null || Number.isNaN(v)) return "–";
  const abs = Math.abs(v);
  const digits = unit === "ms" ? (abs < 10 ? 2 : abs < 100 ? 1 : 0) : abs < 10 ? 2 : abs < 100 ? 1 : 0;
  return v.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: 0 });
};

export function formatRatio(row: Row): string {
  if (row.ratio === null || Number.isNaN(row.ratio)) return "–";
  return row.ratioKind === "%" ? `${(row.ratio * 100).toFixed(0)} %` : `×${row.ratio.toFixed(2)}`;
}

const met = (m: boolean | null) => (m === null ? "–" : m ? "yes" : "**NO**");

export function scenarioTable(s: ScenarioResult): string {
  const subject = s.columns?.subject ?? "Parley";
  const baseline = s.columns?.baseline ?? "baseline";
  const hasBeside = s.rows.some((r) => r.beside !== undefined);
  const head = [
    "metric",
    `${subject} p50`,
    `${subject} p99`,
    `${baseline} p50`,
    `${baseline} p99`,
    "ratio",
    ...(hasBeside ? [`${s.columns?.beside ?? "beside"} p50`, `${s.columns?.beside ?? "beside"} p99`] : []),
    "target",
    "met?",
  ];
  const lines = [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`];
  for (const r of s.rows) {
    const cells = [
      `${r.metric} (${r.unit})`,
      fmtNum(r.parley?.p50, r.unit),
      fmtNum(r.parley?.p99, r.unit),
      fmtNum(r.baseline?.p50, r.unit),
      fmtNum(r.baseline?.p99, r.unit),
      formatRatio(r),
      ...(hasBeside ? [fmtNum(r.beside?.p50, r.unit), fmtNum(r.beside?.p99, r.unit)] : []),
      r.target || "–",
      met(r.met),
    ];
    lines.push(`| ${cells.join(" | ")} |`);
  }
  const byNote = new Map<string, string[]>();
  for (const r of s.rows) if (r.note) byNote.set(r.note, [...(byNote.get(r.note) ?? []), r.metric]);
  const notes = [...byNote].map(([note, metrics]) => `- *${metrics.join("*, *")}*: ${note}`);
  return [lines.join("\n"), notes.length ? `\n${notes.join("\n")}` : ""].join("\n");
}

export function toMarkdown(report: Report): string {
  const out: string[] = [];
  out.push(`# ${report.title}`, "");
  out.push(`Mode: **${report.mode}** · started ${report.startedAt} · finished ${report.finishedAt ?? "(unfinished)"}`, "");
  out.push("| machine | |", "|---|---|");
  for (const [k, v] of Object.entries(report.machine)) out.push(`| ${k} | ${v} |`);
  out.push("");
  out.push(
    "Every figure is the median (p50) and the 99th percentile (p99) over all samples of all rounds, after a warm-up. " +
      "For rates (events/s, ops/s) the figure is per round: p50 is the median round and the p99 column the slowest round. " +
      "Ratio: latency as subject ÷ baseline (×, lower is better), rates as subject ÷ baseline (%, higher is better). " +
      "Baselines run in the same process, on the same servers, interleaved round by round with the subject.",
    "",
  );
  const summary: string[] = [];
  for (const s of report.scenarios) {
    for (const r of s.rows) if (r.met === false) summary.push(`- ${s.title} — ${r.metric}: target ${r.target}`);
    if (s.error) summary.push(`- ${s.title}: failed to run (${s.error.split("\n")[0]})`);
  }
  out.push("## Targets missed", "", summary.length ? summary.join("\n") : "None.", "");
  for (const s of report.scenarios) {
    out.push(`## ${s.title}`, "");
    if (s.seconds !== undefined) out.push(`_ran ${s.seconds.toFixed(0)} s_`, "");
    out.push(s.method.trim(), "");
    if (s.error) out.push("**Error:**", "", "```", s.error, "```", "");
    if (s.rows.length) out.push(scenarioTable(s), "");
    if (s.appendix) out.push(s.appendix.trim(), "");
  }
  if (report.notes.length) out.push("## Notes", "", ...report.notes.map((n) => `- ${n}`), "");
  return out.join("\n");
}

export function writeReport(report: Report, dir: string) {
  fs.writeFileSync(path.join(dir, "report.json"), JSON.stringify(report, null, 2) + "\n");
  fs.writeFileSync(path.join(dir, "report.md"), toMarkdown(report));
}

/** Builds a latency row (lower is better): ratio = subject p50 ÷ baseline p50. */
export function latencyRow(
  metric: string,
  parley: Summary | null,
  baseline: Summary | null,
  target: { text: string; check?: (p: Summary) => boolean } = { text: "" },
  extra: Partial<Row> = {},
): Row {
  const ratio = parley && baseline && baseline.p50 > 0 ? parley.p50 / baseline.p50 : null;
  return {
    metric,
    unit: "ms",
    parley,
    baseline,
    ratio,
    ratioKind: "x",
    target: target.text,
    met: parley && target.check ? target.check(parley) : null,
    ...extra,
  };
}

/** Builds a rate row (higher is better): ratio = subject p50 ÷ baseline p50. */
export function rateRow(
  metric: string,
  unit: string,
  parley: Summary | null,
  baseline: Summary | null,
  target: { text: string; minRatio?: number } = { text: "" },
  extra: Partial<Row> = {},
): Row {
  const ratio = parley && baseline && baseline.p50 > 0 ? parley.p50 / baseline.p50 : null;
  return {
    metric,
    unit,
    parley,
    baseline,
    ratio,
    ratioKind: "%",
    target: target.text,
    met: target.minRatio !== undefined && ratio !== null ? ratio >= target.minRatio : null,
    ...extra,
  };
}
