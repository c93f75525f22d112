import { sql, type SQL } from "drizzle-orm";
import type { Db } from "../../db";
import type { Reference, Strategy } from "../../common/settings";
import { isStopWord } from "../platform/models/text";
import type { Embedder } from "./embed";
import type { KnowledgeIndex } from "./knowledgeIndex";
import { headingOverlap, rerankScore } from "./rerank";
import { selectRows } from "./rows";
import { rootLogger } from "../platform/log";
import { languageOf, passageLanguage } from "../platform/text/language";
import { hasHan, segmentWords, spacedWord, tsQueryOperand } from "../../common/segment";
import { nearSynonyms } from "../platform/text/synonyms";

/**
 * Hybrid retrieval over a set of knowledge bases, exactly as a session's strategy says: keyword
 * hits scoring under `keywordThreshold` and vector hits under `vectorThreshold` are dropped, the
 * best `embeddingTopK` of each are fused (their union, each marked with how it matched), reranked
 * (rerank.ts) and cut to the best `rerankTopK` scoring at least `rerankThreshold`.
 * Every threshold keeps a score equal to it (`>=`).
 */

export type RetrievalSettings = Pick<Strategy, "keywordThreshold" | "vectorThreshold" | "embeddingTopK" | "rerankTopK" | "rerankThreshold">;

export type KnowledgeDeps = KnowledgeIndex & { db: Db };

export type MatchedBy = "keyword" | "vector" | "both";

/** A chunk with both of its first-stage scores. */
export interface ScoredChunk {
  id: string;
  documentId: string;
  knowledgeBaseId: string;
  /** Its place in its document. */
  position: number;
  /** Where it lies in its document's text (Chunk.startAt, Chunk.endAt). */
  startAt: number;
  endAt: number;
  /** The chunk's headings. */
  heading: string;
  /** The title of the chunk's document. */
  source: string;
  /** The file its document was uploaded as (null: added as text). */
  fileName: string | null;
  content: string;
  /**
   * Keyword score, 0..1: the share of the question's search terms (Postgres full-text lexemes)
   * that the chunk contains, each weighted by its rarity in the searched bases (BM25's idf).
   * Ties are ordered by `ts_rank_cd`, which rewards terms close together and in headings.
   */
  keyword: number;
  /**
   * Vector score, 0..1: the cosine similarity of question and chunk embeddings relative to what
   * counts as a full match for the embedder (see Embedder.fullMatchCosine); null when the
   * question could not be embedded.
   */
  vector: number | null;
}

export interface SearchHit extends ScoredChunk {
  matchedBy: MatchedBy;
  /** The reranker's score, 0..1. */
  score: number;
}

/**
 * The words to search for: letters and digits only, so nothing in the user's text acts as query
 * syntax, and without the filler words of a question ("tell me about"), which Postgres' English
 * stop list keeps but which would otherwise count as terms no chunk has.
 */
function searchWords(text: string): string[] {
  return segmentWords(text).filter((w) => !isStopWord(w)).slice(0, 64);
}

/** Chunks of `baseIds` with their keyword and vector scores, filtered and ordered by one of them. */
async function scoredChunks(
  deps: KnowledgeDeps,
  input: { baseIds: string[]; documentIds?: string[]; words: string[]; queryVector: number[] | null; by: "keyword" | "vector"; limit: number },
): Promise<ScoredChunk[]> {
  const { db, vectors, embedder } = deps;
  const inScope = scopeOf(input);
  // "a or b or c": any term may match; how many do is the keyword score. A Chinese word is the
  // quoted phrase of its characters, as chunks index them (common/segment.ts), and matches
  // as any of its near-synonyms (server/platform/text/synonyms.ts) too.
  const operands = input.words.flatMap((w) => (hasHan(w) ? nearSynonyms(w).map((s) => `"${spacedWord(s)}"`) : [w]));
  const hanProbes = input.words.filter(hasHan).map((w) => nearSynonyms(w).map((s) => `(${tsQueryOperand(s)})`).join(" | "));
  const anyTerm = sql`websearch_to_tsquery('english', ${operands.join(" or ")})`;
  const similarity = input.queryVector
    ? sql`case when knowledge_chunks.embedding_model = ${embedder.id} then ${vectors.similarity(sql`knowledge_chunks.embedding`, input.queryVector)} end`
    : sql`null::float8`;
  const filter: SQL =
    input.by === "keyword" ? sql`knowledge_chunks.tsv @@ ${anyTerm}` : sql`knowledge_chunks.embedding_model = ${embedder.id}`;
  const order: SQL = input.by === "keyword" ? sql`keyword desc, rank desc` : sql`vector desc`;
  return selectRows<ScoredChunk & { rank: number }>(
    db,
    sql`
    with terms as (
      select distinct lexeme::tsquery as probe
      from unnest(tsvector_to_array(to_tsvector('english', ${input.words.filter((w) => !hasHan(w)).join(" ")}))) as lexeme
      union
      select to_tsquery('english', alternatives) as probe
      from unnest(${`{${hanProbes.map((p) => `"${p}"`).join(",")}}`}::text[]) as alternatives
    ),
    weights as (
      select terms.probe, ln(1 + (scope.n - df.n + 0.5) / (df.n + 0.5)) as weight
      from terms
      cross join (select count(*)::float8 as n from knowledge_chunks where ${inScope}) as scope
      cross join lateral (select count(*)::float8 as n from knowledge_chunks where ${inScope} and knowledge_chunks.tsv @@ terms.probe) as df
    ),
    total as (select nullif(sum(weight), 0) as weight from weights)
    select knowledge_chunks.id, knowledge_chunks.document_id as "documentId", knowledge_chunks.knowledge_base_id as "knowledgeBaseId",
      knowledge_chunks.position, knowledge_chunks.start_at as "startAt", knowledge_chunks.end_at as "endAt", knowledge_chunks.heading, knowledge_chunks.content, knowledge_documents.title as source, knowledge_documents.file_name as "fileName",
      coalesce((select sum(weights.weight) from weights where knowledge_chunks.tsv @@ weights.probe) / total.weight, 0)::float8 as keyword,
      ts_rank_cd(knowledge_chunks.tsv, ${anyTerm})::float8 as rank,
      (${similarity})::float8 as vector
    from knowledge_chunks
    join knowledge_documents on knowledge_documents.id = knowledge_chunks.document_id
    cross join total
    where ${inScope} and ${filter}
    order by ${order}, knowledge_documents.title, knowledge_chunks.position, knowledge_chunks.id
    limit ${input.limit}`,
  ).then((rows) => rows.map(({ rank: _rank, ...row }) => ({ ...row, vector: row.vector === null ? null : vectorScore(row.vector, embedder) })));
}

/** Chunks of the bases `baseIds` and of the documents `documentIds` (SQL over `knowledge_chunks`). */
function scopeOf({ baseIds, documentIds = [] }: { baseIds: string[]; documentIds?: string[] }): SQL {
  const uuids = (ids: string[]) => sql.join(ids.map((id) => sql`${id}::uuid`), sql`, `);
  const parts = [
    ...(baseIds.length > 0 ? [sql`knowledge_chunks.knowledge_base_id in (${uuids(baseIds)})`] : []),
    ...(documentIds.length > 0 ? [sql`knowledge_chunks.document_id in (${uuids(documentIds)})`] : []),
  ];
  return sql`(${sql.join(parts, sql` or `)})`;
}

function vectorScore(cosine: number, embedder: Embedder): number {
  return Math.min(1, Math.max(0, cosine / embedder.fullMatchCosine));
}

/** Items scoring at least `threshold` (a score equal to the threshold is kept). */
export function atLeast<T>(items: T[], score: (item: T) => number | null, threshold: number): T[] {
  return items.filter((item) => (score(item) ?? -Infinity) >= threshold);
}

/**
 * How much closer a chunk written in the question's language (Chinese or not: `languageOf` the
 * question, `passageLanguage` the chunk) stands in the order: it comes before a chunk in the
 * other language unless that one scores this much more. Only the order: what passes the
 * thresholds is decided by the scores alone, so a match across languages (from a multilingual
 * embedder) is kept exactly as before.
 */
export const SAME_LANGUAGE_PREFERENCE = 0.1;

/**
 * The union of both hit lists, each chunk once and marked with how it matched, reranked against
 * the question: best score first (a chunk in the question's language preferred, see
 * SAME_LANGUAGE_PREFERENCE), then the better keyword score, the better vector score, then by
 * document title and place, so equal scores always come out in the same order.
 */
export function fuseAndRerank(question: string, keywordHits: ScoredChunk[], vectorHits: ScoredChunk[]): SearchHit[] {
  const byId = new Map<string, SearchHit>();
  for (const [list, how] of [[keywordHits, "keyword"], [vectorHits, "vector"]] as const) {
    for (const chunk of list) {
      const seen = byId.get(chunk.id);
      if (seen) seen.matchedBy = "both";
      else byId.set(chunk.id, { ...chunk, matchedBy: how, score: 0 });
    }
  }
  const hits = [...byId.values()];
  const asked = languageOf(question);
  const standing = new Map<SearchHit, number>();
  for (const hit of hits) {
    hit.score = rerankScore({ keyword: hit.keyword, vector: hit.vector, heading: headingOverlap(question, hit.heading) });
    standing.set(hit, hit.score + (passageLanguage(hit.content) === asked ? SAME_LANGUAGE_PREFERENCE : 0));
  }
  return hits.sort(
    (a, b) =>
      standing.get(b)! - standing.get(a)! || // every hit has its standing
      b.keyword - a.keyword ||
      (b.vector ?? -1) - (a.vector ?? -1) ||
      a.source.localeCompare(b.source) ||
      a.position - b.position ||
      (a.id < b.id ? -1 : 1),
  );
}

export interface SearchResult {
  /** The best `embeddingTopK` keyword hits at or above `keywordThreshold`. */
  keywordHits: ScoredChunk[];
  /** The best `embeddingTopK` vector hits at or above `vectorThreshold`. */
  vectorHits: ScoredChunk[];
  /** What retrieval returns: fused, reranked, at or above `rerankThreshold`, at most `rerankTopK`. */
  hits: SearchHit[];
}

/**
 * Hybrid search of the bases `baseIds` and the documents `documentIds`, which the caller has
 * already confined to one tenant.
 */
export async function searchChunks(
  deps: KnowledgeDeps,
  input: { baseIds: string[]; documentIds?: string[]; query: string; settings: RetrievalSettings; signal?: AbortSignal },
): Promise<SearchResult> {
  const { baseIds, documentIds, query, settings } = input;
  const words = searchWords(query);
  if (baseIds.length + (documentIds?.length ?? 0) === 0 || words.length === 0) return { keywordHits: [], vectorHits: [], hits: [] };
  const queryVector = await deps.embedder.embed([query], input.signal).then(
    ([vector]) => vector ?? null,
    (error: Error) => {
      input.signal?.throwIfAborted();
      // Keyword search still answers when the embedding server is down.
      rootLogger().warn({ err: error }, "embedding the question failed, searching by keyword only");
      return null;
    },
  );
  const limit = settings.embeddingTopK;
  const [keywordRanked, vectorRanked] = await Promise.all([
    scoredChunks(deps, { baseIds, documentIds, words, queryVector, by: "keyword", limit }),
    queryVector ? scoredChunks(deps, { baseIds, documentIds, words, queryVector, by: "vector", limit }) : [],
  ]);
  // Both lists are best first, so dropping what is under a threshold keeps the best topK above it.
  const keywordHits = atLeast(keywordRanked, (c) => c.keyword, settings.keywordThreshold);
  const vectorHits = atLeast(vectorRanked, (c) => c.vector, settings.vectorThreshold);
  const hits = atLeast(fuseAndRerank(query, keywordHits, vectorHits), (h) => h.score, settings.rerankThreshold).slice(0, settings.rerankTopK);
  return { keywordHits, vectorHits, hits };
}

/** A hit as an answer's source. */
export function toReference(hit: SearchHit): Reference {
  return {
    id: hit.id,
    title: hit.heading || hit.source,
    source: hit.source,
    content: hit.content,
    score: hit.score,
    matchedBy: hit.matchedBy,
    knowledgeBaseId: hit.knowledgeBaseId,
    documentId: hit.documentId,
    position: hit.position,
    startAt: hit.startAt,
    endAt: hit.endAt,
    ...(hit.fileName !== null && { fileName: hit.fileName }),
  };
}
