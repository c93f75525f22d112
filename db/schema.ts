import { sql } from "drizzle-orm";
import {
  type AnyPgColumn,
  type PgTableExtraConfigValue,
  boolean,
  customType,
  doublePrecision,
  foreignKey,
  index,
  integer,
  interval,
  jsonb,
  pgEnum,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
  varchar,
} from "drizzle-orm/pg-core";
import type {
  AgentConfig,
  ContextConfig,
  Reference,
  SharedMessage,
  SuggestedQuestion,
  Strategy,
  SummaryParameters,
  Usage,
} from "../common/settings";
import { spacedHanSql } from "../common/segment";

const tsvector = customType<{ data: string }>({ dataType: () => "tsvector" });
/** A column's text as full-text columns index it: Chinese one character at a time (common/segment.ts). */
const searchable = (column: string) => sql.raw(spacedHanSql(column));
/** A required reference to the row that owns this one: deleting the owner deletes it too. */
const ownedBy = (name: string, target: () => AnyPgColumn) => uuid(name).notNull().references(target, { onDelete: "cascade" });
// Millisecond precision so keyset cursors round-trip exactly through JS Dates.
const ts = (name: string) => timestamp(name, { withTimezone: true, precision: 3, mode: "date" });

export const roleEnum = pgEnum("role", ["owner", "admin", "member"]);
export const messageRoleEnum = pgEnum("message_role", ["user", "assistant"]);
export const messageStatusEnum = pgEnum("message_status", [
  "streaming",
  "completed",
  "stopped",
  "interrupted",
  "failed",
]);

/** An answer's rating by the session's owner (contract, "Branches … (and feedback)"). */
export const ratingEnum = pgEnum("message_rating", ["up", "down"]);

export const tenants = pgTable("tenants", {
  id: uuid("id").primaryKey().defaultRandom(),
  /** A stable integer per tenant: WeKnora's REST clients read `tenant_id` as an unsigned integer. */
  number: integer("number").notNull().unique().generatedAlwaysAsIdentity(),
  name: varchar("name", { length: 100 }).notNull().unique(),
  createdAt: ts("created_at").notNull().defaultNow(),
  /** Sessions whose last activity is older than this many days are deleted (null: kept forever). */
  retentionDays: doublePrecision("retention_days"),
  /** Retention spares pinned sessions. */
  keepPinned: boolean("keep_pinned").notNull().default(true),
  /** Off: no new shares, and existing links answer 404 until it is on again. */
  sharingEnabled: boolean("sharing_enabled").notNull().default(true),
});

export const users = pgTable(
  "users",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    tenantId: ownedBy("tenant_id", () => tenants.id),
    name: varchar("name", { length: 100 }).notNull(),
    role: roleEnum("role").notNull(),
    createdAt: ts("created_at").notNull().defaultNow(),
  },
  (t) => [uniqueIndex("users_tenant_name_idx").on(t.tenantId, t.name)],
);

export const apiKeys = pgTable(
  "api_keys",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    tenantId: ownedBy("tenant_id", () => tenants.id),
    userId: ownedBy("user_id", () => users.id),
    name: varchar("name", { length: 100 }).notNull(),
    /** First characters of the key, so people can tell keys apart without the secret. */
    prefix: varchar("prefix", { length: 16 }).notNull(),
    /** SHA-256 of the key, hex. The key itself is never stored. */
    hash: varchar("hash", { length: 64 }).notNull().unique(),
    createdAt: ts("created_at").notNull().defaultNow(),
    lastUsedAt: ts("last_used_at"),
    revokedAt: ts("revoked_at"),
    /** The key is PARLEY_BOOTSTRAP_KEY's value: a start with another value revokes it. */
    fromBootstrapEnv: boolean("from_bootstrap_env").notNull().default(false),
  },
  (t) => [index("api_keys_tenant_user_idx").on(t.tenantId, t.userId)],
);

/** Browser sign-ins: the cookie holds a random token whose hash is stored here. */
export const webSessions = pgTable(
  "web_sessions",
  {
    tokenHash: varchar("token_hash", { length: 64 }).primaryKey(),
    apiKeyId: ownedBy("api_key_id", () => apiKeys.id),
    createdAt: ts("created_at").notNull().defaultNow(),
    expiresAt: ts("expires_at").notNull(),
  },
  // The sweeper deletes expired sign-ins by this.
  (t) => [index("web_sessions_expires_idx").on(t.expiresAt)],
);

/** A user's own folders of sessions; names unique per user, ignoring case. */
export const folders = pgTable(
  "folders",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    tenantId: ownedBy("tenant_id", () => tenants.id),
    userId: ownedBy("user_id", () => users.id),
    name: varchar("name", { length: 100 }).notNull(),
    createdAt: ts("created_at").notNull().defaultNow(),
    updatedAt: ts("updated_at").notNull().defaultNow(),
  },
  (t) => [uniqueIndex("folders_user_name_idx").on(t.userId, sql`lower(${t.name})`)],
);

export const sessions = pgTable(
  "sessions",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    tenantId: ownedBy("tenant_id", () => tenants.id),
    userId: ownedBy("user_id", () => users.id),
    title: varchar("title", { length: 255 }).notNull().default(""),
    description: varchar("description", { length: 2000 }).notNull().default(""),
    knowledgeBaseId: text("knowledge_base_id"),
    pinned: boolean("pinned").notNull().default(false),
    pinnedAt: ts("pinned_at"),
    strategy: jsonb("strategy").$type<Strategy>().notNull(),
    summaryParameters: jsonb("summary_parameters").$type<SummaryParameters>().notNull(),
    agentConfig: jsonb("agent_config").$type<AgentConfig>().notNull(),
    contextConfig: jsonb("context_config").$type<ContextConfig>().notNull(),
    /** Moves on every clear (or turn deleted): a cached LLM context of an older version is not used. */
    contextVersion: integer("context_version").notNull().default(0),
    /**
     * The last message of the conversation shown, sent to the model and continued by the next
     * question: the active path runs from the root to it (null: no message yet).
     */
    activeLeafId: uuid("active_leaf_id"),
    /** The owner's folder (null: in none). Deleting the folder moves the session out. */
    folderId: uuid("folder_id").references(() => folders.id, { onDelete: "set null" }),
    archivedAt: ts("archived_at"),
    /**
     * A temporary session's lifetime after its last activity (`updated_at`): PARLEY_TEMPORARY_HOURS
     * when it was created. Null: an ordinary session.
     */
    temporaryLifetime: interval("temporary_lifetime"),
    /**
     * Set when the session's deletion starts (by its owner, an admin, expiry or retention): from
     * then on it is invisible and takes no new message, and whichever run of the deletion comes
     * next (this one, or the sweep after a crash) finishes it. See server/sessions/removal.ts.
     */
    deletingAt: ts("deleting_at"),
    createdAt: ts("created_at").notNull().defaultNow(),
    updatedAt: ts("updated_at").notNull().defaultNow(),
    /** The list's order key: pinned sessions by pin time, the rest by last update. */
    sortAt: ts("sort_at")
      .notNull()
      .generatedAlwaysAs(sql`coalesce(pinned_at, updated_at)`),
    /** Archived or not: the lists' first split, so each list is one range of its order index. */
    archived: boolean("archived")
      .notNull()
      .generatedAlwaysAs(sql`archived_at is not null`),
    titleTsv: tsvector("title_tsv")
      .notNull()
      .generatedAlwaysAs(sql`to_tsvector('simple', ${searchable("title")})`),
  },
  // Typed, as it names `messages`, whose type depends on this table's.
  (t): PgTableExtraConfigValue[] => [
    index("sessions_user_order_idx").on(t.tenantId, t.userId, t.archived, t.pinned, t.sortAt, t.id),
    index("sessions_tenant_order_idx").on(t.tenantId, t.archived, t.pinned, t.sortAt, t.id),
    // A folder's list (and moving a folder's sessions out when it is deleted).
    index("sessions_folder_order_idx").on(t.folderId, t.archived, t.pinned, t.sortAt, t.id),
    index("sessions_tenant_created_idx").on(t.tenantId, t.createdAt),
    // The retention sweep: a tenant's sessions by last activity; temporary ones; deletions to finish.
    index("sessions_tenant_updated_idx").on(t.tenantId, t.updatedAt),
    index("sessions_temporary_idx").on(t.updatedAt).where(sql`temporary_lifetime is not null`),
    index("sessions_deleting_idx").on(t.deletingAt).where(sql`deleting_at is not null`),
    // Owner columns first (btree_gin), so a search reads only its own tenant's and owner's entries.
    index("sessions_owner_title_tsv_idx").using("gin", t.tenantId, t.userId, t.titleTsv),
    // The active leaf is a message of this session (messages are defined below; the callback runs later).
    foreignKey({ name: "sessions_active_leaf_fk", columns: [t.id, t.activeLeafId], foreignColumns: [messages.sessionId, messages.id] }),
  ],
);

export const messages = pgTable(
  "messages",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    sessionId: ownedBy("session_id", () => sessions.id),
    /** The session's tenant and owner, copied on insert (sessions never change owner) for the search index. */
    tenantId: uuid("tenant_id").notNull(),
    userId: uuid("user_id").notNull(),
    requestId: uuid("request_id").notNull(),
    role: messageRoleEnum("role").notNull(),
    content: text("content").notNull().default(""),
    status: messageStatusEnum("status").notNull(),
    references: jsonb("references").$type<Reference[]>().notNull().default([]),
    model: varchar("model", { length: 200 }),
    /** Tokens of `content`, counted once when it is written (null: not counted, e.g. while streaming). */
    tokenCount: integer("token_count"),
    durationMs: integer("duration_ms"),
    usage: jsonb("usage").$type<Usage>(),
    error: text("error"),
    /**
     * The message before this one on its path (null for a first question): a conversation is a
     * tree. Siblings (same parent) are ordered by creation, (created_at, id); a child is always
     * created after its parent, so along any path that order is the path's order.
     */
    parentId: uuid("parent_id"),
    /** Where the question was asked: what a WeKnora client sent (\`web\`, \`api\`, …), else \`web\` from the browser, \`api\` otherwise. */
    channel: varchar("channel", { length: 50 }).notNull().default("web"),
    /**
     * On the session's active path (root to `sessions.active_leaf_id`): the path as a set, so a
     * page of it is one index range, like a linear conversation's. Changed with the leaf, in one
     * transaction.
     */
    onActivePath: boolean("on_active_path").notNull().default(false),
    /**
     * When the path last went through this message: at a fork, the child chosen last is the one
     * with the latest `chosen_at`, so switching back to a branch restores its own continuation.
     * The database's clock, so choices made on different instances order correctly.
     */
    chosenAt: timestamp("chosen_at", { withTimezone: true, precision: 6, mode: "date" }).notNull().default(sql`clock_timestamp()`),
    /** The owner's rating of an answer (one per message; null: none), its optional reason and when. */
    rating: ratingEnum("rating"),
    feedbackReason: varchar("feedback_reason", { length: 500 }),
    ratedAt: ts("rated_at"),
    createdAt: ts("created_at").notNull().defaultNow(),
    updatedAt: ts("updated_at").notNull().defaultNow(),
    // Empty while the answer streams: its text is written every few seconds (chat/progress.ts), and
    // parsing the whole growing text into the index each time was most of Postgres' work at hundreds
    // of live answers. It is indexed once, when it ends.
    contentTsv: tsvector("content_tsv")
      .notNull()
      .generatedAlwaysAs(sql`case when status = 'streaming' then ''::tsvector else to_tsvector('simple', ${searchable("content")}) end`),
  },
  (t) => [
    // "Newest first in a session", with id breaking ties so pages never overlap.
    index("messages_session_created_idx").on(t.sessionId, t.createdAt, t.id),
    uniqueIndex("messages_session_request_role_idx").on(t.sessionId, t.requestId, t.role),
    // As sessions_owner_title_tsv_idx: one tenant's broad search never reads another's messages.
    index("messages_owner_content_tsv_idx").using("gin", t.tenantId, t.userId, t.contentTsv),
    index("messages_streaming_idx").on(t.status).where(sql`status = 'streaming'`),
    // The target of the in-session references below (a parent, a leaf is a message of the same session).
    uniqueIndex("messages_session_id_idx").on(t.sessionId, t.id),
    foreignKey({ name: "messages_parent_fk", columns: [t.sessionId, t.parentId], foreignColumns: [t.sessionId, t.id] }),
    // A message's siblings in order (and the parent reference's lookups when a message is deleted).
    index("messages_session_parent_idx").on(t.sessionId, t.parentId, t.createdAt, t.id),
    // message.list: a page of the active path is one range of this index.
    index("messages_active_path_idx").on(t.sessionId, t.createdAt, t.id).where(sql`on_active_path`),
    // admin.sessions { feedback: "down" } and admin.stats' feedback counts.
    index("messages_down_rated_idx").on(t.sessionId).where(sql`rating = 'down'`),
    index("messages_rated_idx").on(t.tenantId, t.ratedAt).where(sql`rating is not null`),
  ],
);

/**
 * A shared conversation: a copy of a session's active path as it stood (completed messages, their
 * sources' titles and snippets), read by anyone with its link. The link's token is never stored,
 * only its SHA-256.
 */
export const shares = pgTable(
  "shares",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    tenantId: ownedBy("tenant_id", () => tenants.id),
    userId: ownedBy("user_id", () => users.id),
    sessionId: ownedBy("session_id", () => sessions.id),
    /** SHA-256 of the link's token, hex. */
    tokenHash: varchar("token_hash", { length: 64 }).notNull().unique(),
    title: varchar("title", { length: 255 }).notNull(),
    messages: jsonb("messages").$type<SharedMessage[]>().notNull(),
    messageCount: integer("message_count").notNull(),
    createdAt: ts("created_at").notNull().defaultNow(),
    revokedAt: ts("revoked_at"),
  },
  (t) => [index("shares_user_idx").on(t.userId, t.createdAt), index("shares_session_idx").on(t.sessionId, t.createdAt)],
);

/**
 * Finished answers with their questions, embedded for searching pairs by meaning
 * (server/sessions/pairSearch.ts). A trigger of the migration queues every answer as it ends (a
 * row with no `embedding_model`), whichever code path ends it; an indexer embeds the queue in
 * batches. As for chunks, the `embedding` column is created by the migration (`vector` or `real[]`)
 * and read and written only through server/knowledge/vectorStore.ts.
 */
export const pairEmbeddings = pgTable(
  "pair_embeddings",
  {
    answerId: uuid("answer_id")
      .primaryKey()
      .references(() => messages.id, { onDelete: "cascade" }),
    /** The answer's session, tenant and owner, copied so a search reads only the caller's rows. */
    sessionId: uuid("session_id").notNull(),
    tenantId: uuid("tenant_id").notNull(),
    userId: uuid("user_id").notNull(),
    /** Which embedder wrote `embedding`; null while the pair waits to be embedded. */
    embeddingModel: varchar("embedding_model", { length: 200 }),
    /** An indexer has taken the pair until then; after it (the indexer died), another takes it. */
    claimedUntil: ts("claimed_until"),
    queuedAt: ts("queued_at").notNull().defaultNow(),
  },
  (t) => [
    index("pair_embeddings_queue_idx").on(t.queuedAt).where(sql`embedding_model is null`),
    index("pair_embeddings_owner_idx").on(t.tenantId, t.userId, t.embeddingModel),
  ],
);

/**
 * A file attached to a chat (WeKnora's temporary attachments): its extracted text, which answers
 * that name it read as a source (server/sessions/attachments.ts). It goes with its session, and
 * by itself once `expires_at` passes (the retention sweep deletes it; reads ignore it before).
 */
export const sessionAttachments = pgTable(
  "session_attachments",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    sessionId: ownedBy("session_id", () => sessions.id),
    fileName: varchar("file_name", { length: 255 }).notNull(),
    /** The file name's extension, without the dot (`pdf`, `md`…). */
    fileType: varchar("file_type", { length: 16 }).notNull(),
    mimeType: varchar("mime_type", { length: 100 }).notNull(),
    fileSize: integer("file_size").notNull(),
    content: text("content").notNull(),
    tokenCount: integer("token_count").notNull(),
    expiresAt: ts("expires_at").notNull(),
    createdAt: ts("created_at").notNull().defaultNow(),
  },
  (t) => [index("session_attachments_session_idx").on(t.sessionId, t.createdAt), index("session_attachments_expires_idx").on(t.expiresAt)],
);

/** Follow-up questions suggested after a completed answer (server/chat/suggestions.ts): one set per answer, going with it. */
export const messageSuggestions = pgTable(
  "message_suggestions",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    messageId: uuid("message_id")
      .notNull()
      .unique()
      .references(() => messages.id, { onDelete: "cascade" }),
    /** The answer's session, copied so an event names a set of its own session in one lookup. */
    sessionId: uuid("session_id").notNull(),
    /** `ready` (with questions) or `suppressed` (none to give, `suppression_reason` says why). */
    status: varchar("status", { length: 16 }).notNull(),
    suppressionReason: varchar("suppression_reason", { length: 64 }),
    questions: jsonb("questions").$type<SuggestedQuestion[]>().notNull(),
    generatedAt: ts("generated_at").notNull().defaultNow(),
  },
  (t) => [index("message_suggestions_session_idx").on(t.sessionId)],
);

// --- knowledge bases ---

export const knowledgeBases = pgTable(
  "knowledge_bases",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    tenantId: ownedBy("tenant_id", () => tenants.id),
    /** Who created the base; null for a base Parley provides and keeps in sync. */
    createdBy: uuid("created_by").references(() => users.id, { onDelete: "set null" }),
    name: varchar("name", { length: 100 }).notNull(),
    description: varchar("description", { length: 2000 }).notNull().default(""),
    /** Marks a base Parley provides (e.g. "handbook"), at most one of each per tenant. */
    builtin: varchar("builtin", { length: 40 }),
    createdAt: ts("created_at").notNull().defaultNow(),
    updatedAt: ts("updated_at").notNull().defaultNow(),
  },
  (t) => [
    index("knowledge_bases_tenant_idx").on(t.tenantId, t.createdAt),
    uniqueIndex("knowledge_bases_builtin_idx").on(t.tenantId, t.builtin),
  ],
);

export const knowledgeDocuments = pgTable(
  "knowledge_documents",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    tenantId: ownedBy("tenant_id", () => tenants.id),
    knowledgeBaseId: ownedBy("knowledge_base_id", () => knowledgeBases.id),
    createdBy: uuid("created_by").references(() => users.id, { onDelete: "set null" }),
    title: varchar("title", { length: 255 }).notNull(),
    mimeType: varchar("mime_type", { length: 100 }).notNull(),
    /** The name of the file it was uploaded as (null: added as text). */
    fileName: varchar("file_name", { length: 255 }),
    sizeBytes: integer("size_bytes").notNull(),
    /** SHA-256 of the source text, so a provided document is re-indexed only when it changed. */
    contentHash: varchar("content_hash", { length: 64 }).notNull(),
    chunkCount: integer("chunk_count").notNull(),
    createdAt: ts("created_at").notNull().defaultNow(),
  },
  (t) => [index("knowledge_documents_base_idx").on(t.knowledgeBaseId, t.createdAt)],
);

/**
 * Chunks of documents, indexed for keyword search (`tsv`). The `embedding` column is not declared
 * here: it is `vector` where the database has pgvector and `real[]` where it has not, so it is
 * created by a custom migration and read and written only by server/knowledge/vectorStore.ts.
 */
export const knowledgeChunks = pgTable(
  "knowledge_chunks",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    tenantId: ownedBy("tenant_id", () => tenants.id),
    knowledgeBaseId: ownedBy("knowledge_base_id", () => knowledgeBases.id),
    documentId: ownedBy("document_id", () => knowledgeDocuments.id),
    position: integer("position").notNull(),
    /** The headings the chunk sits under, e.g. "Scaling out" or "Article I › Section 3". */
    heading: text("heading").notNull().default(""),
    content: text("content").notNull(),
    tokenCount: integer("token_count").notNull(),
    /** Where the chunk lies in its document's text (server/knowledge/chunk.ts); 0 and 0 for chunks stored before offsets were. */
    startAt: integer("start_at").notNull().default(0),
    endAt: integer("end_at").notNull().default(0),
    /** Which embedder wrote `embedding`; vectors of another embedder are never compared. */
    embeddingModel: varchar("embedding_model", { length: 200 }).notNull(),
    tsv: tsvector("tsv")
      .notNull()
      .generatedAlwaysAs(sql`setweight(to_tsvector('english', ${searchable("heading")}), 'A') || setweight(to_tsvector('english', ${searchable("content")}), 'B')`),
  },
  (t) => [
    index("knowledge_chunks_base_idx").on(t.knowledgeBaseId, t.embeddingModel),
    index("knowledge_chunks_document_idx").on(t.documentId, t.position),
    index("knowledge_chunks_tsv_idx").using("gin", t.tsv),
  ],
);
