import { chunkBlocks, DEFAULT_CHUNKING, documentText, type Chunk } from "./chunk";
import { createOfflineEmbedder } from "./embed";
import { embeddingText } from "./knowledgeIndex";
import { countTokens } from "../platform/models/text";
import { parseFile, parseText, type FileFormat, type TextFormat } from "./parse";

/**
 * Everything CPU-bound about a new document, from its source to what is stored: parse, chunk and,
 * with the built-in embedder, embed. Runs in a document process (documentPool.ts), off the
 * server's event loop and memory; each step is bounded (see parse.ts and chunk.ts) and refuses
 * with `field` named.
 */

export type DocumentSource =
  | { kind: "text"; text: string; format: TextFormat }
  | { kind: "file"; bytes: Uint8Array; format: FileFormat };

export interface PreparationRequest {
  title: string;
  source: DocumentSource;
  /** The input field errors name ("content" for text, "file" for an upload). */
  field: string;
  /** Whether to embed with the built-in offline embedder here (an API embedder is called later, from the server). */
  embedOffline: boolean;
  /** Only the document's text, neither chunked nor embedded (a chat attachment: ingest.ts `extractFileText`). */
  textOnly?: boolean;
}

export interface PreparedDocument {
  chunks: Chunk[];
  /** One per chunk, when embedded here. */
  vectors?: number[][];
  /** The document's text (its blocks, a blank line apart) and its tokens, when asked for `textOnly`. */
  extracted?: { text: string; tokenCount: number };
}

export async function prepareDocument({ title, source, field, embedOffline, textOnly }: PreparationRequest): Promise<PreparedDocument> {
  const blocks = source.kind === "text" ? parseText(source.text, source.format, field) : await parseFile(source.bytes, source.format, field);
  if (textOnly) {
    const text = documentText(blocks);
    return { chunks: [], extracted: { text, tokenCount: countTokens(text) } };
  }
  const chunks = chunkBlocks(blocks, DEFAULT_CHUNKING, field);
  if (!embedOffline || chunks.length === 0) return { chunks };
  return { chunks, vectors: await createOfflineEmbedder().embed(chunks.map((c) => embeddingText(title, c))) };
}
