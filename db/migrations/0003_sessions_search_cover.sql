-- Search matches thousands of sessions by id; this lets Postgres read their owner and order keys
-- from the index alone and fetch full rows only for the page it returns.
CREATE INDEX IF NOT EXISTS "sessions_id_order_cover_idx" ON "sessions" ("id") INCLUDE ("tenant_id", "user_id", "pinned", "sort_at");
