-- Search filters tenant and owner inside the index lookup: messages carry their session's tenant and
-- owner (backfilled here, copied on insert by Parley), and both full-text indexes lead with those
-- columns, which a GIN index can hold through btree_gin (a contrib extension of Postgres; PGlite
-- loads it from @electric-sql/pglite/contrib/btree_gin, see db/index.ts).
CREATE EXTENSION IF NOT EXISTS btree_gin;--> statement-breakpoint
DROP INDEX "messages_content_tsv_idx";--> statement-breakpoint
DROP INDEX "sessions_title_tsv_idx";--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "tenant_id" uuid;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "user_id" uuid;--> statement-breakpoint
UPDATE "messages" SET "tenant_id" = s."tenant_id", "user_id" = s."user_id" FROM "sessions" s WHERE s."id" = "messages"."session_id";--> statement-breakpoint
ALTER TABLE "messages" ALTER COLUMN "tenant_id" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "messages" ALTER COLUMN "user_id" SET NOT NULL;--> statement-breakpoint
CREATE INDEX "messages_owner_content_tsv_idx" ON "messages" USING gin ("tenant_id","user_id","content_tsv");--> statement-breakpoint
CREATE INDEX "sessions_owner_title_tsv_idx" ON "sessions" USING gin ("tenant_id","user_id","title_tsv");
