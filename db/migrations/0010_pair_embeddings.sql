CREATE TABLE "pair_embeddings" (
	"answer_id" uuid PRIMARY KEY NOT NULL,
	"session_id" uuid NOT NULL,
	"tenant_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"embedding_model" varchar(200),
	"claimed_until" timestamp (3) with time zone,
	"queued_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "pair_embeddings" ADD CONSTRAINT "pair_embeddings_answer_id_messages_id_fk" FOREIGN KEY ("answer_id") REFERENCES "public"."messages"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "pair_embeddings_queue_idx" ON "pair_embeddings" USING btree ("queued_at") WHERE embedding_model is null;--> statement-breakpoint
CREATE INDEX "pair_embeddings_owner_idx" ON "pair_embeddings" USING btree ("tenant_id","user_id","embedding_model");--> statement-breakpoint
-- The pair's vector: of the type knowledge_chunks.embedding got (0002_knowledge_vectors), so one
-- VectorStore reads both.
DO $$
BEGIN
  IF (SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
      WHERE a.attrelid = 'knowledge_chunks'::regclass AND a.attname = 'embedding' AND NOT a.attisdropped) = 'vector' THEN
    ALTER TABLE "pair_embeddings" ADD COLUMN "embedding" vector;
  ELSE
    ALTER TABLE "pair_embeddings" ADD COLUMN "embedding" real[];
  END IF;
END $$;--> statement-breakpoint
-- Every answer is queued as it ends, however it ends (completed, stopped, failed, interrupted by a
-- sweeper or a drain), or when it is stored already ended.
CREATE FUNCTION "queue_pair_embedding"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "pair_embeddings" ("answer_id", "session_id", "tenant_id", "user_id")
    VALUES (NEW."id", NEW."session_id", NEW."tenant_id", NEW."user_id")
    ON CONFLICT ("answer_id") DO NOTHING;
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE TRIGGER "messages_queue_pair_embedding" AFTER INSERT OR UPDATE OF "status" ON "messages"
  FOR EACH ROW WHEN (NEW."role" = 'assistant' AND NEW."status" <> 'streaming')
  EXECUTE FUNCTION "queue_pair_embedding"();--> statement-breakpoint
-- Answers that ended before this migration are queued too, oldest first.
INSERT INTO "pair_embeddings" ("answer_id", "session_id", "tenant_id", "user_id", "queued_at")
  SELECT "id", "session_id", "tenant_id", "user_id", "updated_at" FROM "messages"
  WHERE "role" = 'assistant' AND "status" <> 'streaming';

--> statement-breakpoint
-- Where documents and chunks come from: the file a document was uploaded as (null: added as text),
-- and where each chunk lies in its document's text (0 and 0 for chunks stored before).
ALTER TABLE "knowledge_chunks" ADD COLUMN "start_at" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "knowledge_chunks" ADD COLUMN "end_at" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "knowledge_documents" ADD COLUMN "file_name" varchar(255);