ALTER TABLE "api_keys" ADD COLUMN "from_bootstrap_env" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "token_count" integer;--> statement-breakpoint
ALTER TABLE "sessions" ADD COLUMN "context_version" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX "web_sessions_expires_idx" ON "web_sessions" USING btree ("expires_at");