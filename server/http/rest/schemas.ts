import { z } from "@hono/zod-openapi";
import { text, timestamp } from "../../../common/inputs";
import type { Caller } from "../../auth/accounts";
import { agentConfigSchema, contextConfigSchema, strategySchema, summaryParametersSchema, type Reference, type SessionInput } from "../../../common/settings";
import type { Message } from "../../sessions/messages";
import type { PairHit } from "../../sessions/pairSearch";
import { chatSendInput } from "../trpc/routers/chat";
import { messageListInput } from "../trpc/routers/message";
import { listInput } from "../trpc/routers/session";
import type { Session } from "../../sessions/sessions";
import { DEFAULT_CHUNKING } from "../../knowledge/chunk";
import { sha256Hex, type DocumentAdded, type KnowledgeBase, type KnowledgeDocument, type NamedDocument, type StoredChunk } from "../../knowledge/repository";
import { MAX_ATTACHMENTS_PER_ANSWER } from "../../sessions/attachments";

/**
 * The WeKnora-compatible face speaks snake_case JSON. Its request schemas are Parley's own zod
 * schemas with their keys renamed (same types, limits and defaults-free partials), so no limit is
 * stated twice; unknown fields are dropped, as WeKnora's clients send more than Parley reads.
 */

export const snakeCase = (key: string) => key.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase();
const camelCase = (key: string) => key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

function snakeKeys<T extends object>(value: T): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [snakeCase(k), v]));
}

/** A config schema with snake_case keys, every field optional (and without its default). */
function snakePartial<T extends z.ZodRawShape>(schema: z.ZodObject<T>) {
  const shape = Object.fromEntries(
    Object.entries(schema.shape).map(([k, v]) => [snakeCase(k), (v as unknown as z.ZodDefault<z.ZodType>).unwrap().optional()]),
  );
  return z
    .object(shape)
    .transform((value) => Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => [camelCase(k), v])) as Partial<z.output<z.ZodObject<T>>>);
}

const strategyInput = snakePartial(strategySchema);
const summaryInput = snakePartial(summaryParametersSchema);
/** WeKnora's older clients nest the summary parameters (and the no-match prefix) in the strategy. */
const legacyStrategyInput = z.object({
  summary_parameters: summaryInput.optional(),
  no_match_prefix: summaryParametersSchema.shape.noMatchPrefix.unwrap().optional(),
});

/** Go clients send "" for an unset string. */
const emptyAsUnset = (value: unknown) => (value === "" ? undefined : value);

/** WeKnora's spellings of the fallback strategy (its MCP client sends `FIXED_RESPONSE`), in any case. */
const FALLBACK_SPELLINGS: Record<string, string> = { fixed_response: "fixed", fixed: "fixed", model: "model" };

/**
 * A WeKnora strategy as Parley reads it: Go clients send every field, an unset one as its zero
 * value, so a 0 or "" (or null) keeps the default; the enums take WeKnora's spellings in any case.
 */
function fromWeKnoraStrategy(value: unknown): unknown {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return value ?? undefined;
  const fields = Object.entries(value).filter(([, v]) => v !== 0 && v !== "" && v !== null);
  return Object.fromEntries(fields.map(([k, v]) => [k, k === "fallback_strategy" && typeof v === "string" ? (FALLBACK_SPELLINGS[v.toLowerCase()] ?? v) : v]));
}
const lowerCased = (value: unknown) => (typeof value === "string" ? value.toLowerCase() : value);

export const sessionBody = z
  .object({
    title: text().trim().max(255).optional(),
    description: text().max(2000).optional(),
    knowledge_base_id: z.preprocess(emptyAsUnset, text().max(100).nullable().optional()),
    session_strategy: z.preprocess(fromWeKnoraStrategy, z.intersection(strategyInput, legacyStrategyInput).optional()),
    summary_parameters: z.preprocess((v) => v ?? undefined, summaryInput.optional()),
    agent_config: z.preprocess((v) => v ?? undefined, snakePartial(agentConfigSchema).optional()),
    context_config: z.preprocess(
      (v) => (v && typeof v === "object" && "compression_strategy" in v ? { ...v, compression_strategy: lowerCased(v.compression_strategy) } : (v ?? undefined)),
      snakePartial(contextConfigSchema).optional(),
    ),
  })
  .openapi("SessionInput");

/** The domain's SessionInput from a REST body. */
export function toSessionInput(body: z.output<typeof sessionBody>): SessionInput {
  const { summary_parameters: legacySummary, no_match_prefix: noMatchPrefix, ...strategy } = body.session_strategy ?? {};
  const summary = { ...legacySummary, ...(noMatchPrefix !== undefined && { noMatchPrefix }), ...body.summary_parameters };
  return {
    title: body.title,
    description: body.description,
    knowledgeBaseId: body.knowledge_base_id,
    ...(body.session_strategy && { strategy }),
    ...(Object.keys(summary).length > 0 && { summaryParameters: summary }),
    ...(body.agent_config && { agentConfig: body.agent_config }),
    ...(body.context_config && { contextConfig: body.context_config }),
  };
}

const uuid = z.uuid();
export const sessionIdParam = z.object({ id: uuid });
export const chatSessionParam = z.object({ session_id: uuid });
export const messageParams = z.object({ session_id: uuid, id: uuid });


export const batchDeleteBody = z
  .object({
    ids: z.array(uuid).max(1000).nullish(),
    delete_all: z.boolean().nullish(),
  })
  .refine((v) => v.delete_all === true || (v.ids?.length ?? 0) > 0, { message: "Pass 'ids' (1..1000 session ids) or 'delete_all: true'", path: ["ids"] });

export const stopBody = z.object({ message_id: uuid });

export const generateTitleBody = z.object({
  messages: z
    .array(z.object({ role: text().max(20), content: text().max(chatSendInput.shape.query.maxLength ?? 16000) }))
    .max(200)
    .nullish(),
});

export const knowledgeChatBody = z.object({
  query: chatSendInput.shape.query,
  knowledge_base_ids: z.array(text().max(100)).max(50).nullish(),
  disable_title: z.boolean().nullish(),
  /** Files attached to the session whose text the answer reads (WeKnora's pre-uploaded `attachment_ids`). */
  attachment_ids: z.array(uuid).max(MAX_ATTACHMENTS_PER_ANSWER).nullish(),
  /** Where the question comes from (WeKnora's `web`, `api`, …); stored with both messages. */
  channel: z.preprocess(emptyAsUnset, text().trim().min(1).max(50).nullish()),
});

/** A retry of knowledge-chat names the answer it must not start twice (it becomes the answer's requestId). */
export const idempotencyHeader = z.object({
  "idempotency-key": z
    .uuid()
    .transform((key) => key.toLowerCase())
    .optional()
    .openapi({ description: "A uuid: a repeat with the same key and query streams the same answer instead of starting another" }),
});

export const continueStreamQuery = z.object({ message_id: uuid });

export const loadQuery = z.object({
  limit: z.coerce.number().int().min(1).max(messageListInput.shape.limit.unwrap().maxValue ?? 100).default(20),
  before_time: z.iso.datetime({ offset: true }).transform((t) => new Date(t)).pipe(timestamp()).optional(),
});

/** WeKnora's message search: `mode` empty or absent is hybrid, `limit` 0 or absent is 20 (Go clients send both always). */
export const searchBody = z.object({
  query: text().min(1).max(500),
  mode: z
    .enum(["keyword", "vector", "hybrid", ""])
    .nullish()
    .transform((mode) => mode || "hybrid"),
  limit: z
    .number()
    .int()
    .min(0)
    .max(100)
    .nullish()
    .transform((limit) => limit || 20),
  session_ids: z.array(uuid).max(1000).nullish(),
});

/**
 * WeKnora's paging: `page` and `page_size` of 0 or absent mean 1 and 20, a `page_size` above 1000
 * is 1000; anything else that is not a whole number of at least 0 is refused.
 */
const pageNumber = (fallback: number, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce
    .number()
    .int()
    .min(0)
    .optional()
    .transform((n) => (n ? Math.min(n, max) : fallback));
export const pageQuery = z.object({ page: pageNumber(1), page_size: pageNumber(20, 1000) });
/** `GET /sessions`: WeKnora's paging (the Go client sends `page=0&page_size=0`) and a keyword. */
export const listQuery = pageQuery.extend({ keyword: listInput.shape.search });
/** The rows a page of `pageQuery` covers. */
export const pageOf = ({ page, page_size }: z.output<typeof pageQuery>) => ({ limit: page_size, offset: (page - 1) * page_size });

export const knowledgeBaseParam = z.object({ id: uuid });
export const knowledgeParam = z.object({ knowledge_id: uuid });
export const chunkParam = z.object({ id: uuid });

/** A list in a query string: repeated keys (`ids=a&ids=b`, as Go's client and the web app send it), comma-separated (`ids=a,b`), or both. */
const queryList = (item: z.ZodString) =>
  z
    .union([text(), z.array(text())])
    .transform((value) => [value].flat().flatMap((part) => part.split(",")).map((part) => part.trim()).filter(Boolean))
    .pipe(z.array(item));

/**
 * `GET /knowledge-bases/:id/knowledge`: paging, and the web app's filters Parley can answer:
 * `keyword` (in the title or file name), `file_type` (an extension, as Knowledge's `file_type`),
 * `tag_id`/`tag_ids`, `folder_path` and `parse_status` (Parley's documents have no tags, sit at the
 * base's root and are stored once parsed, so a tag, a folder other than the root or a parse status
 * other than `completed` takes none).
 */
export const knowledgeListQuery = pageQuery.extend({
  keyword: text().trim().max(500).optional(),
  parse_status: text().trim().max(32).optional(),
  file_type: text().trim().max(20).optional(),
  tag_id: text().max(100).optional(),
  tag_ids: text().max(2000).optional(),
  folder_path: text().max(1000).optional(),
});

/** Go's `strconv.ParseBool` spellings, as WeKnora reads `recent`. */
const goBool = z.enum(["1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False"]).transform((v) => ["1", "t", "T", "TRUE", "true", "True"].includes(v));

/**
 * `GET /knowledge/search`: WeKnora's `keyword` (or `query`), required unless `recent` asks for the
 * newest documents; `offset` (absent: 0) and `limit` (0 or absent: 20, at most 1000); `file_types`
 * the extensions Knowledge's `file_type` shows (`md,pdf`, with or without the dot).
 */
export const knowledgeSearchQuery = z
  .object({
    keyword: text().trim().max(500).optional(),
    query: text().trim().max(500).optional(),
    recent: goBool.optional(),
    offset: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional().transform((n) => n ?? 0),
    limit: pageNumber(20, 1000),
    file_types: queryList(text().max(20)).optional(),
  })
  .transform(({ keyword, query, ...rest }) => ({ ...rest, keyword: keyword || query || "" }))
  .refine((v) => v.keyword !== "" || v.recent === true, { message: "Pass 'keyword' (or 'query'), or 'recent=true' for the newest documents", path: ["keyword"] });

/** `GET /knowledge/batch`: the documents named by `ids` (at most 1000), within the base `kb_id` when given. */
export const knowledgeBatchQuery = z.object({
  ids: queryList(text().max(100)).pipe(z.array(z.string()).min(1).max(1000)),
  kb_id: z.preprocess(emptyAsUnset, uuid.optional()),
});

const searchText = text().trim().min(1).max(2000);
export const knowledgeSearchBody = z
  .object({
    query: searchText,
    knowledge_base_id: z.preprocess(emptyAsUnset, uuid.optional()),
    knowledge_base_ids: z.array(uuid).max(50).nullish(),
    knowledge_ids: z.array(uuid).max(500).nullish(),
  })
  .refine((v) => v.knowledge_base_id !== undefined || (v.knowledge_base_ids?.length ?? 0) > 0 || (v.knowledge_ids?.length ?? 0) > 0, {
    message: "Name what to search: 'knowledge_base_id', 'knowledge_base_ids' or 'knowledge_ids'",
    path: ["knowledge_base_ids"],
  });

/** hybrid-search's fields, numbers as JSON (POST) or as query-string text (GET). */
function hybridSearchFields(number: () => z.ZodNumber | z.ZodCoercedNumber) {
  return z.object({
    query_text: searchText,
    vector_threshold: number().min(0).max(1).nullish(),
    keyword_threshold: number().min(0).max(1).nullish(),
    match_count: number().int().min(0).nullish(),
  });
}
export const hybridSearchBody = hybridSearchFields(() => z.number());
export const hybridSearchQuery = hybridSearchFields(() => z.coerce.number());

// --- responses ---

/** WeKnora's `SearchResult` (client/knowledgebase.go): a chunk found by a search, as a reference or a search hit. */
export const searchResultJson = z
  .object({
    id: z.string().openapi({ description: "The chunk's id" }),
    content: z.string(),
    knowledge_id: z.string().openapi({ description: "The document's id" }),
    chunk_index: z.number().int(),
    knowledge_title: z.string(),
    start_at: z.number().int(),
    end_at: z.number().int(),
    seq: z.number().int(),
    score: z.number(),
    match_type: z.number().int().openapi({ description: "0 vector, 1 keyword" }),
    sub_chunk_id: z.array(z.string()),
    metadata: z.record(z.string(), z.string()),
    chunk_type: z.string(),
    parent_chunk_id: z.string(),
    image_info: z.string(),
    knowledge_filename: z.string(),
    knowledge_source: z.string(),
    knowledge_channel: z.string(),
    matched_content: z.string(),
    knowledge_base_id: z.string(),
  })
  .openapi("SearchResult");

/** WeKnora's `KnowledgeBase` (client/knowledgebase.go). */
export const knowledgeBaseJson = z
  .object({
    id: z.string(),
    name: z.string(),
    type: z.literal("document"),
    is_temporary: z.boolean(),
    is_pinned: z.boolean(),
    description: z.string(),
    tenant_id: z.number().int(),
    chunking_config: z.object({ chunk_size: z.number().int(), chunk_overlap: z.number().int(), separators: z.array(z.string()) }),
    image_processing_config: z.object({ model_id: z.string() }),
    faq_config: z.null(),
    embedding_model_id: z.string(),
    summary_model_id: z.string(),
    vlm_config: z.object({ enabled: z.boolean(), model_id: z.string() }),
    storage_provider_config: z.null(),
    storage_config: z.object({
      secret_id: z.string(),
      secret_key: z.string(),
      region: z.string(),
      bucket_name: z.string(),
      app_id: z.string(),
      path_prefix: z.string(),
      provider: z.string(),
    }),
    extract_config: z.null(),
    auto_tag_config: z.null(),
    created_at: z.string(),
    updated_at: z.string(),
    knowledge_count: z.number().int(),
    chunk_count: z.number().int(),
    is_processing: z.boolean(),
    processing_count: z.number().int(),
  })
  .openapi("KnowledgeBase");

/** WeKnora's `Knowledge` (client/knowledge.go): a document. */
export const knowledgeJson = z
  .object({
    id: z.string(),
    tenant_id: z.number().int(),
    knowledge_base_id: z.string(),
    tag_id: z.string(),
    type: z.enum(["file", "manual"]).openapi({ description: "file: uploaded as a file; manual: added as text" }),
    title: z.string(),
    description: z.string(),
    source: z.string(),
    channel: z.string(),
    parse_status: z.literal("completed").openapi({ description: "Documents are indexed whole before they are stored" }),
    summary_status: z.literal("none"),
    enable_status: z.literal("enabled"),
    embedding_model_id: z.string(),
    file_name: z.string(),
    folder_path: z.string(),
    file_type: z.string(),
    file_size: z.number().int(),
    file_hash: z.string().openapi({ description: "SHA-256 of the source, hex" }),
    file_path: z.string(),
    storage_size: z.number().int(),
    metadata: z.record(z.string(), z.unknown()),
    created_at: z.string(),
    updated_at: z.string(),
    processed_at: z.string().nullable(),
    error_message: z.string(),
    knowledge_base_name: z.string(),
  })
  .openapi("Knowledge");

/** WeKnora's `Chunk` (client/chunk.go). */
export const chunkJson = z
  .object({
    id: z.string(),
    seq_id: z.number().int(),
    knowledge_id: z.string(),
    knowledge_base_id: z.string(),
    tenant_id: z.number().int(),
    tag_id: z.string(),
    content: z.string(),
    chunk_index: z.number().int(),
    is_enabled: z.boolean(),
    status: z.number().int().openapi({ description: "2: indexed (every stored chunk is)" }),
    start_at: z.number().int(),
    end_at: z.number().int(),
    pre_chunk_id: z.string(),
    next_chunk_id: z.string(),
    chunk_type: z.literal("text"),
    parent_chunk_id: z.string(),
    relation_chunks: z.array(z.string()),
    indirect_relation_chunks: z.array(z.string()),
    metadata: z.record(z.string(), z.unknown()),
    content_hash: z.string().openapi({ description: "SHA-256 of the content, hex" }),
    image_info: z.string(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("Chunk");

/** WeKnora's `SharedKnowledgeBaseInfo`: a base another tenant shared through an organisation (Parley shares none, so none is ever listed). */
export const sharedKnowledgeBaseJson = z
  .object({
    knowledge_base: knowledgeBaseJson,
    share_id: z.string(),
    organization_id: z.string(),
    org_name: z.string(),
    permission: z.string(),
    source_tenant_id: z.number().int(),
    shared_at: z.string(),
  })
  .openapi("SharedKnowledgeBase");

/**
 * WeKnora's `ChatHistoryKBStats`, of Parley's index of question/answer pairs (what `messages/search`
 * finds by meaning). The index is no knowledge base, so `knowledge_base_id` and `_name` are left
 * out, as WeKnora leaves them out when empty.
 */
export const chatHistoryStatsJson = z
  .object({
    enabled: z.boolean().openapi({ description: "Always true: every ended answer is indexed with its question" }),
    embedding_model_id: z.string().openapi({ description: "The embedder the pairs are indexed with" }),
    indexed_message_count: z.number().int().openapi({ description: "Question/answer pairs of the caller's own sessions searchable by meaning" }),
    has_indexed_messages: z.boolean(),
  })
  .openapi("ChatHistoryStats");

export const sessionJson = z
  .object({
    id: z.string(),
    title: z.string(),
    description: z.string(),
    tenant_id: z.number().int(),
    user_id: z.string(),
    knowledge_base_id: z.string().nullable(),
    is_pinned: z.boolean(),
    pinned_at: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
    session_strategy: z.record(z.string(), z.unknown()),
    summary_parameters: z.record(z.string(), z.unknown()),
    agent_config: z.record(z.string(), z.unknown()),
    context_config: z.record(z.string(), z.unknown()),
  })
  .openapi("Session");

export const messageJson = z
  .object({
    id: z.string(),
    session_id: z.string(),
    request_id: z.string(),
    content: z.string(),
    role: z.enum(["user", "assistant"]),
    knowledge_references: z.array(searchResultJson),
    is_completed: z.boolean(),
    status: z.enum(["streaming", "completed", "stopped", "interrupted", "failed"]),
    created_at: z.string(),
    updated_at: z.string(),
    parent_id: z.string().nullable().openapi({ description: "The message before it on its path (null for a first question)" }),
    channel: z.string().openapi({ description: "Where the question was asked: what the client sent, else `api` (REST) or `web` (the browser)" }),
    agent_steps: z.array(z.unknown()).openapi({ description: "Always empty: Parley runs no agent" }),
  })
  .openapi("Message");

export const turnHitJson = z
  .object({
    request_id: z.string(),
    session_id: z.string(),
    session_title: z.string(),
    query_content: z.string(),
    answer_content: z.string(),
    score: z.number(),
    match_type: z.enum(["keyword", "vector", "hybrid"]).openapi({ description: "Found by its words, by its meaning, or (hybrid search) both" }),
    created_at: z.string(),
  })
  .openapi("MessageSearchItem");

/**
 * A reference in WeKnora's shape: every field of its SearchResult, Parley's values where it has
 * them; what Parley does not have (sub-chunks, images, ingestion channel; what older references
 * did not record) is the empty value of its type.
 */
export function toReferenceJson(r: Reference): z.output<typeof searchResultJson> {
  const chunkIndex = r.position ?? 0;
  return {
    id: r.id,
    content: r.content,
    knowledge_id: r.documentId ?? "",
    chunk_index: chunkIndex,
    knowledge_title: r.source,
    start_at: r.startAt ?? 0,
    end_at: r.endAt ?? 0,
    // WeKnora's seq is the chunk's index too.
    seq: chunkIndex,
    score: r.score,
    // WeKnora's match types: 0 vector (embedding), 1 keyword; a hit found both ways counts as vector.
    match_type: r.matchedBy === "keyword" ? 1 : 0,
    sub_chunk_id: [],
    metadata: {},
    chunk_type: "text",
    parent_chunk_id: "",
    image_info: "",
    knowledge_filename: r.fileName ?? "",
    knowledge_source: "",
    knowledge_channel: "",
    // What the search matched: the chunk's text.
    matched_content: r.content,
    knowledge_base_id: r.knowledgeBaseId ?? "",
  };
}

const UNSET_STORAGE = { secret_id: "", secret_key: "", region: "", bucket_name: "", app_id: "", path_prefix: "", provider: "" };

/** A base in WeKnora's shape: Parley's counts, chunking and embedder; the features it lacks empty or off. */
export function toKnowledgeBaseJson(b: KnowledgeBase, caller: Caller, embedderId: string): z.output<typeof knowledgeBaseJson> {
  return {
    id: b.id,
    name: b.name,
    type: "document",
    is_temporary: false,
    is_pinned: false,
    description: b.description,
    tenant_id: caller.tenant.number,
    chunking_config: { chunk_size: DEFAULT_CHUNKING.maxTokens, chunk_overlap: DEFAULT_CHUNKING.overlapTokens, separators: [] },
    image_processing_config: { model_id: "" },
    faq_config: null,
    embedding_model_id: embedderId,
    summary_model_id: "",
    vlm_config: { enabled: false, model_id: "" },
    storage_provider_config: null,
    storage_config: UNSET_STORAGE,
    extract_config: null,
    auto_tag_config: null,
    created_at: b.createdAt.toISOString(),
    updated_at: b.updatedAt.toISOString(),
    knowledge_count: b.documentCount,
    chunk_count: b.chunkCount,
    // Documents are indexed before they are stored: nothing is ever still processing.
    is_processing: false,
    processing_count: 0,
  };
}

const FILE_TYPES: Record<string, string> = { "text/plain": "txt", "text/markdown": "md", "text/html": "html", "application/pdf": "pdf" };

/** The mime types of documents whose Knowledge `file_type` is one of `fileTypes` (`md`, `.PDF`, …); a type Parley does not store matches none. */
export function mimeTypesFor(fileTypes: readonly string[]): string[] {
  const wanted = new Set(fileTypes.map((type) => type.replace(/^\./, "").toLowerCase()));
  return Object.entries(FILE_TYPES).flatMap(([mimeType, type]) => (wanted.has(type) ? [mimeType] : []));
}

/** A document in WeKnora's shape. */
export function toKnowledgeJson(d: NamedDocument, caller: Caller, embedderId: string): z.output<typeof knowledgeJson> {
  const created = d.createdAt.toISOString();
  return {
    id: d.id,
    tenant_id: caller.tenant.number,
    knowledge_base_id: d.knowledgeBaseId,
    tag_id: "",
    type: d.fileName === null ? "manual" : "file",
    title: d.title,
    description: "",
    source: "",
    channel: "",
    parse_status: "completed",
    summary_status: "none",
    enable_status: "enabled",
    embedding_model_id: embedderId,
    file_name: d.fileName ?? "",
    folder_path: "",
    file_type: FILE_TYPES[d.mimeType] ?? "",
    file_size: d.sizeBytes,
    file_hash: d.contentHash,
    file_path: "",
    storage_size: 0,
    metadata: {},
    // A document is never changed once stored, and is stored once indexed.
    created_at: created,
    updated_at: created,
    processed_at: created,
    error_message: "",
    knowledge_base_name: d.knowledgeBaseName,
  };
}

/** A chunk in WeKnora's shape; it dates from its document. */
export function toChunkJson(c: StoredChunk, document: KnowledgeDocument, caller: Caller): z.output<typeof chunkJson> {
  const created = document.createdAt.toISOString();
  return {
    id: c.id,
    seq_id: 0,
    knowledge_id: c.documentId,
    knowledge_base_id: c.knowledgeBaseId,
    tenant_id: caller.tenant.number,
    tag_id: "",
    content: c.content,
    chunk_index: c.position,
    is_enabled: true,
    status: 2,
    start_at: c.startAt,
    end_at: c.endAt,
    pre_chunk_id: c.previousId ?? "",
    next_chunk_id: c.nextId ?? "",
    chunk_type: "text",
    parent_chunk_id: "",
    relation_chunks: [],
    indirect_relation_chunks: [],
    metadata: {},
    content_hash: sha256Hex(c.content),
    image_info: "",
    created_at: created,
    updated_at: created,
  };
}

/** `tenant_id` is the tenant's integer number; every session the caller reaches is in its tenant. */
export function toSessionJson(s: Session, caller: Caller): z.output<typeof sessionJson> {
  return {
    id: s.id,
    title: s.title,
    description: s.description,
    tenant_id: caller.tenant.number,
    user_id: s.userId,
    knowledge_base_id: s.knowledgeBaseId,
    is_pinned: s.pinned,
    pinned_at: s.pinnedAt?.toISOString() ?? null,
    created_at: s.createdAt.toISOString(),
    updated_at: s.updatedAt.toISOString(),
    session_strategy: snakeKeys(s.strategy),
    summary_parameters: snakeKeys(s.summaryParameters),
    agent_config: snakeKeys(s.agentConfig),
    context_config: snakeKeys(s.contextConfig),
  };
}

export function toMessageJson(m: Message): z.output<typeof messageJson> {
  return {
    id: m.id,
    session_id: m.sessionId,
    request_id: m.requestId,
    content: m.content,
    role: m.role,
    knowledge_references: m.references.map(toReferenceJson),
    is_completed: m.status !== "streaming",
    status: m.status,
    created_at: m.createdAt.toISOString(),
    updated_at: m.updatedAt.toISOString(),
    parent_id: m.parentId,
    channel: m.channel,
    agent_steps: [],
  };
}

export function toTurnHitJson(hit: PairHit): z.output<typeof turnHitJson> {
  return {
    request_id: hit.requestId,
    session_id: hit.sessionId,
    session_title: hit.sessionTitle,
    query_content: hit.question,
    answer_content: hit.answer,
    score: hit.score,
    match_type: hit.matchedBy,
    created_at: hit.createdAt.toISOString(),
  };
}

/** `{"success":true,"data":…}` (plus list fields), as documented in the OpenAPI document. */
export const ok = <T extends z.ZodType>(data: T) => z.object({ success: z.literal(true), data });
/** A success whose fields sit beside `success`, without the `data` envelope (WeKnora's wiki answers so). */
export const okBeside = <S extends z.ZodRawShape>(shape: S) => z.object({ success: z.literal(true), ...shape });
export const okList = <T extends z.ZodType>(item: T) =>
  z.object({ success: z.literal(true), data: z.array(item), total: z.number().int(), page: z.number().int(), page_size: z.number().int() });
export const okMessage = z.object({ success: z.literal(true), message: z.string() }).openapi("Done");
export const errorJson = z
  .object({
    success: z.literal(false),
    error: z.object({ code: z.number().int(), message: z.string(), details: z.unknown().optional() }),
  })
  .openapi("Error");

// --- what Parley has none of, and document files ---
// Reads WeKnora's clients make of features Parley lacks (folders, tags, FAQ entries, shares, wiki
// pages, artifacts) answer with WeKnora's shapes, empty; their item schemas say what would be listed.

/** WeKnora's `PageResult` inside `data`: `{"success":true,"data":{"total","page","page_size","data":[…]}}` (tags, FAQ entries). */
export const okPage = <T extends z.ZodType>(item: T) =>
  ok(z.object({ total: z.number().int(), page: z.number().int(), page_size: z.number().int(), data: z.array(item) }));

/** WeKnora's `KnowledgeFolderTree`: Parley's bases have no folders, so every document is at the top. */
export const knowledgeFolderTreeJson = z
  .object({
    root_document_count: z.number().int(),
    total_document_count: z.number().int(),
    folders: z.array(z.object({ path: z.string(), name: z.string(), document_count: z.number().int(), total_count: z.number().int() })).openapi({ description: "Always empty" }),
  })
  .openapi("KnowledgeFolderTree");

/** `GET /knowledge/{id}/spans`: `attempt` 0 or absent is the latest (Parley processes a document once: attempt 1). */
export const spansQuery = z.object({ attempt: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional() });

const spanFields = {
  knowledge_id: z.string(),
  attempt: z.number().int(),
  span_id: z.string().openapi({ description: "Empty: Parley records no spans of its own" }),
  name: z.string(),
  kind: z.enum(["root", "stage"]),
  status: z.enum(["done", "skipped"]),
  output: z.record(z.string(), z.unknown()).optional(),
  finished_at: z.string().optional(),
  created_at: z.string(),
  updated_at: z.string(),
};
/** WeKnora's `KnowledgeProcessingTrace` (client/knowledge.go), of what Parley knows: its five stages, done or skipped, by the time the document was stored. */
export const processingTraceJson = z
  .object({
    knowledge_id: z.string(),
    attempt: z.number().int(),
    latest_attempt: z.number().int(),
    current_attempt: z.number().int(),
    parse_status: z.literal("completed"),
    current_stage: z.string().openapi({ description: "Empty: nothing is running" }),
    trace: z.object({ ...spanFields, children: z.array(z.object(spanFields)) }),
  })
  .openapi("KnowledgeProcessingTrace");

/** WeKnora's stages (types.AllStages), and whether Parley runs each: it reads, chunks and embeds; it reads no images and makes no summaries or questions. */
const STAGES = [
  ["docreader", "done"],
  ["chunking", "done"],
  ["embedding", "done"],
  ["multimodal", "skipped"],
  ["postprocess", "skipped"],
] as const;

/**
 * A document's processing as WeKnora's span tree. Parley times no stages, so stages carry no
 * start, finish or duration; the root finished when the document was stored (it is stored once
 * indexed), which is also when every span is dated.
 */
export function toProcessingTraceJson(d: KnowledgeDocument): z.output<typeof processingTraceJson> {
  const at = d.createdAt.toISOString();
  const span = (name: string, kind: "root" | "stage", status: "done" | "skipped") => ({ knowledge_id: d.id, attempt: 1, span_id: "", name, kind, status, created_at: at, updated_at: at });
  const chunked = { chunk_count: d.chunkCount };
  return {
    knowledge_id: d.id,
    attempt: 1,
    latest_attempt: 1,
    current_attempt: 1,
    parse_status: "completed",
    current_stage: "",
    trace: {
      ...span("knowledge_processing", "root", "done"),
      output: chunked,
      finished_at: at,
      children: STAGES.map(([name, status]) => ({ ...span(name, "stage", status), ...(name === "chunking" && { output: chunked }) })),
    },
  };
}

/** WeKnora's `TagWithStats` (client/tag.go). */
export const tagJson = z
  .object({
    id: z.string(),
    seq_id: z.number().int(),
    tenant_id: z.number().int(),
    knowledge_base_id: z.string(),
    name: z.string(),
    color: z.string(),
    sort_order: z.number().int(),
    created_at: z.string(),
    updated_at: z.string(),
    knowledge_count: z.number().int(),
    chunk_count: z.number().int(),
  })
  .openapi("Tag");

/** WeKnora's `FAQEntry` (client/faq.go). */
export const faqEntryJson = z
  .object({
    id: z.number().int(),
    chunk_id: z.string(),
    knowledge_id: z.string(),
    knowledge_base_id: z.string(),
    tag_id: z.number().int(),
    tag_name: z.string(),
    is_enabled: z.boolean(),
    is_recommended: z.boolean(),
    standard_question: z.string(),
    similar_questions: z.array(z.string()),
    negative_questions: z.array(z.string()),
    answers: z.array(z.string()),
    answer_strategy: z.string(),
    index_mode: z.string(),
    chunk_type: z.string(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("FAQEntry");

/** WeKnora's `KnowledgeBaseShareResponse` (a base shared with an organisation). */
export const knowledgeBaseShareJson = z
  .object({
    id: z.string(),
    knowledge_base_id: z.string(),
    knowledge_base_name: z.string(),
    knowledge_base_type: z.string(),
    knowledge_count: z.number().int(),
    chunk_count: z.number().int(),
    organization_id: z.string(),
    organization_name: z.string(),
    shared_by_user_id: z.string(),
    shared_by_username: z.string(),
    source_tenant_id: z.number().int(),
    permission: z.string(),
    my_role_in_org: z.string(),
    my_permission: z.string(),
    created_at: z.string(),
    require_approval: z.boolean(),
  })
  .openapi("KnowledgeBaseShare");

/**
 * `GET /knowledge-bases/{id}/activity`: WeKnora's cursor, `after_id` (entries numbered below it;
 * 0 or absent: from the newest), `limit` (0 or absent: 50; at most 100) and its exact filters.
 */
export const activityQuery = z.object({
  after_id: pageNumber(0),
  limit: pageNumber(50, 100),
  action: text().max(64).optional(),
  outcome: text().max(16).optional(),
  actor: text().max(64).optional(),
});

/** WeKnora's `AuditLog` (frontend/src/api/tenant/audit-log.ts), scoped to a knowledge base. */
export const auditLogJson = z
  .object({
    id: z.number().int().openapi({ description: "The document's number in its base, in the order documents were added (the cursor `after_id` takes)" }),
    tenant_id: z.number().int(),
    actor_user_id: z.string().openapi({ description: "Who added the document (empty for a document Parley provides)" }),
    actor_role: z.string(),
    action: z.literal("knowledge.created"),
    scope_type: z.literal("knowledge_base"),
    scope_id: z.string(),
    target_type: z.literal("knowledge"),
    target_id: z.string(),
    target_user_id: z.string(),
    request_path: z.string(),
    request_method: z.string(),
    outcome: z.literal("success").openapi({ description: "A document is stored once indexed, so every addition succeeded" }),
    details: z.object({ title: z.string(), source_type: z.enum(["file", "manual"]), file_type: z.string(), processing_status: z.literal("completed") }),
    created_at: z.string(),
  })
  .openapi("KnowledgeBaseActivity");

/** A document added, as WeKnora's `knowledge.created` activity entry. */
export function toActivityJson(added: DocumentAdded, knowledgeBaseId: string, caller: Caller): z.output<typeof auditLogJson> {
  return {
    id: added.number,
    tenant_id: caller.tenant.number,
    actor_user_id: added.createdBy ?? "",
    actor_role: "",
    action: "knowledge.created",
    scope_type: "knowledge_base",
    scope_id: knowledgeBaseId,
    target_type: "knowledge",
    target_id: added.id,
    target_user_id: "",
    request_path: "",
    request_method: "",
    outcome: "success",
    details: { title: added.title, source_type: added.fileName === null ? "manual" : "file", file_type: FILE_TYPES[added.mimeType] ?? "", processing_status: "completed" },
    created_at: added.createdAt.toISOString(),
  };
}

export const wikiBaseParam = z.object({ kb_id: uuid });
/** A wiki page's slug: WeKnora's may hold `/` (`entity/acme`). */
export const wikiPageParams = wikiBaseParam.extend({ slug: text().min(1).max(255) });
/** `GET …/wiki/search`: `q` required, `limit` (0 or absent: 10). */
export const wikiSearchQuery = z.object({ q: text().trim().min(1).max(500), limit: pageNumber(10, 100) });
/** `GET …/wiki/index`: page `types` (absent: WeKnora's content types), `limit` per type (0 or absent: 50; at most 200), `cursor` an offset. */
export const wikiIndexQuery = z.object({
  types: queryList(text().max(32)).optional(),
  limit: pageNumber(50, 200),
  cursor: z.preprocess(emptyAsUnset, z.string().regex(/^\d{1,15}$/, "Must be an offset (a whole number)").optional()),
});
/** The page types WeKnora's index lists when none are asked for. */
export const WIKI_CONTENT_TYPES = ["summary", "entity", "concept", "synthesis", "comparison"];

/** WeKnora's `WikiPage` (its main fields). */
export const wikiPageJson = z
  .object({
    id: z.string(),
    tenant_id: z.number().int(),
    knowledge_base_id: z.string(),
    slug: z.string(),
    title: z.string(),
    page_type: z.string(),
    status: z.string(),
    content: z.string(),
    summary: z.string(),
    aliases: z.array(z.string()),
    source_refs: z.array(z.string()),
    in_links: z.array(z.string()),
    out_links: z.array(z.string()),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("WikiPage");

/** WeKnora's `WikiIndexResponse`: an intro and, per page type, a window of its pages. */
export const wikiIndexJson = z
  .object({
    intro: z.string(),
    version: z.number().int(),
    groups: z.array(
      z.object({
        type: z.string(),
        total: z.number().int(),
        items: z.array(z.object({ slug: z.string(), title: z.string(), summary: z.string() })),
        next_cursor: z.string().optional(),
      }),
    ),
  })
  .openapi("WikiIndex");

/** `GET …/wiki/pages`: WeKnora's paging (`page`, `page_size`) and its filters, which find nothing here either. */
export const wikiPagesQuery = pageQuery;
/** `GET …/wiki/folders`: the folder whose children are listed (empty or absent: the root). */
export const wikiFoldersQuery = z.object({ parent_id: text().trim().max(100).optional() });
/** `GET …/wiki/graph`: `overview` (absent) or `ego` around a `center` page, as WeKnora checks them. */
export const wikiGraphQuery = z
  .object({ mode: z.preprocess(emptyAsUnset, z.enum(["overview", "ego"]).optional()), center: text().trim().max(255).optional() })
  .refine((q) => q.mode !== "ego" || !!q.center, { message: "center is required when mode=ego", path: ["center"] });

/** WeKnora's `WikiPageListResponse`. */
export const wikiPageListJson = z.object({
  pages: z.array(wikiPageJson),
  total: z.number().int(),
  page: z.number().int(),
  page_size: z.number().int(),
  total_pages: z.number().int(),
});
/** WeKnora's `WikiFolderListResponse`. */
export const wikiFolderListJson = z.object({ parent_id: z.string(), folders: z.array(z.object({ id: z.string(), name: z.string(), path: z.string() })) });
/** WeKnora's `WikiGraphData`. */
export const wikiGraphJson = z.object({
  nodes: z.array(z.object({ slug: z.string(), title: z.string(), page_type: z.string(), link_count: z.number().int() })),
  edges: z.array(z.object({ source: z.string(), target: z.string() })),
  meta: z.object({ mode: z.string(), total: z.number().int(), returned: z.number().int(), truncated: z.boolean() }),
});
/** WeKnora's `WikiStats`. */
export const wikiStatsJson = z.object({
  total_pages: z.number().int(),
  pages_by_type: z.record(z.string(), z.number().int()),
  total_links: z.number().int(),
  orphan_count: z.number().int(),
  recent_updates: z.array(wikiPageJson),
  pending_tasks: z.number().int(),
  pending_issues: z.number().int(),
  is_active: z.boolean(),
});

export const artifactParams = z.object({ id: uuid, message_id: uuid });
export const artifactDownloadParams = artifactParams.extend({ index: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER) });

/** WeKnora's artifact list item (frontend/src/api/chat/index.ts `ArtifactMeta`): a file a skill made during an answer. */
export const artifactJson = z
  .object({
    index: z.number().int(),
    file_name: z.string(),
    file_type: z.string(),
    file_size: z.number().int(),
    source_path: z.string(),
    mod_time: z.string(),
    created_at: z.string(),
  })
  .openapi("Artifact");

/**
 * What a document's text is served as (see documentContent): Markdown for Markdown and web pages
 * (Parley reads HTML as Markdown), plain text for the rest, PDFs too; its file name says which.
 */
export function documentFileOf(d: KnowledgeDocument): { name: string; contentType: string } {
  const markdown = d.mimeType === "text/markdown" || d.mimeType === "text/html";
  const name = d.fileName ?? d.title;
  const served = markdown ? /\.(md|markdown)$/i : /\.(txt|text)$/i;
  return {
    name: served.test(name) ? name : `${name.replace(/\.(html?|pdf|txt|text|md|markdown)$/i, "")}${markdown ? ".md" : ".txt"}`,
    contentType: `${markdown ? "text/markdown" : "text/plain"}; charset=utf-8`,
  };
}

/** A Content-Disposition naming a file: an ASCII stand-in and the UTF-8 name (RFC 6266), which Go's `mime.ParseMediaType` and browsers prefer. */
export function contentDisposition(kind: "attachment" | "inline", fileName: string): string {
  const ascii = fileName.replace(/[^\x20-\x7e]|["\\]/g, "_");
  const utf8 = encodeURIComponent(fileName).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${utf8}`;
}
