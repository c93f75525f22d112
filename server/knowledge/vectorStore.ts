import { sql, type SQL } from "drizzle-orm";
import type { Db } from "../../db";
import { selectRows } from "./rows";

/**
 * Where embeddings live. The custom migration 0002_knowledge_vectors made
 * `knowledge_chunks.embedding` a pgvector `vector` when the database could create the extension
 * (PGlite with @electric-sql/pglite-pgvector, a server with pgvector installed), else a `real[]`;
 * `pair_embeddings.embedding` (0010_pair_embeddings) is of the same type. Which one it is is read
 * from the catalogue at start-up and reported by /api/health.
 *
 * Both are searched exactly, by inner product (embeddings are unit length, so it is the cosine):
 * retrieval is always confined to a session's few bases, where a scan is fast and exact, whereas
 * an approximate index (HNSW) filters after its search and would silently lose hits.
 */
export type VectorBackend = "pgvector" | "array";

export interface VectorStore {
  backend: VectorBackend;
  /** A vector as an SQL value of the embedding column's type. */
  value(vector: number[]): SQL;
  /** Cosine similarity of an embedding column (of the row in scope) to `vector`. */
  similarity(column: SQL, vector: number[]): SQL;
}

export async function openVectorStore(db: Db): Promise<VectorStore> {
  const [column] = await selectRows<{ type: string }>(
    db,
    sql`select format_type(a.atttypid, a.atttypmod) as type from pg_attribute a
        where a.attrelid = 'knowledge_chunks'::regclass and a.attname = 'embedding' and not a.attisdropped`,
  );
  return createVectorStore(column?.type === "vector" ? "pgvector" : "array");
}

export function createVectorStore(backend: VectorBackend): VectorStore {
  if (backend === "pgvector") {
    const value = (vector: number[]) => sql`${`[${vector.join(",")}]`}::vector`;
    return { backend, value, similarity: (column, vector) => sql`(-(${column} <#> ${value(vector)}))` };
  }
  const value = (vector: number[]) => sql`${`{${vector.join(",")}}`}::real[]`;
  return {
    backend,
    value,
    similarity: (column, vector) => sql`(select sum(a::float8 * b::float8) from unnest(${column}, ${value(vector)}) as pair(a, b))`,
  };
}
