import { keywords } from "../platform/models/text";

/**
 * Parley's built-in reranker: a deterministic cross-feature scorer, used whatever
 * `rerankModelId` says (Parley calls no rerank model). It reads each candidate against the
 * question through three features, each in 0..1:
 * - keyword: the share of the question's terms the chunk contains, rarer terms weighing more;
 * - vector: how alike the question and chunk embeddings are;
 * - heading: the share of the question's words found in the chunk's headings, which say what a
 *   section is about.
 * Each feature is taken as independent evidence that the chunk answers the question, none of
 * them ever certain (a strong keyword or vector match is 80% sure, a heading match 30%), and the
 * score is the chance that at least one of them is right (a noisy OR). So the score stays in 0..1,
 * one strong kind of evidence is enough to pass `rerankThreshold`, and agreeing evidence ranks
 * higher. A feature that could not be computed (the embedding server was down) adds nothing.
 * On the labelled set this beat weighted sums of the same features (see evaluate.ts).
 */
export interface RerankFeatures {
  keyword: number;
  vector: number | null;
  heading: number;
}

const CONFIDENCE = { keyword: 0.8, vector: 0.8, heading: 0.3 };

export function rerankScore(features: RerankFeatures): number {
  const allWrong =
    (1 - CONFIDENCE.keyword * features.keyword) *
    (1 - CONFIDENCE.vector * Math.max(0, features.vector ?? 0)) *
    (1 - CONFIDENCE.heading * features.heading);
  return 1 - allWrong;
}

/** The share of the question's distinct word stems that the heading contains. */
export function headingOverlap(question: string, heading: string): number {
  const asked = new Set(keywords(question));
  if (asked.size === 0) return 0;
  const present = new Set(keywords(heading));
  return [...asked].filter((t) => present.has(t)).length / asked.size;
}
