-- Conversations become trees (contract, "Branches: regenerate, edit, choose (and feedback)").
-- Existing conversations become a single path: each message's parent is the message before it in
-- its session (by created_at, id: the order message.list showed), every message is on the active
-- path, and the path ends at the session's last message.
CREATE TYPE "public"."message_rating" AS ENUM('up', 'down');--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "parent_id" uuid;--> statement-breakpoint
-- Every existing message is on its session's (only) path; new ones join it explicitly.
ALTER TABLE "messages" ADD COLUMN "on_active_path" boolean DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE "messages" ALTER COLUMN "on_active_path" SET DEFAULT false;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "chosen_at" timestamp (6) with time zone;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "rating" "message_rating";--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "feedback_reason" varchar(500);--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "rated_at" timestamp (3) with time zone;--> statement-breakpoint
ALTER TABLE "sessions" ADD COLUMN "active_leaf_id" uuid;--> statement-breakpoint
UPDATE "messages" m SET "parent_id" = p."previous", "chosen_at" = m."created_at"
  FROM (SELECT "id", lag("id") OVER (PARTITION BY "session_id" ORDER BY "created_at", "id") AS "previous" FROM "messages") p
  WHERE p."id" = m."id";--> statement-breakpoint
ALTER TABLE "messages" ALTER COLUMN "chosen_at" SET DEFAULT clock_timestamp();--> statement-breakpoint
ALTER TABLE "messages" ALTER COLUMN "chosen_at" SET NOT NULL;--> statement-breakpoint
UPDATE "sessions" s SET "active_leaf_id" = l."id"
  FROM (SELECT DISTINCT ON ("session_id") "session_id", "id" FROM "messages" ORDER BY "session_id", "created_at" DESC, "id" DESC) l
  WHERE l."session_id" = s."id";--> statement-breakpoint
-- The in-session references need (session_id, id) unique before they can point at it.
CREATE UNIQUE INDEX "messages_session_id_idx" ON "messages" USING btree ("session_id","id");--> statement-breakpoint
ALTER TABLE "messages" ADD CONSTRAINT "messages_parent_fk" FOREIGN KEY ("session_id","parent_id") REFERENCES "public"."messages"("session_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sessions" ADD CONSTRAINT "sessions_active_leaf_fk" FOREIGN KEY ("id","active_leaf_id") REFERENCES "public"."messages"("session_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "messages_session_parent_idx" ON "messages" USING btree ("session_id","parent_id","created_at","id");--> statement-breakpoint
CREATE INDEX "messages_active_path_idx" ON "messages" USING btree ("session_id","created_at","id") WHERE on_active_path;--> statement-breakpoint
CREATE INDEX "messages_down_rated_idx" ON "messages" USING btree ("session_id") WHERE rating = 'down';--> statement-breakpoint
CREATE INDEX "messages_rated_idx" ON "messages" USING btree ("tenant_id","rated_at") WHERE rating is not null;
