import { z } from "@hono/zod-openapi";
import { text, timestamp } from "../../../common/inputs";
import type { Caller } from "../../auth/accounts";
import { agentConfigSchema, contextConfigSchema, strategySchema, summaryParametersSchema, type Reference, type SessionInput } from "../../../common/settings";
import type { Message, TurnHit } from "../../sessions/messages";
import { chatSendInput } from "../trpc/routers/chat";
import { messageListInput } from "../trpc/routers/message";
import { listInput } from "../trpc/routers/session";
import type { Session } from "../../sessions/sessions";

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

export const sessionBody = z
  .object({
    title: text().trim().max(255).optional(),
    description: text().max(2000).optional(),
    knowledge_base_id: z.preprocess(emptyAsUnset, text().max(100).nullable().optional()),
    session_strategy: z.preprocess((v) => v ?? undefined, z.intersection(strategyInput, legacyStrategyInput).optional()),
    summary_parameters: z.preprocess((v) => v ?? undefined, summaryInput.optional()),
    agent_config: z.preprocess((v) => v ?? undefined, snakePartial(agentConfigSchema).optional()),
    context_config: z.preprocess((v) => v ?? undefined, snakePartial(contextConfigSchema).optional()),
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

export const listQuery = z.object({
  page: z.coerce.number().int().min(1).max(1_000_000).default(1),
  page_size: z.coerce.number().int().min(1).max(1000).default(20),
  keyword: listInput.shape.search,
});

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
});

export const continueStreamQuery = z.object({ message_id: uuid });

export const loadQuery = z.object({
  limit: z.coerce.number().int().min(1).max(messageListInput.shape.limit.unwrap().maxValue ?? 100).default(20),
  before_time: z.iso.datetime({ offset: true }).transform((t) => new Date(t)).pipe(timestamp()).optional(),
});

export const searchBody = z.object({
  query: text().min(1).max(500),
  limit: z.number().int().min(1).max(100).nullish(),
  session_ids: z.array(uuid).max(1000).nullish(),
});

// --- responses ---

const referenceJson = z
  .object({
    id: z.string(),
    content: z.string(),
    knowledge_id: z.string(),
    knowledge_title: z.string(),
    knowledge_base_id: z.string(),
    chunk_index: z.number().int(),
    score: z.number(),
    match_type: z.number().int().openapi({ description: "0 vector, 1 keyword" }),
  })
  .openapi("Reference");

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
    knowledge_references: z.array(referenceJson),
    is_completed: z.boolean(),
    status: z.enum(["streaming", "completed", "stopped", "interrupted", "failed"]),
    created_at: z.string(),
    updated_at: z.string(),
    parent_id: z.string().nullable().openapi({ description: "The message before it on its path (null for a first question)" }),
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
    created_at: z.string(),
  })
  .openapi("MessageSearchItem");

export function toReferenceJson(r: Reference): z.output<typeof referenceJson> {
  return {
    id: r.id,
    content: r.content,
    knowledge_id: r.documentId ?? "",
    knowledge_title: r.source,
    knowledge_base_id: r.knowledgeBaseId ?? "",
    chunk_index: r.position ?? 0,
    score: r.score,
    // WeKnora's match types: 0 vector (embedding), 1 keyword; a hit found both ways counts as vector.
    match_type: r.matchedBy === "keyword" ? 1 : 0,
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
  };
}

export function toTurnHitJson(hit: TurnHit): z.output<typeof turnHitJson> {
  return {
    request_id: hit.requestId,
    session_id: hit.sessionId,
    session_title: hit.sessionTitle,
    query_content: hit.question,
    answer_content: hit.answer,
    score: hit.score,
    created_at: hit.createdAt.toISOString(),
  };
}

/** `{"success":true,"data":…}` (plus list fields), as documented in the OpenAPI document. */
export const ok = <T extends z.ZodType>(data: T) => z.object({ success: z.literal(true), data });
export const okList = <T extends z.ZodType>(item: T) =>
  z.object({ success: z.literal(true), data: z.array(item), total: z.number().int(), page: z.number().int(), page_size: z.number().int() });
export const okMessage = z.object({ success: z.literal(true), message: z.string() }).openapi("Done");
export const errorJson = z
  .object({
    success: z.literal(false),
    error: z.object({ code: z.number().int(), message: z.string(), details: z.unknown().optional() }),
  })
  .openapi("Error");
