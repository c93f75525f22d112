import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createContextManager, type BuildOptions } from "./llmContext";
import { defaultContextConfig, type ContextConfig } from "../../common/settings";
import { countMessageTokens } from "../platform/models/text";
import type { ChatMessage } from "../platform/models/types";
import { createKeys } from "../platform/store/keys";
import { createMemoryStore } from "../platform/store/memory";
import type { Store } from "../platform/store/types";
import { rootLogger } from "../platform/log";

const TTL_SECONDS = 86_400;
const keys = createKeys("parley:");
const SESSION = "3f1e2d4c-0000-4000-8000-000000000001";
const SYSTEM = "You answer questions about Parley from the sources given.";
const QUESTION = "And how long are stream events kept?";

/** `n` rounds of a user question and its answer, each a few dozen tokens long. */
function rounds(n: number): ChatMessage[] {
  return Array.from({ length: n }, (_, i) => [
    { role: "user" as const, content: `Question ${i + 1}: how does feature number ${i + 1} of Parley behave when instances restart?` },
    { role: "assistant" as const, content: `Answer ${i + 1}: feature ${i + 1} keeps its state in Redis and Postgres, so a restart loses nothing at all.` },
  ]).flat();
}

let store: Store;
let history: ChatMessage[];
const loadHistory = vi.fn(async (_sessionId: string) => structuredClone(history));
const summarize = vi.fn(async (messages: ChatMessage[]) => `${messages.length} earlier messages about Parley features.`);

beforeEach(() => {
  store = createMemoryStore();
  history = rounds(5);
  loadHistory.mockClear();
  summarize.mockClear();
});
afterEach(() => store.close());

const manager = () => createContextManager({ store, keys, ttlSeconds: TTL_SECONDS, loadHistory, summarize });

function options(contextConfig: Partial<ContextConfig> = {}, maxRounds = 100): BuildOptions {
  return { systemPrompt: SYSTEM, question: QUESTION, strategy: { maxRounds }, contextConfig: { ...defaultContextConfig(), ...contextConfig } };
}

const system: ChatMessage = { role: "system", content: SYSTEM };
const question: ChatMessage = { role: "user", content: QUESTION };
/** Tokens of the whole, uncompressed context over `history`. */
const wholeTokens = () => countMessageTokens([system, ...history, question]);

describe("context manager", () => {
  it("rebuilds a missing context from the messages once, then reads it from the store in one GET", async () => {
    const get = vi.spyOn(store, "get");
    const context = manager();

    const first = await context.build(SESSION, options());
    expect(loadHistory).toHaveBeenCalledTimes(1);
    expect(loadHistory).toHaveBeenCalledWith(SESSION);
    expect(first).toEqual({ messages: [system, ...history, question], compressed: "none", tokens: wholeTokens() });
    expect(await store.get(keys.context(SESSION))).not.toBeNull();

    get.mockClear();
    const second = await context.build(SESSION, options());
    expect(loadHistory).toHaveBeenCalledTimes(1);
    expect(get).toHaveBeenCalledTimes(1);
    expect(get).toHaveBeenCalledWith(`parley:context:{${SESSION}}`);
    expect(second).toEqual(first);
  });

  it("stores the rebuilt context with the TTL", async () => {
    const set = vi.spyOn(store, "set");
    await manager().build(SESSION, options());
    expect(set).toHaveBeenCalledTimes(1);
    expect(set).toHaveBeenCalledWith(keys.context(SESSION), expect.any(String), TTL_SECONDS);
    const pttl = await store.pttl(keys.context(SESSION));
    expect(pttl).toBeGreaterThan((TTL_SECONDS - 5) * 1000);
    expect(pttl).toBeLessThanOrEqual(TTL_SECONDS * 1000);
  });

  it("leaves out a trailing question without an answer when rebuilding", async () => {
    const answered = history.slice();
    history.push({ role: "user", content: "The question being answered right now" });
    const { messages } = await manager().build(SESSION, options());
    expect(messages).toEqual([system, ...answered, question]);
  });

  it("rebuilds when the stored value is not a context", async () => {
    await store.set(keys.context(SESSION), "{not json", 60);
    const { messages } = await manager().build(SESSION, options());
    expect(loadHistory).toHaveBeenCalledTimes(1);
    expect(messages).toEqual([system, ...history, question]);
  });

  it("keeps only the last maxRounds rounds", async () => {
    history = rounds(8);
    const { messages, compressed } = await manager().build(SESSION, options({}, 3));
    expect(messages).toEqual([system, ...history.slice(-6), question]);
    expect(messages[1]!.content).toMatch(/^Question 6:/);
    expect(compressed).toBe("none");
  });

  describe("sliding_window", () => {
    it("does nothing at exactly maxTokens and compresses one token over it", async () => {
      const context = manager();
      const exact = await context.build(SESSION, options({ maxTokens: wholeTokens() }));
      expect(exact).toEqual({ messages: [system, ...history, question], compressed: "none", tokens: wholeTokens() });

      const over = await context.build(SESSION, options({ maxTokens: wholeTokens() - 1 }));
      expect(over.compressed).toBe("sliding_window");
      // Dropping the oldest message is enough.
      expect(over.messages).toEqual([system, ...history.slice(1), question]);
      expect(over.tokens).toBeLessThanOrEqual(wholeTokens() - 1);
      expect(over.tokens).toBe(countMessageTokens(over.messages));
    });

    it("keeps the system prompt and the last recentMessageCount messages", async () => {
      const { messages, compressed } = await manager().build(SESSION, options({ maxTokens: wholeTokens() - 1, recentMessageCount: 4 }));
      expect(compressed).toBe("sliding_window");
      expect(messages).toEqual([system, ...history.slice(-4), question]);
    });

    it("drops more of the oldest while still over budget, but never the question", async () => {
      const budget = countMessageTokens([system, ...history.slice(-3), question]);
      const tight = await manager().build(SESSION, options({ maxTokens: budget, recentMessageCount: 6 }));
      expect(tight.messages).toEqual([system, ...history.slice(-3), question]);

      const tiny = await manager().build(SESSION, options({ maxTokens: 10 }));
      expect(tiny.messages).toEqual([system, question]);
      expect(tiny.compressed).toBe("sliding_window");
    });
  });

  describe("smart", () => {
    it("summarises the dropped messages into one system message when at least summarizeThreshold would be dropped", async () => {
      const config = { maxTokens: wholeTokens() - 1, compressionStrategy: "smart" as const, recentMessageCount: 4, summarizeThreshold: 6 };
      const { messages, compressed } = await manager().build(SESSION, options(config));

      expect(compressed).toBe("smart");
      expect(summarize).toHaveBeenCalledTimes(1);
      expect(summarize).toHaveBeenCalledWith(history.slice(0, 6));
      expect(messages).toEqual([
        system,
        { role: "system", content: "Summary of the earlier conversation: 6 earlier messages about Parley features." },
        ...history.slice(-4),
        question,
      ]);
    });

    it("uses the sliding window when fewer than summarizeThreshold would be dropped", async () => {
      const config = { maxTokens: wholeTokens() - 1, compressionStrategy: "smart" as const, recentMessageCount: 4, summarizeThreshold: 7 };
      const { messages, compressed } = await manager().build(SESSION, options(config));
      expect(summarize).not.toHaveBeenCalled();
      expect(compressed).toBe("sliding_window");
      expect(messages).toEqual([system, ...history.slice(-4), question]);
    });

    it("does not summarise when the context fits", async () => {
      const { compressed } = await manager().build(SESSION, options({ compressionStrategy: "smart", summarizeThreshold: 1 }));
      expect(compressed).toBe("none");
      expect(summarize).not.toHaveBeenCalled();
    });

    it("falls back to the sliding window when summarising fails", async () => {
      summarize.mockRejectedValueOnce(new Error("summary model unreachable"));
      const warn = vi.spyOn(rootLogger(), "warn").mockImplementation(() => {});
      const config = { maxTokens: wholeTokens() - 1, compressionStrategy: "smart" as const, recentMessageCount: 4, summarizeThreshold: 2 };
      const { messages, compressed } = await manager().build(SESSION, options(config));

      expect(compressed).toBe("smart_fallback");
      expect(messages).toEqual([system, ...history.slice(-4), question]);
      expect(warn).toHaveBeenCalledWith(
        { err: expect.objectContaining({ message: "summary model unreachable" }) },
        expect.stringContaining("summarising the context failed"),
      );
      warn.mockRestore();
    });
  });

  describe("record and clear", () => {
    it("appends a turn in one write with the TTL, and the next build includes it", async () => {
      const context = manager();
      await context.build(SESSION, options());
      const set = vi.spyOn(store, "set");

      await context.record(SESSION, QUESTION, "Stream events are kept for one hour.");
      expect(set).toHaveBeenCalledTimes(1);
      expect(set).toHaveBeenCalledWith(keys.context(SESSION), expect.any(String), TTL_SECONDS);

      const next = { ...options(), question: "Thanks, and context?" };
      const { messages } = await context.build(SESSION, next);
      expect(messages.slice(-3)).toEqual([
        question,
        { role: "assistant", content: "Stream events are kept for one hour." },
        { role: "user", content: "Thanks, and context?" },
      ]);
      expect(loadHistory).toHaveBeenCalledTimes(1);
    });

    it("writes nothing when there is no stored context: the next build rebuilds it", async () => {
      const set = vi.spyOn(store, "set");
      await manager().record(SESSION, "a question", "an answer");
      expect(set).not.toHaveBeenCalled();
      expect(await store.get(keys.context(SESSION))).toBeNull();
    });

    it("caps the stored history at 200 messages", async () => {
      const context = manager();
      await context.build(SESSION, options());
      for (let i = 0; i < 110; i++) await context.record(SESSION, `q${i}`, `a${i}`);
      const stored = JSON.parse((await store.get(keys.context(SESSION)))!) as { messages: ChatMessage[] };
      expect(stored.messages).toHaveLength(200);
      expect(stored.messages.at(-1)).toEqual({ role: "assistant", content: "a109" });
    });

    it("clear deletes the context, so the next build rebuilds it from the messages", async () => {
      const context = manager();
      await context.build(SESSION, options());
      await context.clear(SESSION);
      expect(await store.get(keys.context(SESSION))).toBeNull();

      await context.build(SESSION, options());
      expect(loadHistory).toHaveBeenCalledTimes(2);
    });
  });
});
