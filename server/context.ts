import type { ContextConfig, Strategy } from "./defaults";
import { countMessageTokens } from "./models/text";
import type { ChatMessage } from "./models/types";
import type { Keys } from "./store/keys";
import type { Store } from "./store/types";
import { rootLogger } from "./log";

/**
 * The LLM context of each session: its recent turns, kept in the store with a TTL and rebuilt from
 * the messages table on a miss. Postgres stays the record; this is a cache the model reads from.
 *
 * The context is one JSON value (not a Redis list) so that reading it before an answer is one GET
 * and recording a turn one SET with its TTL: a single round trip each, no LRANGE + EXPIRE pairs or
 * transactions, and the same behaviour on the in-memory store and on Redis Cluster.
 */

export type Compression = "none" | "sliding_window" | "smart" | "smart_fallback";

export interface ContextManagerOptions {
  store: Pick<Store, "get" | "set" | "del">;
  keys: Pick<Keys, "context">;
  ttlSeconds: number;
  /** The session's completed user and assistant messages, oldest first (read on a cache miss). */
  loadHistory: (sessionId: string) => Promise<ChatMessage[]>;
  /** Summarises older messages with the summary model (the `smart` compression). */
  summarize: (messages: ChatMessage[]) => Promise<string>;
}

export interface BuildOptions {
  systemPrompt: string;
  question: string;
  strategy: Pick<Strategy, "maxRounds">;
  contextConfig: ContextConfig;
}

export interface BuiltContext {
  messages: ChatMessage[];
  compressed: Compression;
  /** Tokens of `messages`, as counted against `contextConfig.maxTokens`. */
  tokens: number;
}

/** 100 rounds: the most `strategy.maxRounds` allows. */
const MAX_STORED_MESSAGES = 200;

export function createContextManager({ store, keys, ttlSeconds, loadHistory, summarize }: ContextManagerOptions) {
  const write = (sessionId: string, messages: ChatMessage[]) =>
    store.set(keys.context(sessionId), JSON.stringify({ messages: messages.slice(-MAX_STORED_MESSAGES) }), ttlSeconds);

  async function read(sessionId: string): Promise<ChatMessage[] | null> {
    const raw = await store.get(keys.context(sessionId));
    return raw === null ? null : parseStored(raw);
  }

  async function history(sessionId: string): Promise<ChatMessage[]> {
    const cached = await read(sessionId);
    if (cached) return cached;
    const loaded = completeRounds(await loadHistory(sessionId));
    await write(sessionId, loaded);
    return loaded;
  }

  return {
    async build(sessionId: string, { systemPrompt, question, strategy, contextConfig }: BuildOptions): Promise<BuiltContext> {
      const { maxTokens, compressionStrategy, recentMessageCount, summarizeThreshold } = contextConfig;
      const recent = lastRounds(await history(sessionId), strategy.maxRounds);
      const system: ChatMessage[] = systemPrompt ? [{ role: "system", content: systemPrompt }] : [];
      const ask: ChatMessage = { role: "user", content: question };
      const assemble = (kept: ChatMessage[], extra: ChatMessage[] = []) => [...system, ...extra, ...kept, ask];
      const result = (messages: ChatMessage[], compressed: Compression): BuiltContext => ({
        messages,
        compressed,
        tokens: countMessageTokens(messages),
      });

      const whole = result(assemble(recent), "none");
      if (whole.tokens <= maxTokens) return whole;

      const window = fitToBudget(recent.slice(-recentMessageCount), countMessageTokens(assemble([])), maxTokens);
      const dropped = recent.slice(0, recent.length - window.length);
      if (compressionStrategy === "smart" && dropped.length >= summarizeThreshold) {
        try {
          const summary: ChatMessage = {
            role: "system",
            content: `Summary of the earlier conversation: ${await summarize(dropped)}`,
          };
          const kept = fitToBudget(window, countMessageTokens(assemble([], [summary])), maxTokens);
          return result(assemble(kept, [summary]), "smart");
        } catch (error) {
          rootLogger().warn({ err: error }, "summarising the context failed, using the sliding window");
          return result(assemble(window), "smart_fallback");
        }
      }
      return result(assemble(window), dropped.length > 0 ? "sliding_window" : "none");
    },

    /**
     * Appends a finished turn. A missing context is left missing: the next `build` rebuilds it from
     * the messages table, which then holds this turn (and a context cleared mid-answer stays clear).
     */
    async record(sessionId: string, userText: string, assistantText: string): Promise<void> {
      const messages = await read(sessionId);
      if (!messages) return;
      messages.push({ role: "user", content: userText }, { role: "assistant", content: assistantText });
      await write(sessionId, messages);
    },

    async clear(sessionId: string): Promise<void> {
      await store.del(keys.context(sessionId));
    },
  };
}

export type ContextManager = ReturnType<typeof createContextManager>;

/** The stored messages, or null when the value is not what `write` stores (then it is rebuilt). */
function parseStored(raw: string): ChatMessage[] | null {
  try {
    const value = JSON.parse(raw) as { messages?: unknown };
    const messages = value?.messages;
    const valid =
      Array.isArray(messages) &&
      messages.every(
        (m: { role?: unknown; content?: unknown } | null) => (m?.role === "user" || m?.role === "assistant" || m?.role === "system") && typeof m.content === "string",
      );
    return valid ? (messages as ChatMessage[]) : null;
  } catch {
    return null;
  }
}

/** Drops a trailing question without an answer: it is the turn being answered, or one that failed. */
function completeRounds(messages: ChatMessage[]): ChatMessage[] {
  let end = messages.length;
  while (end > 0 && messages[end - 1]!.role === "user") end--;
  return messages.slice(0, end);
}

/** The last `maxRounds` rounds, a round being a user message and the answer that follows it. */
function lastRounds(messages: ChatMessage[], maxRounds: number): ChatMessage[] {
  let rounds = 0;
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i]!.role === "user" && ++rounds === maxRounds) return messages.slice(i);
  }
  return messages;
}

/** Drops the oldest messages until they fit in what `maxTokens` leaves after `fixedTokens`. */
function fitToBudget(messages: ChatMessage[], fixedTokens: number, maxTokens: number): ChatMessage[] {
  const sizes = messages.map((m) => countMessageTokens([m]));
  let total = fixedTokens + sizes.reduce((a, b) => a + b, 0);
  let start = 0;
  while (start < messages.length && total > maxTokens) total -= sizes[start++]!; // sizes has one entry per message
  return messages.slice(start);
}
