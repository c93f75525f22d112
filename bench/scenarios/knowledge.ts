/**
 * Hook for the knowledge evaluation: when `server/knowledge/evaluate.ts` exists, the bench calls
 * its evaluation function (with `bench/knowledge/labelled.json` when present) and includes its
 * table, then the answer set's (`bench/knowledge/answers.json`). Until then this scenario reports
 * that the hook is waiting.
 */
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { Ctx } from "../lib/context";
import type { ScenarioResult } from "../lib/report";
import { ROOT } from "../lib/servers";

export const EVALUATE_MODULE = path.join(ROOT, "server/knowledge/evaluate.ts");
export const LABELLED = path.join(ROOT, "bench/knowledge/labelled.json");

type EvaluateFn = (options: Record<string, unknown>) => unknown;

/** Renders whatever the evaluation returns: a Markdown table string, rows of objects, or JSON. */
function render(result: unknown): string {
  if (typeof result === "string") return result;
  const r = result as { table?: unknown; markdown?: unknown; rows?: unknown };
  if (typeof r?.markdown === "string") return r.markdown;
  if (typeof r?.table === "string") return r.table;
  const rows = Array.isArray(result) ? result : Array.isArray(r?.rows) ? r.rows : Array.isArray(r?.table) ? r.table : null;
  if (rows && rows.length && typeof rows[0] === "object") {
    const cols = [...new Set(rows.flatMap((x) => Object.keys(x as object)))];
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- table cells are strings, numbers or booleans
    const fmt = (v: unknown) => (typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toFixed(3)) : String(v ?? "–"));
    return [`| ${cols.join(" | ")} |`, `|${cols.map(() => "---").join("|")}|`, ...rows.map((x) => `| ${cols.map((c) => fmt((x as Record<string, unknown>)[c])).join(" | ")} |`)].join("\n");
  }
  return "```json\n" + JSON.stringify(result, null, 2) + "\n```";
}

export async function runKnowledgeEvaluation(ctx: Pick<Ctx, "log" | "quick">): Promise<ScenarioResult | null> {
  if (!fs.existsSync(EVALUATE_MODULE)) {
    ctx.log("  knowledge: server/knowledge/evaluate.ts not present, hook skipped");
    return null;
  }
  const mod = (await import(pathToFileURL(EVALUATE_MODULE).href)) as Record<string, unknown>;
  const labelledFile = fs.existsSync(LABELLED) ? LABELLED : undefined;
  let table: string;
  if (typeof mod.evaluateRetrieval === "function") {
    // server/knowledge/evaluate.ts: evaluateRetrieval({ labelledFile }) → Evaluation, formatEvaluation(e) → its table.
    const evaluation = await (mod.evaluateRetrieval as EvaluateFn)({ labelledFile });
    table = typeof mod.formatEvaluation === "function" ? String((mod.formatEvaluation as (e: unknown) => unknown)(evaluation)) : render(evaluation);
    // …and evaluateAnswers() → the answer set's fact-contained rate per language, formatAnswerEvaluation(e) → its table.
    if (typeof mod.evaluateAnswers === "function" && typeof mod.formatAnswerEvaluation === "function") {
      ctx.log("  knowledge: answer set");
      table += `\n\n${String((mod.formatAnswerEvaluation as (e: unknown) => unknown)(await (mod.evaluateAnswers as EvaluateFn)({})))}`;
    }
  } else {
    const fn = (mod.evaluate ?? mod.evaluateKnowledge ?? mod.default ?? Object.values(mod).find((v) => typeof v === "function")) as EvaluateFn | undefined;
    if (typeof fn !== "function") throw new Error("server/knowledge/evaluate.ts exports no evaluation function");
    const labelled = labelledFile ? (JSON.parse(fs.readFileSync(labelledFile, "utf8")) as unknown) : undefined;
    table = render(await fn({ labelled, labelledFile, quick: ctx.quick }));
  }
  const labelled = labelledFile;
  return {
    id: "knowledge",
    title: "Knowledge retrieval and answer evaluation (server/knowledge/evaluate.ts)",
    method: `The evaluation functions of \`server/knowledge/evaluate.ts\`${labelled ? ", on `bench/knowledge/labelled.json`" : ""} (retrieval) and \`bench/knowledge/answers.json\` (answers of the built-in model: fact-contained rate), called in the bench process; their tables as they returned them.`,
    rows: [],
    appendix: table,
  };
}
