-- Folders, archive, sharing, temporary chats, retention (contract, "Folders, archive, sharing,
-- temporary chats, retention"). The lists split archived from listed sessions first, so each list
-- stays one range of its order index.
CREATE TABLE "folders" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"name" varchar(100) NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "shares" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"session_id" uuid NOT NULL,
	"token_hash" varchar(64) NOT NULL,
	"title" varchar(255) NOT NULL,
	"messages" jsonb NOT NULL,
	"message_count" integer NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"revoked_at" timestamp (3) with time zone,
	CONSTRAINT "shares_token_hash_unique" UNIQUE("token_hash")
);
--> statement-breakpoint
DROP INDEX "sessions_user_order_idx";--> statement-breakpoint
DROP INDEX "sessions_tenant_order_idx";--> statement-breakpoint
ALTER TABLE "sessions" ADD COLUMN "folder_id" uuid;--> statement-breakpoint
ALTER TABLE "sessions" ADD COLUMN "archived_at" timestamp (3) with time zone;--> statement-breakpoint
ALTER TABLE "sessions" ADD COLUMN "temporary_lifetime" interval;--> statement-breakpoint
ALTER TABLE "sessions" ADD COLUMN "deleting_at" timestamp (3) with time zone;--> statement-breakpoint
ALTER TABLE "sessions" ADD COLUMN "archived" boolean GENERATED ALWAYS AS (archived_at is not null) STORED NOT NULL;--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "retention_days" double precision;--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "keep_pinned" boolean DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "sharing_enabled" boolean DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE "folders" ADD CONSTRAINT "folders_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "folders" ADD CONSTRAINT "folders_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "shares" ADD CONSTRAINT "shares_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "shares" ADD CONSTRAINT "shares_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "shares" ADD CONSTRAINT "shares_session_id_sessions_id_fk" FOREIGN KEY ("session_id") REFERENCES "public"."sessions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "folders_user_name_idx" ON "folders" USING btree ("user_id",lower("name"));--> statement-breakpoint
CREATE INDEX "shares_user_idx" ON "shares" USING btree ("user_id","created_at");--> statement-breakpoint
CREATE INDEX "shares_session_idx" ON "shares" USING btree ("session_id","created_at");--> statement-breakpoint
ALTER TABLE "sessions" ADD CONSTRAINT "sessions_folder_id_folders_id_fk" FOREIGN KEY ("folder_id") REFERENCES "public"."folders"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "sessions_folder_order_idx" ON "sessions" USING btree ("folder_id","archived","pinned","sort_at","id");--> statement-breakpoint
CREATE INDEX "sessions_tenant_updated_idx" ON "sessions" USING btree ("tenant_id","updated_at");--> statement-breakpoint
CREATE INDEX "sessions_temporary_idx" ON "sessions" USING btree ("updated_at") WHERE temporary_lifetime is not null;--> statement-breakpoint
CREATE INDEX "sessions_deleting_idx" ON "sessions" USING btree ("deleting_at") WHERE deleting_at is not null;--> statement-breakpoint
CREATE INDEX "sessions_user_order_idx" ON "sessions" USING btree ("tenant_id","user_id","archived","pinned","sort_at","id");--> statement-breakpoint
CREATE INDEX "sessions_tenant_order_idx" ON "sessions" USING btree ("tenant_id","archived","pinned","sort_at","id");--> statement-breakpoint
-- The search cover index (0003) carries what the lists now filter on too, so a search's hits are
-- still checked from the index alone.
DROP INDEX IF EXISTS "sessions_id_order_cover_idx";--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "sessions_id_order_cover_idx" ON "sessions" ("id") INCLUDE ("tenant_id", "user_id", "pinned", "sort_at", "archived", "folder_id", "temporary_lifetime", "deleting_at");
