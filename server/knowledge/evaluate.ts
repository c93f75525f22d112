import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import v8 from "node:v8";
import vm from "node:vm";
import { eq } from "drizzle-orm";
import { openDb } from "../../db";
import { knowledgeBases, knowledgeChunks, knowledgeDocuments, tenants } from "../../db/schema";
import { defaultStrategy } from "../defaults";
import { chunkBlocks } from "./chunk";
import { createOfflineEmbedder, type Embedder } from "./embed";
import { parseText, type TextFormat } from "./parse";
import { indexDocument, sha256Hex } from "./repository";
import { searchChunks, type RetrievalSettings, type ScoredChunk } from "./retrieve";
import { openVectorStore, type VectorBackend } from "./vectorStore";
import { loadWordVectors } from "./wordVectors";

/**
 * Retrieval quality on Parley's labelled set (bench/knowledge/labelled.json): hit@1 and hit@5 of
 * keyword, vector and hybrid retrieval, and what the offline embedder costs to load. Runs on an
 * in-memory PGlite of its own. `node --import tsx server/knowledge/evaluate.ts` prints the table.
 */

export const LABELLED_SET = path.resolve("bench/knowledge/labelled.json");

interface LabelledSet {
  documents: { title: string; path: string; mimeType: TextFormat }[];
  /** `language` is "zh" for the Chinese questions, absent for English ones. */
  questions: { question: string; document: string; anchor: string; language?: string }[];
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

  const handle = await openDb({ dataDir: "memory://", pgvector: options.vectors !== "array" });
  try {
    const deps = { db: handle.db, vectors: await openVectorStore(handle.db), embedder };
    // insert … returning gives the one row inserted.
    const [tenant] = await handle.db.insert(tenants).values({ name: "evaluation" }).returning();
    const [base] = await handle.db.insert(knowledgeBases).values({ tenantId: tenant!.id, name: "Labelled set" }).returning();
    for (const doc of set.documents) {
      const text = readFileSync(path.resolve(doc.path), "utf8");
      const document = { title: doc.title, mimeType: doc.mimeType, sizeBytes: Buffer.byteLength(text), contentHash: sha256Hex(text), chunks: chunkBlocks(parseText(text, doc.mimeType)) };
      await indexDocument(deps, { tenantId: tenant!.id, knowledgeBaseId: base!.id, createdBy: null }, document);
    }

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
      const ranked = await searchChunks(deps, { baseIds: [base!.id], query: q.question, settings: RANK_ONLY });
      const withDefaults = await searchChunks(deps, { baseIds: [base!.id], query: q.question, settings: defaults });
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
}
