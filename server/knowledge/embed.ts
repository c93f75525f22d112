import OpenAI from "openai";
import { contentWords, keywords } from "../platform/models/text";
import { hanRuns, hasHan } from "../../common/segment";
import { loadWordVectors, type WordVectors } from "./wordVectors";

/** Turns texts into unit-length vectors whose dot product says how alike the texts are. */
export interface Embedder {
  /** Stored with every vector: vectors of different embedders are never compared. */
  readonly id: string;
  /**
   * The cosine similarity that counts as a full match: a hit's vector score is its cosine divided
   * by this, within 0..1, so `vectorThreshold` means the same whichever embedder wrote the vectors.
   */
  readonly fullMatchCosine: number;
  embed(texts: string[], signal?: AbortSignal): Promise<number[][]>;
}

export interface EmbedderEnv {
  OPENAI_BASE_URL?: string;
  OPENAI_API_KEY?: string;
  PARLEY_EMBEDDING_MODEL?: string;
}

/** An OpenAI-compatible `/v1/embeddings` model when `PARLEY_EMBEDDING_MODEL` is set, else the built-in one. */
export function createEmbedder(env: EmbedderEnv): Embedder {
  const model = env.PARLEY_EMBEDDING_MODEL;
  if (model) return createOpenAIEmbedder({ baseURL: env.OPENAI_BASE_URL, apiKey: env.OPENAI_API_KEY, model });
  return createOfflineEmbedder();
}

/** Inputs per request: OpenAI takes up to 2048, local servers often far fewer. */
const OPENAI_BATCH = 64;
/** One embedding request (a batch) may take this long; a stalled server fails the call instead of hanging it. */
export const EMBEDDING_TIMEOUT_MS = 30_000;

export function createOpenAIEmbedder({ baseURL, apiKey, model }: { baseURL?: string; apiKey?: string; model: string }): Embedder {
  const client = new OpenAI({ baseURL, apiKey: apiKey || "none", maxRetries: 2, timeout: EMBEDDING_TIMEOUT_MS });
  return {
    id: `openai:${model}`,
    fullMatchCosine: 1,
    async embed(texts, signal) {
      const vectors: number[][] = [];
      for (let i = 0; i < texts.length; i += OPENAI_BATCH) {
        const batch = texts.slice(i, i + OPENAI_BATCH);
        // The client's timeout bounds each attempt; this bounds the batch, its retries included.
        const bound = AbortSignal.timeout(EMBEDDING_TIMEOUT_MS * 3);
        const response = await client.embeddings.create(
          { model, input: batch, encoding_format: "float" },
          { signal: signal ? AbortSignal.any([signal, bound]) : bound },
        );
        const ordered = [...response.data].sort((a, b) => a.index - b.index);
        if (ordered.length !== batch.length) throw new Error(`The embedding server returned ${ordered.length} vectors for ${batch.length} texts`);
        vectors.push(...ordered.map((d) => normalise(d.embedding)));
      }
      return vectors;
    },
  };
}

/**
 * Parley's built-in offline embedder, "parley-glove-hash": what it is and is not.
 *
 * It IS a static-word-vector sentence embedder: a weighted average of pretrained GloVe word
 * vectors (see wordVectors.ts), each word weighted by how rare it is (smooth inverse frequency,
 * Arora et al. 2017, with frequency estimated from the word's rank), concatenated with a hashed
 * bag of word stems (the same rarity weights) that catches words GloVe's vocabulary lacks
 * ("pgvector", "tRPC") and exact terms; Chinese text, which GloVe has no words for, also hashes
 * its character pairs and characters into that bag (hanGrams). Words of related meaning land near each other ("earn"
 * and "salary"), as far as averaged word vectors can tell; it takes about 0.2 ms per chunk, with
 * no network and no model download.
 *
 * It is NOT a contextual sentence-transformer: word order, negation and phrasing are lost
 * (averaging), polysemous words get one blended meaning, and its similarity scores are on its
 * own scale (see OFFLINE_FULL_MATCH_COSINE). Its retrieval quality on Parley's labelled set is
 * measured by evaluate.ts.
 */
export const OFFLINE_EMBEDDER_ID = "parley-glove-hash-v2";

/**
 * Averaged word vectors of a short question and a long passage agree less than a sentence
 * transformer's would (they share only the question's words): on the labelled set a question and
 * the passage answering it are typically 0.3 to 0.6 alike. Scores are stretched so that 0.6 is a
 * full match, which makes the default `vectorThreshold` (0.5) keep a cosine of 0.3 and above.
 */
const OFFLINE_FULL_MATCH_COSINE = 0.6;
/** Width of the hashed stem (and Chinese n-gram) part; the GloVe part takes the word vectors' own width (100). */
const HASHED_DIMENSIONS = 156;
/** A Chinese character counts this much of a character pair. */
const UNIGRAM_WEIGHT = 0.5;
/** Share of similarity that comes from word meaning (GloVe) rather than shared stems. */
const SEMANTIC_WEIGHT = 0.6;
/** Smooth-inverse-frequency constant: a word at rank r weighs a / (a + p(r)). */
const SIF_A = 1e-3;
/** Harmonic number of GloVe's 400k-word vocabulary, for Zipf's p(r) ≈ 1 / (r · H). */
const ZIPF_H = Math.log(400_000) + 0.5772;

let shared: WordVectors | undefined;

export function createOfflineEmbedder(vectors: WordVectors = (shared ??= loadWordVectors())): Embedder {
  const rarity = (rank: number | undefined) => (rank === undefined ? 1 : SIF_A / (SIF_A + 1 / ((rank + 1) * ZIPF_H)));
  // The direction every text leans to (its words' frequency- and rarity-weighted mean), removed
  // from each text's vector as in SIF: otherwise any two texts look about 0.75 alike.
  const common = new Float64Array(vectors.dimensions);
  for (let rank = 0; rank < vectors.size; rank++) vectors.addTo(common, rank, rarity(rank) / ((rank + 1) * ZIPF_H));
  const commonDirection = scaleToUnit(common, 1);
  const embedOne = (text: string): number[] => {
    const semantic = new Float64Array(vectors.dimensions);
    const stems = new Map<string, { count: number; weight: number }>();
    for (const word of contentWords(text).map((w) => w.toLowerCase())) {
      const rank = vectors.rank(word);
      if (rank !== undefined) vectors.addTo(semantic, rank, rarity(rank));
      const stem = keywords(word)[0];
      if (!stem) continue;
      const entry = stems.get(stem) ?? { count: 0, weight: rarity(rank) };
      entry.count++;
      stems.set(stem, entry);
    }
    const lexical = new Float64Array(HASHED_DIMENSIONS);
    for (const [stem, { count, weight }] of stems) {
      const hash = fnv1a(stem);
      lexical[hash % HASHED_DIMENSIONS]! += (hash & 0x80000000 ? -1 : 1) * weight * (1 + Math.log(count));
    }
    for (const [gram, weight] of hanGrams(text)) {
      const hash = fnv1a(gram);
      lexical[hash % HASHED_DIMENSIONS]! += (hash & 0x80000000 ? -1 : 1) * weight;
    }
    // semantic has the word vectors' dimensions, as commonDirection does.
    const along = commonDirection.reduce((sum, u, d) => sum + u * semantic[d]!, 0);
    commonDirection.forEach((u, d) => (semantic[d]! -= along * u));
    return normalise([...scaleToUnit(semantic, Math.sqrt(SEMANTIC_WEIGHT)), ...scaleToUnit(lexical, Math.sqrt(1 - SEMANTIC_WEIGHT))]);
  };
  return {
    id: OFFLINE_EMBEDDER_ID,
    fullMatchCosine: OFFLINE_FULL_MATCH_COSINE,
    async embed(texts) {
      const embedded: number[][] = [];
      for (const text of texts) {
        // A text per turn of the event loop: a batch of long texts (the pair indexer embeds 64
        // answers at once, 64 of 6,000 characters took 258 ms here) would otherwise hold every live
        // answer's delivery for its whole length.
        if (embedded.length > 0) await new Promise((resolve) => setImmediate(resolve));
        embedded.push(embedOne(text));
      }
      return embedded;
    },
  };
}

/**
 * Chinese has no GloVe vectors here and ICU may segment the same words differently in a question
 * and a passage, so Chinese text is also described by its character bigrams (within runs, across
 * word boundaries) and the characters of its content words, each weighted 1 + ln(count), a
 * character at half a pair's weight (alone it says less).
 */
function hanGrams(text: string): Map<string, number> {
  const grams = new Map<string, { count: number; weight: number }>();
  const add = (gram: string, weight: number) => {
    const entry = grams.get(gram) ?? { count: 0, weight };
    entry.count++;
    grams.set(gram, entry);
  };
  for (const run of hanRuns(text)) {
    const chars = Array.from(run);
    for (let i = 0; i + 1 < chars.length; i++) add(chars[i]! + chars[i + 1]!, 1);
  }
  for (const word of contentWords(text)) {
    if (hasHan(word)) for (const char of word) add(char, UNIGRAM_WEIGHT);
  }
  return new Map([...grams].map(([gram, { count, weight }]) => [gram, weight * (1 + Math.log(count))]));
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

function scaleToUnit(values: Float64Array, length: number): number[] {
  const norm = Math.hypot(...values);
  return norm === 0 ? [...values].map(() => 0) : [...values].map((v) => (v / norm) * length);
}

export function normalise(values: number[]): number[] {
  const norm = Math.hypot(...values);
  return norm === 0 ? values : values.map((v) => v / norm);
}
