import type { ContextConfig, Strategy } from "../../common/settings";
import { countMessageTokens, countTokens, MESSAGE_OVERHEAD_TOKENS } from "../platform/models/text";
import type { ChatMessage } from "../platform/models/types";
import type { Keys } from "../platform/store/keys";
import type { Store } from "../platform/store/types";
import { rootLogger } from "../platform/log";

/**
 * The LLM context of each session: its recent turns, kept in the store with a TTL and rebuilt from
 * the messages table on a miss. Postgres stays the record; this is a cache the model reads from.
 *
 * The context is one JSON value (not a Redis list) so that reading it before an answer is one GET
 * and recording a turn one SET with its TTL: a single round trip each, no LRANGE + EXPIRE pairs or
 * transactions, and the same behaviour on the in-memory store and on Redis Cluster.
 */

export type Compression = "none" | "sliding_window" | "smart" | "smart_fallback";

/** A message of the conversation with the tokens of its content, counted once when it was written. */
export interface HistoryMessage extends ChatMessage {
  tokens?: number;
}

export interface ContextManagerOptions {
  store: Pick<Store, "get" | "set" | "del">;
  keys: Pick<Keys, "context">;
  ttlSeconds: number;
  /** The session's completed user and assistant messages, oldest first (read on a cache miss). */
  loadHistory: (sessionId: string) => Promise<HistoryMessage[]>;
  /**
   * The session's context version in Postgres (null: no such session), moved by every clear: a
   * cached context of another version is rebuilt, so a clear whose Redis part failed still forgets.
   * Without it, the cache is trusted as it is.
   */
  loadVersion?: (sessionId: string) => Promise<number | null>;
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

/** What a message takes in a prompt, from its stored count when it has one. */
const sizeOf = (m: HistoryMessage) => (m.tokens ?? countTokens(m.content)) + MESSAGE_OVERHEAD_TOKENS;
const plain = ({ role, content }: HistoryMessage): ChatMessage => ({ role, content });

export function createContextManager({ store, keys, ttlSeconds, loadHistory, loadVersion, summarize }: ContextManagerOptions) {
  const write = (sessionId: string, version: number | null, messages: HistoryMessage[]) =>
    store.set(keys.context(sessionId), JSON.stringify({ version, messages: messages.slice(-MAX_STORED_MESSAGES) }), ttlSeconds);

  async function read(sessionId: string): Promise<Stored | null> {
    const raw = await store.get(keys.context(sessionId));
    return raw === null ? null : parseStored(raw);
  }

  async function history(sessionId: string): Promise<HistoryMessage[]> {
    const [cached, version] = await Promise.all([read(sessionId), loadVersion ? loadVersion(sessionId) : null]);
    if (cached && (!loadVersion || cached.version === version)) return cached.messages;
    const loaded = completeRounds(await loadHistory(sessionId));
    await write(sessionId, version, loaded);
    return loaded;
  }

  return {
    async build(sessionId: string, { systemPrompt, question, strategy, contextConfig }: BuildOptions): Promise<BuiltContext> {
      const { maxTokens, compressionStrategy, recentMessageCount, summarizeThreshold } = contextConfig;
      const recent = lastRounds(await history(sessionId), strategy.maxRounds);
      const system: ChatMessage[] = systemPrompt ? [{ role: "system", content: systemPrompt }] : [];
      const ask: ChatMessage = { role: "user", content: question };
      // Only what is new this turn is counted; the history's messages carry their counts.
      const fixedTokens = countMessageTokens([...system, ask]);
      const result = (kept: HistoryMessage[], compressed: Compression, summary?: ChatMessage): BuiltContext => ({
        messages: [...system, ...(summary ? [summary] : []), ...kept.map(plain), ask],
        compressed,
        tokens: fixedTokens + (summary ? countMessageTokens([summary]) : 0) + kept.reduce((sum, m) => sum + sizeOf(m), 0),
      });

      const whole = result(recent, "none");
      if (whole.tokens <= maxTokens) return whole;

      const window = fitToBudget(recent.slice(-recentMessageCount), fixedTokens, maxTokens);
      const dropped = recent.slice(0, recent.length - window.length);
      if (compressionStrategy === "smart" && dropped.length >= summarizeThreshold) {
        try {
          const summary: ChatMessage = {
            role: "system",
            content: `Summary of the earlier conversation: ${await summarize(dropped.map(plain))}`,
          };
          const kept = fitToBudget(window, fixedTokens + countMessageTokens([summary]), maxTokens);
          return result(kept, "smart", summary);
        } catch (error) {
          rootLogger().warn({ err: error }, "summarising the context failed, using the sliding window");
          return result(window, "smart_fallback");
        }
      }
      return result(window, dropped.length > 0 ? "sliding_window" : "none");
    },

    /**
     * Appends a finished turn (with the token counts stored with its messages). A missing context
     * is left missing: the next `build` rebuilds it from the messages table, which then holds this
     * turn (and a context cleared mid-answer stays clear); one of an older version is rebuilt then.
     */
    async record(sessionId: string, userText: string, assistantText: string, tokens?: { user: number; assistant: number }): Promise<void> {
      const cached = await read(sessionId);
      if (!cached) return;
      cached.messages.push({ role: "user", content: userText, tokens: tokens?.user }, { role: "assistant", content: assistantText, tokens: tokens?.assistant });
      await write(sessionId, cached.version, cached.messages);
    },

    async clear(sessionId: string): Promise<void> {
      await store.del(keys.context(sessionId));
    },
  };
}

export type ContextManager = ReturnType<typeof createContextManager>;

interface Stored {
  version: number | null;
  messages: HistoryMessage[];
}

/** The stored context, or null when the value is not what `write` stores (then it is rebuilt). */
function parseStored(raw: string): Stored | null {
  try {
    const value = JSON.parse(raw) as { version?: unknown; messages?: unknown };
    const messages = value?.messages;
    const valid =
      Array.isArray(messages) &&
      messages.every(
        (m: { role?: unknown; content?: unknown; tokens?: unknown } | null) =>
          (m?.role === "user" || m?.role === "assistant" || m?.role === "system") &&
          typeof m.content === "string" &&
          (m.tokens === undefined || Number.isInteger(m.tokens)),
      );
    const version = typeof value.version === "number" ? value.version : null;
    return valid ? { version, messages: messages as HistoryMessage[] } : null;
  } catch {
    return null;
  }
}

/** Drops a trailing question without an answer: it is the turn being answered, or one that failed. */
function completeRounds(messages: HistoryMessage[]): HistoryMessage[] {
  let end = messages.length;
  while (end > 0 && messages[end - 1]!.role === "user") end--;
  return messages.slice(0, end);
}

/** The last `maxRounds` rounds, a round being a user message and the answer that follows it. */
function lastRounds(messages: HistoryMessage[], maxRounds: number): HistoryMessage[] {
  let rounds = 0;
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i]!.role === "user" && ++rounds === maxRounds) return messages.slice(i);
  }
  return messages;
}

/** Drops the oldest messages until they fit in what `maxTokens` leaves after `fixedTokens`. */
function fitToBudget(messages: HistoryMessage[], fixedTokens: number, maxTokens: number): HistoryMessage[] {
  const sizes = messages.map(sizeOf);
  let total = fixedTokens + sizes.reduce((a, b) => a + b, 0);
  let start = 0;
  while (start < messages.length && total > maxTokens) total -= sizes[start++]!; // sizes has one entry per message
  return messages.slice(start);
}
