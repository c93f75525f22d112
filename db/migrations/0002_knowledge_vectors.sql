-- Chunk embeddings: a pgvector `vector` where the server has pgvector, else a plain `real[]`
-- searched exactly. Without the extension (or the right to create it) the migration still applies.
-- Parley reads which one it got at start-up (server/knowledge/vectorStore.ts).
DO $$
BEGIN
  BEGIN
    CREATE EXTENSION IF NOT EXISTS vector;
  EXCEPTION WHEN others THEN
    RAISE NOTICE 'pgvector is unavailable (%); chunk embeddings are stored as real[]', SQLERRM;
  END;
  IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector') THEN
    ALTER TABLE "knowledge_chunks" ADD COLUMN "embedding" vector NOT NULL;
  ELSE
    ALTER TABLE "knowledge_chunks" ADD COLUMN "embedding" real[] NOT NULL;
  END IF;
END $$;
