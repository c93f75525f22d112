CREATE TABLE "message_suggestions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"message_id" uuid NOT NULL,
	"session_id" uuid NOT NULL,
	"status" varchar(16) NOT NULL,
	"suppression_reason" varchar(64),
	"questions" jsonb NOT NULL,
	"generated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "message_suggestions_message_id_unique" UNIQUE("message_id")
);
--> statement-breakpoint
CREATE TABLE "session_attachments" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"session_id" uuid NOT NULL,
	"file_name" varchar(255) NOT NULL,
	"file_type" varchar(16) NOT NULL,
	"mime_type" varchar(100) NOT NULL,
	"file_size" integer NOT NULL,
	"content" text NOT NULL,
	"token_count" integer NOT NULL,
	"expires_at" timestamp (3) with time zone NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "message_suggestions" ADD CONSTRAINT "message_suggestions_message_id_messages_id_fk" FOREIGN KEY ("message_id") REFERENCES "public"."messages"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "session_attachments" ADD CONSTRAINT "session_attachments_session_id_sessions_id_fk" FOREIGN KEY ("session_id") REFERENCES "public"."sessions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "message_suggestions_session_idx" ON "message_suggestions" USING btree ("session_id");--> statement-breakpoint
CREATE INDEX "session_attachments_session_idx" ON "session_attachments" USING btree ("session_id","created_at");--> statement-breakpoint
CREATE INDEX "session_attachments_expires_idx" ON "session_attachments" USING btree ("expires_at");