import { asc, eq, ne, sql } from "drizzle-orm";
import type { Db } from "../../db";
import { knowledgeChunks, knowledgeDocuments } from "../../db/schema";
import { createEmbedder, type Embedder, type EmbedderEnv } from "./embed";
import { openVectorStore, type VectorStore } from "./vectorStore";

/** What searching and indexing need besides the database: where vectors live and who makes them. */
export interface KnowledgeIndex {
  vectors: VectorStore;
  embedder: Embedder;
}

export async function openKnowledgeIndex(db: Db, env: EmbedderEnv): Promise<KnowledgeIndex> {
  return { vectors: await openVectorStore(db), embedder: createEmbedder(env) };
}

const REEMBED_BATCH = 64;

/**
 * Re-embeds chunks whose vectors another embedder wrote (PARLEY_EMBEDDING_MODEL changed), batch
 * by batch, so vector search covers them again; until then they are found by keyword only.
 * Returns how many chunks it re-embedded.
 */
export async function reembedStaleChunks(db: Db, index: KnowledgeIndex): Promise<number> {
  let done = 0;
  for (;;) {
    const stale = await db
      .select({ id: knowledgeChunks.id, heading: knowledgeChunks.heading, content: knowledgeChunks.content, title: knowledgeDocuments.title })
      .from(knowledgeChunks)
      .innerJoin(knowledgeDocuments, eq(knowledgeDocuments.id, knowledgeChunks.documentId))
      .where(ne(knowledgeChunks.embeddingModel, index.embedder.id))
      .orderBy(asc(knowledgeChunks.id))
      .limit(REEMBED_BATCH);
    if (stale.length === 0) return done;
    // One vector per text embedded.
    const vectors = await index.embedder.embed(stale.map((c) => embeddingText(c.title, c)));
    for (const [i, chunk] of stale.entries()) {
      await db.execute(
        sql`update ${knowledgeChunks} set embedding = ${index.vectors.value(vectors[i]!)}, embedding_model = ${index.embedder.id} where id = ${chunk.id}::uuid`,
      );
    }
    done += stale.length;
  }
}

/** The text a chunk is embedded as: its document's title and its headings say what it is about. */
export function embeddingText(documentTitle: string, chunk: { heading: string; content: string }): string {
  return [documentTitle, chunk.heading, chunk.content].filter(Boolean).join("\n");
}
