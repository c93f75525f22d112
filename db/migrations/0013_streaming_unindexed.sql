ALTER TABLE "messages" drop column "content_tsv";--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "content_tsv" "tsvector" GENERATED ALWAYS AS (case when status = 'streaming' then ''::tsvector else to_tsvector('simple', regexp_replace(regexp_replace(content, '[\u2010-\u205e\u3000-\u303f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65]', ' ', 'g'), '([\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f])', ' \1 ', 'g')) end) STORED NOT NULL;--> statement-breakpoint
-- Dropping the column dropped its index; drizzle-kit does not re-create it.
CREATE INDEX "messages_owner_content_tsv_idx" ON "messages" USING gin ("tenant_id","user_id","content_tsv");
