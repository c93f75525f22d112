import { z } from "zod";
import { text } from "./inputs";

/** Parley's own fallback sentence; a Chinese question gets it in Chinese (server/platform/text/language.ts). */
export const DEFAULT_FALLBACK_RESPONSE = "Sorry, I am unable to answer this question.";

/**
 * Session configuration, with WeKnora's conversation defaults. Each schema gives the full shape
 * (with defaults and limits); `SessionInput` takes any part of it and is deep-merged. Each field's
 * `.meta` title and description label it in the browser's settings form, which is built from these
 * schemas' JSON Schema.
 */
export const strategySchema = z.object({
  maxRounds: z.number().int().min(1).max(100).meta({ title: "Conversation rounds", description: "How many earlier turns the model sees." }).default(5),
  enableRewrite: z.boolean().meta({ title: "Rewrite follow-up questions", description: "Turn “and that?” into a standalone question before searching." }).default(true),
  fallbackStrategy: z.enum(["fixed", "model"]).meta({ title: "When no source matches", description: "fixed: reply with the text below; model: the model answers and says it found no source." }).default("model"),
  fallbackResponse: text().max(2000).meta({ title: "Fallback reply" }).default(DEFAULT_FALLBACK_RESPONSE),
  keywordThreshold: z.number().min(0).max(1).meta({ title: "Keyword threshold" }).default(0.3),
  vectorThreshold: z.number().min(0).max(1).meta({ title: "Vector threshold" }).default(0.5),
  embeddingTopK: z.number().int().min(1).max(100).meta({ title: "Candidates per search (top K)" }).default(10),
  rerankModelId: text().max(200).nullable().meta({ title: "Rerank model", description: "Empty: no rerank model." }).default(null),
  rerankTopK: z.number().int().min(1).max(100).meta({ title: "Sources kept after rerank" }).default(5),
  rerankThreshold: z.number().min(0).max(1).meta({ title: "Rerank threshold" }).default(0.5),
  summaryModelId: text().max(200).nullable().meta({ title: "Summary model", description: "Empty: the chat model." }).default(null),
});

export const summaryParametersSchema = z.object({
  temperature: z.number().min(0).max(2).meta({ title: "Temperature" }).default(0.3),
  maxCompletionTokens: z.number().int().min(1).max(131072).meta({ title: "Max answer tokens" }).default(2048),
  repeatPenalty: z.number().min(0).max(2).meta({ title: "Repeat penalty" }).default(1.0),
  topK: z.number().int().min(0).max(1000).meta({ title: "Top K", description: "0: off." }).default(0),
  topP: z.number().min(0).max(1).meta({ title: "Top P", description: "0: off." }).default(0),
  frequencyPenalty: z.number().min(-2).max(2).meta({ title: "Frequency penalty" }).default(0),
  presencePenalty: z.number().min(-2).max(2).meta({ title: "Presence penalty" }).default(0),
  seed: z.number().int().min(0).meta({ title: "Seed", description: "0: random." }).default(0),
  prompt: text().max(20000).meta({ title: "System prompt" }).default(""),
  contextTemplate: text().max(20000).meta({ title: "Context template", description: "How sources are put before the question." }).default(""),
  noMatchPrefix: text().max(2000).meta({ title: "No-match prefix" }).default(""),
});

export const agentConfigSchema = z.object({
  agentModeEnabled: z.boolean().default(false),
  webSearchEnabled: z.boolean().default(false),
  knowledgeBases: z.array(text().max(100)).max(50).default([]),
  knowledgeIds: z.array(text().max(100)).max(500).default([]),
});

export const contextConfigSchema = z.object({
  maxTokens: z.number().int().min(256).max(2_000_000).meta({ title: "Context budget (tokens)" }).default(131072),
  compressionStrategy: z.enum(["sliding_window", "smart"]).meta({ title: "Compression", description: "sliding_window keeps recent messages; smart summarises older ones." }).default("sliding_window"),
  recentMessageCount: z.number().int().min(1).max(1000).meta({ title: "Recent messages kept" }).default(20),
  summarizeThreshold: z.number().int().min(1).max(1000).meta({ title: "Summarise after (dropped messages)" }).default(5),
});

export type Strategy = z.infer<typeof strategySchema>;
export type SummaryParameters = z.infer<typeof summaryParametersSchema>;
export type AgentConfig = z.infer<typeof agentConfigSchema>;
export type ContextConfig = z.infer<typeof contextConfigSchema>;

export const defaultStrategy = (): Strategy => strategySchema.parse({});
export const defaultSummaryParameters = (): SummaryParameters => summaryParametersSchema.parse({});
export const defaultAgentConfig = (): AgentConfig => agentConfigSchema.parse({});
export const defaultContextConfig = (): ContextConfig => contextConfigSchema.parse({});

/** A partial of a config schema: fields optional and without defaults, limits kept. */
function partialOf<T extends z.ZodRawShape>(schema: z.ZodObject<T>) {
  const shape = Object.fromEntries(
    Object.entries(schema.shape).map(([k, v]) => [k, (v as unknown as z.ZodDefault<z.ZodType>).unwrap().optional()]),
  );
  // Input typed as well as output, so callers (and the SDK's declarations) see the fields, not `unknown`.
  type Fields = Partial<z.output<z.ZodObject<T>>>;
  return z.strictObject(shape) as unknown as z.ZodType<Fields, Fields>;
}

export const sessionInputSchema = z.strictObject({
  title: text().trim().max(255).meta({ title: "Title" }).optional(),
  description: text().max(2000).meta({ title: "Description" }).optional(),
  knowledgeBaseId: text().max(100).nullable().optional(),
  strategy: partialOf(strategySchema).optional(),
  summaryParameters: partialOf(summaryParametersSchema).optional(),
  agentConfig: partialOf(agentConfigSchema).optional(),
  contextConfig: partialOf(contextConfigSchema).optional(),
});
export type SessionInput = z.infer<typeof sessionInputSchema>;

export const referenceSchema = z.object({
  id: z.string(),
  title: z.string(),
  source: z.string(),
  content: z.string(),
  score: z.number(),
  matchedBy: z.enum(["keyword", "vector", "both"]).optional(),
  /** Where the chunk lives (absent on references stored before they were recorded). */
  knowledgeBaseId: z.string().optional(),
  documentId: z.string().optional(),
  position: z.number().int().optional(),
  /** Where the chunk lies in its document's text (absent on references recorded before offsets were). */
  startAt: z.number().int().optional(),
  endAt: z.number().int().optional(),
  /** The file the document was uploaded as (absent: added as text, or recorded before file names were). */
  fileName: z.string().optional(),
});
export type Reference = z.infer<typeof referenceSchema>;

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
}

/** A source as a shared conversation shows it: its title and a snippet of the passage, nothing else. */
export interface SharedReference {
  title: string;
  snippet: string;
}

/** A message of a shared conversation, as anyone with the link reads it. */
export interface SharedMessage {
  role: "user" | "assistant";
  content: string;
  references: SharedReference[];
  /** ISO 8601. */
  createdAt: string;
}

/** A follow-up question suggested after an answer (WeKnora's `MessageSuggestionItem`): its id names it in events. */
export interface SuggestedQuestion {
  id: string;
  text: string;
  /** `clarify`, `deepen` or `action` when the model said which. */
  category?: "clarify" | "deepen" | "action";
  /** `model`: the summary model wrote it; `answer`: built from the question and answer's own words (the offline model, or a model's unusable reply). */
  source: "model" | "answer";
}
