-- Where documents and chunks come from: the file a document was uploaded as (null: added as text),
-- and where each chunk lies in its document's text (0 and 0 for chunks stored before).
ALTER TABLE "knowledge_chunks" ADD COLUMN "start_at" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "knowledge_chunks" ADD COLUMN "end_at" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "knowledge_documents" ADD COLUMN "file_name" varchar(255);