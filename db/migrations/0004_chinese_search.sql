-- Full-text columns index Chinese one character at a time (server/text/segment.ts). Re-adding each
-- generated column recomputes it for every existing row; dropping the column dropped its GIN index,
-- which drizzle-kit does not re-create, so the last statements do.
ALTER TABLE "knowledge_chunks" drop column "tsv";--> statement-breakpoint
ALTER TABLE "knowledge_chunks" ADD COLUMN "tsv" "tsvector" GENERATED ALWAYS AS (setweight(to_tsvector('english', regexp_replace(regexp_replace(heading, '[\u2010-\u205e\u3000-\u303f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65]', ' ', 'g'), '([\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f])', ' \1 ', 'g')), 'A') || setweight(to_tsvector('english', regexp_replace(regexp_replace(content, '[\u2010-\u205e\u3000-\u303f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65]', ' ', 'g'), '([\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f])', ' \1 ', 'g')), 'B')) STORED NOT NULL;--> statement-breakpoint
ALTER TABLE "messages" drop column "content_tsv";--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "content_tsv" "tsvector" GENERATED ALWAYS AS (to_tsvector('simple', regexp_replace(regexp_replace(content, '[\u2010-\u205e\u3000-\u303f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65]', ' ', 'g'), '([\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f])', ' \1 ', 'g'))) STORED NOT NULL;--> statement-breakpoint
ALTER TABLE "sessions" drop column "title_tsv";--> statement-breakpoint
ALTER TABLE "sessions" ADD COLUMN "title_tsv" "tsvector" GENERATED ALWAYS AS (to_tsvector('simple', regexp_replace(regexp_replace(title, '[\u2010-\u205e\u3000-\u303f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65]', ' ', 'g'), '([\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f])', ' \1 ', 'g'))) STORED NOT NULL;--> statement-breakpoint
CREATE INDEX "knowledge_chunks_tsv_idx" ON "knowledge_chunks" USING gin ("tsv");--> statement-breakpoint
CREATE INDEX "messages_content_tsv_idx" ON "messages" USING gin ("content_tsv");--> statement-breakpoint
CREATE INDEX "sessions_title_tsv_idx" ON "sessions" USING gin ("title_tsv");
