import { randomUUID } from "node:crypto";
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { messages, pairEmbeddings } from "../../db/schema";
import type { App } from "../boot/app";
import { authenticateKey, type Caller } from "../auth/accounts";
import type { Embedder } from "../knowledge/embed";
import { addFinishedTurn, createTestApp, createTestTenant } from "../testing/app";
import { appendToPath, deleteMessage, lockActiveLeaf } from "./messages";
import { indexQueuedPairs, pairText, requeueStalePairs, searchPairs, type PairSearchDeps } from "./pairSearch";

/**
 * Searching question/answer pairs: what the trigger queues, how the indexer embeds the queue
 * (batches, claims), and how keyword, vector and hybrid search rank and label pairs. The app's
 * own indexer is off here: each test drives it.
 */
let app: App;
let t: Awaited<ReturnType<typeof createTestTenant>>;
let caller: Caller;
let calls: string[][];
let failing: boolean;
let warnings: string[];
let deps: PairSearchDeps;

beforeAll(async () => {
  app = await createTestApp({}, { indexPairs: false });
  t = await createTestTenant(app);
  caller = (await authenticateKey(app.db, t.owner.apiKey))!;
  const real = app.knowledge.embedder;
  // The app's embedder, counting its calls, and failing on demand.
  const embedder: Embedder = {
    id: real.id,
    fullMatchCosine: real.fullMatchCosine,
    async embed(texts, signal) {
      if (failing) throw new Error("embedding server down");
      calls.push(texts);
      return real.embed(texts, signal);
    },
  };
  warnings = [];
  deps = { db: app.db, knowledge: { vectors: app.knowledge.vectors, embedder }, log: { warn: ((_fields: object, message: string) => void warnings.push(message)) as PairSearchDeps["log"]["warn"] } };
});
afterAll(() => app?.close());

const newSession = async () => (await t.owner.api.session.create({ title: `s-${randomUUID().slice(0, 6)}` })).id;
const queued = (sessionId: string) => app.db.select().from(pairEmbeddings).where(eq(pairEmbeddings.sessionId, sessionId));
/** Embeds everything queued, as the indexer does. */
async function indexAll() {
  calls = [];
  failing = false;
  while ((await indexQueuedPairs(deps)) > 0);
}

describe("the queue", () => {
  it("holds every answer once it has ended, however it ended, and no question", async () => {
    const s = await newSession();
    const { answerId } = await addFinishedTurn(app, s, "Stored ended", "An answer stored already completed");
    const requestId = randomUUID();
    const [, streaming] = await app.db.transaction(async (tx) =>
      appendToPath(tx, { id: s, tenantId: t.tenant.id, userId: t.owner.user.id }, await lockActiveLeaf(tx, s), [
        { requestId, role: "user", content: "Still streaming?", status: "completed" },
        { requestId, role: "assistant", content: "Half an ans", status: "streaming" },
      ]),
    );
    expect((await queued(s)).map((p) => p.answerId)).toEqual([answerId]);
    await app.db.update(messages).set({ status: "stopped" }).where(eq(messages.id, streaming!.id));
    const rows = await queued(s);
    expect(rows.map((p) => p.answerId).sort()).toEqual([answerId, streaming!.id].sort());
    expect(rows.every((p) => p.embeddingModel === null && p.tenantId === t.tenant.id && p.userId === t.owner.user.id)).toBe(true);
    // Another change of status (or anything else) queues nothing twice.
    await app.db.update(messages).set({ status: "failed" }).where(eq(messages.id, streaming!.id));
    expect(await queued(s)).toHaveLength(2);
    // Deleting the session takes its pairs with it.
    await t.owner.api.session.delete({ id: s });
    expect(await queued(s)).toEqual([]);
  });
});

describe("the indexer", () => {
  it("embeds the queue in batches, one embedder call per batch, question and answer together", async () => {
    await indexAll();
    const s = await newSession();
    for (let i = 0; i < 3; i++) await addFinishedTurn(app, s, `Question ${i}`, `Answer ${i}`);
    calls = [];
    expect(await indexQueuedPairs(deps, 2)).toBe(2);
    expect(await indexQueuedPairs(deps, 2)).toBe(1);
    expect(await indexQueuedPairs(deps, 2)).toBe(0);
    expect(calls.map((texts) => texts.length)).toEqual([2, 1]);
    expect(calls.flat().sort()).toEqual(["Question 0\n\nAnswer 0", "Question 1\n\nAnswer 1", "Question 2\n\nAnswer 2"]);
    const rows = await queued(s);
    expect(rows.every((p) => p.embeddingModel === app.knowledge.embedder.id && p.claimedUntil === null)).toBe(true);
  });

  it("finishes a pair with no text without calling the embedder", async () => {
    await indexAll();
    const s = await newSession();
    await addFinishedTurn(app, s, "", "");
    calls = [];
    expect(await indexQueuedPairs(deps)).toBe(1);
    expect(calls).toEqual([]);
    expect((await queued(s))[0]?.embeddingModel).toBe(app.knowledge.embedder.id);
  });

  it("leaves pairs it could not embed claimed until the claim lapses, then takes them again", async () => {
    await indexAll();
    const s = await newSession();
    await addFinishedTurn(app, s, "Claimed question", "Claimed answer");
    failing = true;
    await expect(indexQueuedPairs(deps)).rejects.toThrow("embedding server down");
    failing = false;
    expect(await indexQueuedPairs(deps)).toBe(0);
    // As if the claim's minute had passed.
    await app.db.update(pairEmbeddings).set({ claimedUntil: sql`now() - interval '1 second'` }).where(eq(pairEmbeddings.sessionId, s));
    expect(await indexQueuedPairs(deps)).toBe(1);
    expect((await queued(s))[0]?.embeddingModel).toBe(app.knowledge.embedder.id);
  });

  it("queues again what another embedder wrote", async () => {
    await indexAll();
    const s = await newSession();
    await addFinishedTurn(app, s, "Old embedder", "Its vector is from another model");
    await indexAll();
    await app.db.update(pairEmbeddings).set({ embeddingModel: "openai:old-model" }).where(eq(pairEmbeddings.sessionId, s));
    await requeueStalePairs(deps);
    expect((await queued(s))[0]?.embeddingModel).toBeNull();
    await indexAll();
    expect((await queued(s))[0]?.embeddingModel).toBe(app.knowledge.embedder.id);
  });

  it("cuts a long pair's text, keeping the question first", () => {
    expect(pairText("  Why?  ", " Because. ")).toBe("Why?\n\nBecause.");
    expect(pairText("", "Only an answer")).toBe("Only an answer");
    expect(pairText("Q".repeat(100), "A".repeat(10_000))).toHaveLength(6000);
  });
});

describe("searchPairs", () => {
  let nurse: string;
  let penguins: string;
  let router: string;
  let someoneElses: string;
  beforeAll(async () => {
    nurse = await newSession();
    penguins = await newSession();
    router = await newSession();
    await addFinishedTurn(app, nurse, "How much does a nurse earn?", "A nurse's salary depends on the hospital and on years of experience.");
    await addFinishedTurn(app, penguins, "Where do penguins nest?", "Penguins nest in large colonies on rocky shores and on the ice.");
    await addFinishedTurn(app, router, "How do I reset my router?", "Hold the reset button for ten seconds until the lights blink.");
    const member = await t.addUser("member");
    someoneElses = (await member.api.session.create({ title: "theirs" })).id;
    await addFinishedTurn(app, someoneElses, "Do penguins nest in winter?", "Emperor penguins nest in the middle of winter.");
    await indexAll();
  });
  const search = (query: string, mode: "keyword" | "vector" | "hybrid", options: { sessionIds?: string[]; limit?: number } = {}) =>
    searchPairs(deps, caller, { query, mode, limit: options.limit ?? 20, sessionIds: options.sessionIds });

  it("keyword: the pairs containing every word, labelled keyword", async () => {
    const { items, total } = await search("penguins", "keyword");
    expect(total).toBe(1);
    expect(items[0]).toMatchObject({ sessionId: penguins, question: "Where do penguins nest?", answer: expect.stringContaining("rocky shores"), matchedBy: "keyword" });
    expect(items[0]!.createdAt).toBeInstanceOf(Date);
  });

  it("vector: pairs alike in meaning though they share no word with the query, best first, unlike ones left out", async () => {
    const { items } = await search("wages of hospital staff", "vector");
    expect(items[0]).toMatchObject({ sessionId: nurse, matchedBy: "vector" });
    expect(items[0]!.score).toBeGreaterThan(0);
    expect(items[0]!.score).toBeLessThanOrEqual(1);
    expect(items.map((i) => i.sessionId)).not.toContain(router);
    expect((await search("wages of hospital staff", "keyword")).total).toBe(0);
  });

  it("hybrid: both channels fused by reciprocal rank; a pair found both ways is hybrid, one found by meaning only is vector", async () => {
    const both = await search("penguins nest", "hybrid");
    expect(both.items[0]).toMatchObject({ sessionId: penguins, matchedBy: "hybrid" });
    expect(both.items[0]!.score).toBeCloseTo(2 / 61);
    const meaning = await search("wages of hospital staff", "hybrid");
    expect(meaning.items[0]).toMatchObject({ sessionId: nurse, matchedBy: "vector" });
    expect(meaning.items[0]!.score).toBeCloseTo(1 / 61);
  });

  it("only the caller's own sessions, only those named when some are, at most limit of them with the total", async () => {
    for (const mode of ["keyword", "vector", "hybrid"] as const) {
      const { items } = await search("penguins nest", mode);
      expect(items.map((i) => i.sessionId), mode).not.toContain(someoneElses);
      expect((await search("penguins nest", mode, { sessionIds: [nurse] })).items.map((i) => i.sessionId), mode).not.toContain(penguins);
    }
    const all = await search("how", "hybrid");
    expect(all.total).toBeGreaterThan(1);
    const one = await search("how", "hybrid", { limit: 1 });
    expect(one).toMatchObject({ total: all.total, items: [{ requestId: all.items[0]!.requestId }] });
  });

  it("without the embedder: hybrid answers by keyword, vector is unavailable", async () => {
    failing = true;
    try {
      const { items } = await search("penguins nest", "hybrid");
      expect(items[0]).toMatchObject({ sessionId: penguins, matchedBy: "keyword" });
      expect(warnings).toEqual(["embedding the search query failed, searching pairs by keyword only"]);
      await expect(search("penguins nest", "vector")).rejects.toMatchObject({ kind: "unavailable" });
    } finally {
      failing = false;
    }
  });

  it("no longer finds a deleted pair", async () => {
    const s = await newSession();
    const { answerId } = await addFinishedTurn(app, s, "Which moth eats wool?", "The clothes moth's larvae eat wool.");
    await indexAll();
    expect((await search("clothes moth wool", "vector", { sessionIds: [s] })).total).toBe(1);
    await deleteMessage(app, caller, s, answerId);
    expect(await app.db.select().from(pairEmbeddings).where(eq(pairEmbeddings.answerId, answerId))).toEqual([]);
    expect((await search("clothes moth wool", "vector", { sessionIds: [s] })).total).toBe(0);
  });
});
