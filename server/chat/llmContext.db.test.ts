import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { messages } from "../../db/schema";
import type { App } from "../boot/app";
import { defaultContextConfig, defaultStrategy } from "../../common/settings";
import { countTokens } from "../platform/models/text";
import { createTestApp, createTestTenant, type TestCaller } from "../testing/app";
import { ask } from "../testing/answers";

/** The LLM context against Postgres: token counts stored with messages, and a clear that really forgets. */
let app: App;
let api: TestCaller;
beforeAll(async () => {
  app = await createTestApp();
  api = (await createTestTenant(app)).owner.api;
});
afterAll(() => app.close());

const build = (sessionId: string) =>
  app.llmContext.build(sessionId, { systemPrompt: "", question: "next?", strategy: defaultStrategy(), contextConfig: defaultContextConfig() });

describe("token counts", () => {
  it("each message's token count is stored with it when it is written", async () => {
    const s = await api.session.create({ title: "tokens" });
    const turn = await ask(api, s.id, "How do I scale Parley out to several instances?");
    const rows = await app.db.select().from(messages).where(eq(messages.requestId, turn.requestId));
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      expect(row.content).not.toBe("");
      expect(row.tokenCount).toBe(countTokens(row.content));
    }
  });

  it("the context counts history from the stored counts, not by tokenizing it again", async () => {
    const s = await api.session.create({ title: "counted once" });
    const turn = await ask(api, s.id, "What is the LLM context?");
    // A stored count no tokenizer would give this text: only the stored count can produce it.
    await app.db.update(messages).set({ tokenCount: 50_000 }).where(eq(messages.id, turn.assistantMessage.id));
    await app.llmContext.clear(s.id);
    const rebuilt = await build(s.id);
    expect(rebuilt.tokens).toBeGreaterThan(50_000);
    // Cached with its counts: the next turn reads them from the store as they are.
    expect((await build(s.id)).tokens).toBe(rebuilt.tokens);
  });
});

describe("clearing forgets the LLM context", () => {
  it("even when the store's part of the clear fails, no cached context from before the clear is used", async () => {
    const s = await api.session.create({ title: "forget me" });
    await ask(api, s.id, "My secret codename is Bluebird. What is Parley?");
    expect(JSON.stringify((await build(s.id)).messages)).toContain("Bluebird");
    const down = new Error("redis is down");
    const spies = [vi.spyOn(app.store, "del").mockRejectedValue(down), vi.spyOn(app.store, "delInSlot").mockRejectedValue(down)];
    try {
      expect(await api.session.clearMessages({ id: s.id })).toEqual({ deleted: 2 });
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    // The context key is still there…
    expect(await app.store.get(app.keys.context(s.id))).toContain("Bluebird");
    // …but it is not served.
    expect(JSON.stringify((await build(s.id)).messages)).not.toContain("Bluebird");
  });
});
