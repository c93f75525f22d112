import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import v8 from "node:v8";
import vm from "node:vm";
import { eq } from "drizzle-orm";
import { openDb } from "../../db";
import { knowledgeBases, knowledgeChunks, knowledgeDocuments, tenants } from "../../db/schema";
import { defaultStrategy } from "../../common/settings";
import { createOfflineModel } from "../platform/models/offline";
import { chunkBlocks } from "./chunk";
import { createOfflineEmbedder, type Embedder } from "./embed";
import { parseText, type TextFormat } from "./parse";
import { indexDocument, sha256Hex } from "./repository";
import { searchChunks, toReference, type RetrievalSettings, type ScoredChunk } from "./retrieve";
import { openVectorStore, type VectorBackend } from "./vectorStore";
import { loadWordVectors } from "./wordVectors";

/**
 * Retrieval quality on Parley's labelled set (bench/knowledge/labelled.json): hit@1 and hit@5 of
 * keyword, vector and hybrid retrieval, and what the offline embedder costs to load; and answer
 * quality on the answer set (bench/knowledge/answers.json): how many of the offline model's
 * answers contain the fact their question asks for. Each runs on an in-memory PGlite of its own.
 * `node --import tsx server/knowledge/evaluate.ts` prints both tables.
 */

export const LABELLED_SET = path.resolve("bench/knowledge/labelled.json");
export const ANSWER_SET = path.resolve("bench/knowledge/answers.json");

interface SetDocument {
  title: string;
  path: string;
  mimeType: TextFormat;
}

interface LabelledSet {
  documents: SetDocument[];
  /** `language` is "zh" for the Chinese questions, absent for English ones. */
  questions: { question: string; document: string; anchor: string; language?: string }[];
}

/** A fact an answer must contain: a string, or a list of alternatives any one of which will do. */
type Fact = string | string[];

export interface AnswerSet {
  documents: SetDocument[];
  /** `language` is "zh" for the Chinese questions, absent for English ones; `topic` "incident" for those not about Parley itself. */
  questions: { question: string; facts: Fact[]; language?: string; topic?: string }[];
}

export interface MethodResult {
  method: string;
  hitAt1: number;
  hitAt5: number;
  /** Questions with no result at all (thresholds dropped everything). */
  empty: number;
}

export interface Evaluation {
  questions: number;
  chunks: number;
  vectors: VectorBackend;
  embedder: { id: string; loadMs: number; memoryMb: number };
  methods: MethodResult[];
  /** The same, for each language's questions alone ("en", "zh"). */
  languages: { language: string; questions: number; methods: MethodResult[] }[];
  /** Per question and method, the chunks ranked, as "document title#position" (the same in every run). */
  rankings: Record<string, string[]>[];
}

/** Every method sees everything here: only the ranking is measured. */
const RANK_ONLY: RetrievalSettings = { keywordThreshold: 0, vectorThreshold: 0, embeddingTopK: 10, rerankTopK: 5, rerankThreshold: 0 };

export async function evaluateRetrieval(options: { vectors?: VectorBackend; labelledFile?: string; embedder?: Embedder } = {}): Promise<Evaluation> {
  const set = JSON.parse(readFileSync(options.labelledFile ?? LABELLED_SET, "utf8")) as LabelledSet;

  const heapBefore = memoryInUse();
  const loadStarted = performance.now();
  const embedder = options.embedder ?? createOfflineEmbedder(loadWordVectors());
  const loadMs = performance.now() - loadStarted;
  const memoryMb = (memoryInUse() - heapBefore) / 1024 / 1024;

  const { handle, deps, baseId } = await indexedBase(set.documents, embedder, options.vectors);
  try {
    // A question's answer: the chunks of its document holding its anchor (overlap may make two).
    const chunks = await handle.db
      .select({ position: knowledgeChunks.position, content: knowledgeChunks.content, title: knowledgeDocuments.title })
      .from(knowledgeChunks)
      .innerJoin(knowledgeDocuments, eq(knowledgeDocuments.id, knowledgeChunks.documentId));
    const answers = set.questions.map((q) => {
      const ids = new Set(chunks.filter((c) => c.title === q.document && c.content.includes(q.anchor)).map((c) => placeOf(c.title, c.position)));
      if (ids.size === 0) throw new Error(`No chunk of "${q.document}" contains the anchor "${q.anchor}": update ${LABELLED_SET}`);
      return ids;
    });

    const defaults = defaultStrategy();
    const methods = ["keyword", "vector", "hybrid", "hybrid, session defaults"] as const;
    const rankings: Record<string, string[]>[] = [];
    for (const q of set.questions) {
      const ranked = await searchChunks(deps, { baseIds: [baseId], query: q.question, settings: RANK_ONLY });
      const withDefaults = await searchChunks(deps, { baseIds: [baseId], query: q.question, settings: defaults });
      const ids = (list: ScoredChunk[]) => list.map((c) => placeOf(c.source, c.position));
      rankings.push({
        keyword: ids(ranked.keywordHits),
        vector: ids(ranked.vectorHits),
        hybrid: ids(ranked.hits),
        "hybrid, session defaults": ids(withDefaults.hits),
      });
    }
    // asked holds indices of questions, each with its answers and a ranking by every method.
    const score = (method: string, asked: number[]): MethodResult => {
      const hits = (k: number) => asked.filter((i) => rankings[i]![method]!.slice(0, k).some((id) => answers[i]!.has(id))).length;
      return { method, hitAt1: hits(1) / asked.length, hitAt5: hits(5) / asked.length, empty: asked.filter((i) => rankings[i]![method]!.length === 0).length };
    };
    const all = set.questions.map((_, i) => i);
    const languageOf = (i: number) => set.questions[i]!.language ?? "en";
    return {
      questions: set.questions.length,
      chunks: chunks.length,
      vectors: deps.vectors.backend,
      embedder: { id: embedder.id, loadMs, memoryMb },
      methods: methods.map((m) => score(m, all)),
      languages: [...new Set(all.map(languageOf))].map((language) => {
        const asked = all.filter((i) => languageOf(i) === language);
        return { language, questions: asked.length, methods: methods.map((m) => score(m, asked)) };
      }),
      rankings,
    };
  } finally {
    await handle.close();
  }
}

/** An in-memory database holding `documents` in one knowledge base; the caller closes it. */
async function indexedBase(documents: SetDocument[], embedder: Embedder, vectors?: VectorBackend) {
  const handle = await openDb({ dataDir: "memory://", pgvector: vectors !== "array" });
  try {
    const deps = { db: handle.db, vectors: await openVectorStore(handle.db), embedder };
    // insert … returning gives the one row inserted.
    const [tenant] = await handle.db.insert(tenants).values({ name: "evaluation" }).returning();
    const [base] = await handle.db.insert(knowledgeBases).values({ tenantId: tenant!.id, name: "Labelled set" }).returning();
    for (const doc of documents) {
      const text = readFileSync(path.resolve(doc.path), "utf8");
      const document = { title: doc.title, mimeType: doc.mimeType, sizeBytes: Buffer.byteLength(text), contentHash: sha256Hex(text), chunks: chunkBlocks(parseText(text, doc.mimeType)) };
      await indexDocument(deps, { tenantId: tenant!.id, knowledgeBaseId: base!.id, createdBy: null }, document);
    }
    return { handle, deps, baseId: base!.id };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

export interface AnswerResult {
  question: string;
  language: string;
  topic?: string;
  answer: string;
  /** The titles of the documents the answer's sources come from, best first. */
  sources: string[];
  /** The facts the answer lacks (each as its first alternative); none: it contains them all. */
  missing: string[];
}

export interface AnswerEvaluation {
  questions: number;
  /** Per language ("en", "zh"): how many answers contain every fact their question asks for. */
  languages: { language: string; questions: number; factContained: number }[];
  results: AnswerResult[];
}

/** The facts of `facts` that `answer` does not contain. */
export function missingFacts(answer: string, facts: Fact[]): string[] {
  return facts.filter((fact) => !(Array.isArray(fact) ? fact : [fact]).some((f) => answer.includes(f))).map((fact) => (Array.isArray(fact) ? fact[0]! : fact));
}

/**
 * The answer set asked as a session with the default strategy asks it: retrieval with the
 * defaults, then the built-in offline model's answer from what was retrieved.
 */
export async function evaluateAnswers(options: { answerFile?: string; embedder?: Embedder } = {}): Promise<AnswerEvaluation> {
  const set = JSON.parse(readFileSync(options.answerFile ?? ANSWER_SET, "utf8")) as AnswerSet;
  const embedder = options.embedder ?? createOfflineEmbedder(loadWordVectors());
  const model = createOfflineModel({ tokenDelayMs: 0 });
  const { handle, deps, baseId } = await indexedBase(set.documents, embedder);
  try {
    const results: AnswerResult[] = [];
    for (const q of set.questions) {
      const { hits } = await searchChunks(deps, { baseIds: [baseId], query: q.question, settings: defaultStrategy() });
      let answer = "";
      for await (const chunk of model.stream({ messages: [{ role: "user", content: q.question }], references: hits.map(toReference), signal: new AbortController().signal })) {
        if (chunk.type === "delta") answer += chunk.text;
      }
      results.push({ question: q.question, language: q.language ?? "en", topic: q.topic, answer, sources: hits.map((h) => h.source), missing: missingFacts(answer, q.facts) });
    }
    const languages = [...new Set(results.map((r) => r.language))].map((language) => {
      const asked = results.filter((r) => r.language === language);
      return { language, questions: asked.length, factContained: asked.filter((r) => r.missing.length === 0).length / asked.length };
    });
    return { questions: results.length, languages, results };
  } finally {
    await handle.close();
  }
}

export function formatAnswerEvaluation(e: AnswerEvaluation): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  return [
    `Answers of the built-in offline model on the answer set: ${e.questions} questions, retrieval with the session defaults.`,
    "",
    "| language | questions | fact contained |",
    "|---|---|---|",
    ...e.languages.map((l) => `| ${l.language} | ${l.questions} | ${pct(l.factContained)} |`),
    "",
    ...e.results.filter((r) => r.missing.length > 0).map((r) => `- missing ${r.missing.map((f) => `\`${f}\``).join(", ")}: ${r.question}`),
  ].join("\n");
}

/** Live memory (JS heap and buffers) after a full garbage collection, so load costs are not noise. */
const placeOf = (title: string, position: number) => `${title}#${position}`;

function memoryInUse(): number {
  v8.setFlagsFromString("--expose-gc");
  (vm.runInNewContext("gc") as () => void)();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

export function formatEvaluation(e: Evaluation): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  return [
    `Retrieval on the labelled set: ${e.questions} questions, ${e.chunks} chunks, vectors in ${e.vectors}, embedder ${e.embedder.id} ` +
      `(loaded in ${e.embedder.loadMs.toFixed(0)} ms, ${e.embedder.memoryMb.toFixed(1)} MB).`,
    "",
    "| retrieval | hit@1 | hit@5 | no result |",
    "|---|---|---|---|",
    ...e.methods.map((m) => `| ${m.method} | ${pct(m.hitAt1)} | ${pct(m.hitAt5)} | ${m.empty} |`),
    "",
    "By language of the question:",
    "",
    `| retrieval | ${e.languages.map((l) => `${l.language} hit@1 | ${l.language} hit@5`).join(" | ")} |`,
    `|---|${e.languages.map(() => "---|---").join("|")}|`,
    ...e.methods.map(
      // Every language is scored by the same methods, in the same order.
      ({ method }, m) => `| ${method} | ${e.languages.map((l) => `${pct(l.methods[m]!.hitAt1)} | ${pct(l.methods[m]!.hitAt5)}`).join(" | ")} |`,
    ),
    "",
    e.languages.map((l) => `${l.language}: ${l.questions} questions`).join(", ") + ".",
  ].join("\n");
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  console.log(formatEvaluation(await evaluateRetrieval()));
  console.log(`\n${formatAnswerEvaluation(await evaluateAnswers())}`);
}
