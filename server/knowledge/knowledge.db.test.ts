import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { count, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { knowledgeChunks, sessions } from "../../db/schema";
import type { App } from "../boot/app";
import { authenticateKey } from "../auth/accounts";
import type { StreamEvent } from "../chat/events";
import { checkHealth } from "../http/health";
import { codeOf, createTestApp, createTestTenant, defaultTenantUser, fieldErrorsOf, type TestCaller } from "../testing/app";
import { ask, referencesOf, textOf } from "../testing/answers";
import { ensureHandbookBase, HANDBOOK_BASE_NAME } from "./handbookBase";
import { defaultStrategy } from "../../common/settings";
import { addTextDocument, MAX_DOCUMENT_BYTES } from "./ingest";
import { reembedStaleChunks } from "./knowledgeIndex";
import { searchChunks } from "./retrieve";
import { knowledgeDeps } from "./sessionKnowledge";

let app: App;
let t: Awaited<ReturnType<typeof createTestTenant>>;
let alice: TestCaller;
let aliceKey: string;
let bob: TestCaller;
let admin: TestCaller;
let stranger: TestCaller;
const handbook = readFileSync("docs/handbook.md", "utf8");

beforeAll(async () => {
  app = await createTestApp();
  t = await createTestTenant(app);
  ({ api: alice, apiKey: aliceKey } = await t.addUser("member"));
  bob = (await t.addUser("member")).api;
  admin = (await t.addUser("admin")).api;
  // The owner of another tenant: the most powerful caller that must still see nothing here.
  stranger = (await createTestTenant(app)).owner.api;
});
afterAll(() => app.close());

async function baseWithHandbook(api: TestCaller, name = "Handbook") {
  const base = await api.knowledge.bases.create({ name });
  const document = await api.knowledge.documents.add({ knowledgeBaseId: base.id, title: "Parley handbook", content: handbook, mimeType: "text/markdown" });
  return { base, document };
}

const chunksOfBase = async (baseId: string) =>
  Number((await app.db.select({ n: count() }).from(knowledgeChunks).where(eq(knowledgeChunks.knowledgeBaseId, baseId)))[0]!.n);

/** The next double above x: the smallest threshold a score of x falls under. */
function nextUp(x: number): number {
  const bits = new BigInt64Array(new Float64Array([x]).buffer);
  bits[0]! += 1n;
  return new Float64Array(bits.buffer)[0]!;
}

describe("knowledge.bases", () => {
  it("any member creates bases and lists them with their counts; names 1..100, descriptions ≤ 2000", async () => {
    const base = await alice.knowledge.bases.create({ name: "n".repeat(100), description: "d".repeat(2000) });
    expect(base).toMatchObject({ name: "n".repeat(100), documentCount: 0, chunkCount: 0, canManage: true });
    expect(base.createdAt).toBeInstanceOf(Date);
    expect(await fieldErrorsOf(alice.knowledge.bases.create({ name: "" }))).toEqual(["name"]);
    expect(await fieldErrorsOf(alice.knowledge.bases.create({ name: "   " }))).toEqual(["name"]);
    expect(await fieldErrorsOf(alice.knowledge.bases.create({ name: "n".repeat(101) }))).toEqual(["name"]);
    expect(await fieldErrorsOf(alice.knowledge.bases.create({ name: "ok", description: "d".repeat(2001) }))).toEqual(["description"]);
    const { items } = await bob.knowledge.bases.list();
    expect(items.find((b) => b.id === base.id)).toMatchObject({ canManage: false, documentCount: 0 });
  });

  it("renaming or deleting a base takes its creator or an admin", async () => {
    const base = await alice.knowledge.bases.create({ name: "Alice's" });
    expect(await codeOf(bob.knowledge.bases.update({ id: base.id, name: "Bob's now" }))).toBe("FORBIDDEN");
    expect(await codeOf(bob.knowledge.bases.delete({ id: base.id }))).toBe("FORBIDDEN");
    expect(await alice.knowledge.bases.update({ id: base.id, description: "Notes" })).toMatchObject({ name: "Alice's", description: "Notes" });
    expect(await admin.knowledge.bases.update({ id: base.id, name: "Renamed" })).toMatchObject({ name: "Renamed", description: "Notes" });
    expect(await fieldErrorsOf(alice.knowledge.bases.update({ id: base.id, name: "" }))).toEqual(["name"]);
    expect(await admin.knowledge.bases.delete({ id: base.id })).toEqual({ id: base.id });
    expect(await codeOf(alice.knowledge.bases.delete({ id: base.id }))).toBe("NOT_FOUND");
    const own = await bob.knowledge.bases.create({ name: "Bob's" });
    expect(await bob.knowledge.bases.delete({ id: own.id })).toEqual({ id: own.id });
  });
});

describe("knowledge.documents", () => {
  it("adds text, Markdown and HTML documents, ready and chunked, and counts them on the base", async () => {
    const base = await alice.knowledge.bases.create({ name: "Formats" });
    const md = await bob.knowledge.documents.add({ knowledgeBaseId: base.id, title: "Guide", content: "# Guide\n\n## Install\n\nRun the installer.", mimeType: "text/markdown" });
    expect(md).toMatchObject({ knowledgeBaseId: base.id, title: "Guide", status: "ready", chunkCount: 1, mimeType: "text/markdown" });
    await alice.knowledge.documents.add({ knowledgeBaseId: base.id, title: "Page", content: "<h1>Page</h1><p>Hello.</p><h2>More</h2><p>World.</p>", mimeType: "text/html" });
    await alice.knowledge.documents.add({ knowledgeBaseId: base.id, title: "Notes", content: "One.\n\nTwo.", mimeType: "text/plain" });
    const { items } = await bob.knowledge.documents.list({ knowledgeBaseId: base.id });
    expect(items.map((d) => d.title)).toEqual(["Notes", "Page", "Guide"]);
    expect(await alice.knowledge.bases.list().then((l) => l.items.find((b) => b.id === base.id))).toMatchObject({ documentCount: 3, chunkCount: 1 + 2 + 1 });
    const { heading } = (await app.db.select({ heading: knowledgeChunks.heading }).from(knowledgeChunks).where(eq(knowledgeChunks.documentId, md.id)))[0]!;
    expect(heading).toBe("Install");
  });

  it("validates input, naming the field", async () => {
    const base = await alice.knowledge.bases.create({ name: "Validation" });
    const ok = { knowledgeBaseId: base.id, title: "T", content: "Text.", mimeType: "text/plain" as const };
    expect(await fieldErrorsOf(alice.knowledge.documents.add({ ...ok, mimeType: "application/pdf" } as never))).toEqual(["mimeType"]);
    expect(await fieldErrorsOf(alice.knowledge.documents.add({ ...ok, title: " " }))).toEqual(["title"]);
    expect(await fieldErrorsOf(alice.knowledge.documents.add({ ...ok, title: "t".repeat(256) }))).toEqual(["title"]);
    expect(await fieldErrorsOf(alice.knowledge.documents.add({ ...ok, content: "" }))).toEqual(["content"]);
    expect(await fieldErrorsOf(alice.knowledge.documents.add({ ...ok, content: " \n\n " }))).toEqual(["content"]);
    expect(await fieldErrorsOf(alice.knowledge.documents.add({ ...ok, knowledgeBaseId: "kb" }))).toEqual(["knowledgeBaseId"]);
    expect(await codeOf(alice.knowledge.documents.add({ ...ok, knowledgeBaseId: randomUUID() }))).toBe("NOT_FOUND");
    expect((await alice.knowledge.documents.list({ knowledgeBaseId: base.id })).items).toEqual([]);
  });

  it("accepts exactly 5 MB of UTF-8 and refuses one byte more, counting bytes, not characters", async () => {
    const base = await alice.knowledge.bases.create({ name: "Edge" });
    const head = "The edge of the size limit.";
    const exact = head + " ".repeat(MAX_DOCUMENT_BYTES - Buffer.byteLength(head));
    expect(Buffer.byteLength(exact)).toBe(5 * 1024 * 1024);
    expect(await alice.knowledge.documents.add({ knowledgeBaseId: base.id, title: "Exact", content: exact, mimeType: "text/plain" })).toMatchObject({
      sizeBytes: 5 * 1024 * 1024,
      chunkCount: 1,
    });
    const overByOneByte = head + " ".repeat(MAX_DOCUMENT_BYTES - Buffer.byteLength(head) - 1) + "é";
    expect(overByOneByte.length).toBe(MAX_DOCUMENT_BYTES);
    expect(await fieldErrorsOf(alice.knowledge.documents.add({ knowledgeBaseId: base.id, title: "Over", content: overByOneByte, mimeType: "text/plain" }))).toEqual([
      "content",
    ]);
  });

  it("deleting a document removes its chunks and vectors; who may delete it", async () => {
    const { base, document } = await baseWithHandbook(alice, "Deletions");
    const bobs = await bob.knowledge.documents.add({ knowledgeBaseId: base.id, title: "Bob's", content: "Bob wrote this.", mimeType: "text/plain" });
    const before = await chunksOfBase(base.id);
    expect(before).toBe(document.chunkCount + 1);
    expect(await codeOf(bob.knowledge.documents.delete({ id: document.id }))).toBe("FORBIDDEN");
    expect(await bob.knowledge.documents.delete({ id: bobs.id })).toEqual({ id: bobs.id });
    expect(await alice.knowledge.documents.delete({ id: document.id })).toEqual({ id: document.id });
    expect(await chunksOfBase(base.id)).toBe(0);
    expect(await codeOf(alice.knowledge.documents.delete({ id: document.id }))).toBe("NOT_FOUND");
    // The base's creator and admins may delete anyone's document.
    const again = await bob.knowledge.documents.add({ knowledgeBaseId: base.id, title: "Again", content: "Text.", mimeType: "text/plain" });
    expect(await alice.knowledge.documents.delete({ id: again.id })).toEqual({ id: again.id });
  });

  it("deleting a base removes its documents, chunks and vectors with it", async () => {
    const { base } = await baseWithHandbook(alice, "Whole base");
    expect(await chunksOfBase(base.id)).toBeGreaterThan(5);
    await alice.knowledge.bases.delete({ id: base.id });
    expect(await chunksOfBase(base.id)).toBe(0);
    expect(await codeOf(alice.knowledge.documents.list({ knowledgeBaseId: base.id }))).toBe("NOT_FOUND");
  });
});

describe("changing the embedder", () => {
  it("vector search skips vectors another embedder wrote, and re-embedding brings them back", async () => {
    const base = await alice.knowledge.bases.create({ name: "Re-embed" });
    // Indexed as if an earlier PARLEY_EMBEDDING_MODEL had been set.
    const olderDeps = { ...knowledgeDeps(app), embedder: { ...app.knowledge.embedder, id: "test:an-older-embedder" } };
    const caller = (await authenticateKey(app.db, aliceKey))!;
    await addTextDocument(olderDeps, caller, { knowledgeBaseId: base.id, title: "Parley handbook", content: handbook, mimeType: "text/markdown" });
    const search = () => searchChunks(knowledgeDeps(app), { baseIds: [base.id], query: "How do I scale Parley out?", settings: { ...defaultStrategy(), vectorThreshold: 0 } });
    const before = await search();
    expect(before.vectorHits).toEqual([]);
    expect(before.keywordHits.every((h) => h.vector === null)).toBe(true);
    await reembedStaleChunks(app.db, app.knowledge);
    const models = await app.db.selectDistinct({ model: knowledgeChunks.embeddingModel }).from(knowledgeChunks).where(eq(knowledgeChunks.knowledgeBaseId, base.id));
    expect(models).toEqual([{ model: app.knowledge.embedder.id }]);
    expect((await search()).vectorHits.length).toBeGreaterThan(0);
  });
});

describe("tenant isolation", () => {
  it("every knowledge.* procedure treats another tenant's base and documents as absent", async () => {
    const { base, document } = await baseWithHandbook(alice, "Private");
    expect((await stranger.knowledge.bases.list()).items.map((b) => b.id)).not.toContain(base.id);
    expect(await codeOf(stranger.knowledge.bases.update({ id: base.id, name: "Mine" }))).toBe("NOT_FOUND");
    expect(await codeOf(stranger.knowledge.bases.delete({ id: base.id }))).toBe("NOT_FOUND");
    expect(await codeOf(stranger.knowledge.documents.list({ knowledgeBaseId: base.id }))).toBe("NOT_FOUND");
    expect(await codeOf(stranger.knowledge.documents.add({ knowledgeBaseId: base.id, title: "x", content: "x", mimeType: "text/plain" }))).toBe("NOT_FOUND");
    expect(await codeOf(stranger.knowledge.documents.delete({ id: document.id }))).toBe("NOT_FOUND");
    expect(await codeOf(stranger.knowledge.search({ knowledgeBaseIds: [base.id], query: "scale out" }))).toBe("NOT_FOUND");
    const strangers = await stranger.knowledge.bases.create({ name: "Theirs" });
    expect(await codeOf(stranger.knowledge.search({ knowledgeBaseIds: [strangers.id, base.id], query: "scale out" }))).toBe("NOT_FOUND");
    expect((await alice.knowledge.documents.list({ knowledgeBaseId: base.id })).items).toHaveLength(1);
    expect(await codeOf(alice.knowledge.search({ knowledgeBaseIds: [strangers.id], query: "anything" }))).toBe("NOT_FOUND");
  });

  it("a session cannot be pointed at another tenant's base", async () => {
    const foreign = await stranger.knowledge.bases.create({ name: "Foreign" });
    const own = await alice.knowledge.bases.create({ name: "Own" });
    expect(await fieldErrorsOf(alice.session.create({ knowledgeBaseId: foreign.id }))).toEqual(["knowledgeBaseId"]);
    expect(await fieldErrorsOf(alice.session.create({ knowledgeBaseId: "not-a-base" }))).toEqual(["knowledgeBaseId"]);
    expect(await fieldErrorsOf(alice.session.create({ agentConfig: { knowledgeBases: [own.id, foreign.id] } }))).toEqual(["agentConfig"]);
    const s = await alice.session.create({ knowledgeBaseId: own.id, agentConfig: { knowledgeBases: [own.id] } });
    expect(s.knowledgeBaseId).toBe(own.id);
    expect(await fieldErrorsOf(alice.session.update({ id: s.id, knowledgeBaseId: foreign.id }))).toEqual(["knowledgeBaseId"]);
    expect((await alice.session.get({ id: s.id })).knowledgeBaseId).toBe(own.id);
    expect((await alice.session.update({ id: s.id, knowledgeBaseId: null })).knowledgeBaseId).toBeNull();
  });

  it("retrieval never reads another tenant's chunks, even when a session's row names its base", async () => {
    const foreign = await stranger.knowledge.bases.create({ name: "Secrets" });
    await stranger.knowledge.documents.add({ knowledgeBaseId: foreign.id, title: "Secret", content: "The zanzibar protocol needs seventeen quokkas.", mimeType: "text/plain" });
    expect((await stranger.knowledge.search({ knowledgeBaseIds: [foreign.id], query: "zanzibar quokkas" })).items).toHaveLength(1);
    const s = await alice.session.create();
    await app.db
      .update(sessions)
      .set({ knowledgeBaseId: foreign.id, agentConfig: { agentModeEnabled: false, webSearchEnabled: false, knowledgeBases: [foreign.id], knowledgeIds: [] } })
      .where(eq(sessions.id, s.id));
    const { events } = await ask(alice, s.id, "What does the zanzibar protocol need?");
    expect(events.map((e) => e.type)).not.toContain("references");
    expect(textOf(events)).not.toContain("quokkas");
    expect(events.at(-1)!.type).toBe("complete");
  });
});

describe("knowledge.search", () => {
  it("says how each item matched and gives its scores", async () => {
    const { base } = await baseWithHandbook(alice, "Search");
    const { items } = await bob.knowledge.search({ knowledgeBaseIds: [base.id], query: "How do I scale Parley out?" });
    expect(items.length).toBeGreaterThan(0);
    expect(items.length).toBeLessThanOrEqual(5);
    expect(items[0]).toMatchObject({ title: "Scaling out", source: "Parley handbook", knowledgeBaseId: base.id });
    for (const item of items) {
      expect(["keyword", "vector", "both"]).toContain(item.matchedBy);
      expect(item.score).toBe(item.scores.rerank);
      for (const score of [item.scores.keyword, item.scores.vector!, item.scores.rerank]) {
        expect(score).toBeGreaterThanOrEqual(0);
        expect(score).toBeLessThanOrEqual(1);
      }
    }
    expect(items.map((i) => i.score)).toEqual(items.map((i) => i.score).sort((a, b) => b - a));
    expect(await fieldErrorsOf(bob.knowledge.search({ knowledgeBaseIds: [], query: "x" }))).toEqual(["knowledgeBaseIds"]);
    expect(await fieldErrorsOf(bob.knowledge.search({ knowledgeBaseIds: [base.id], query: " " }))).toEqual(["query"]);
    expect((await bob.knowledge.search({ knowledgeBaseIds: [base.id], query: "weather in Paris tomorrow" })).items).toEqual([]);
  });

  it("applies the session's thresholds and top-k, keeping a score equal to a threshold and dropping one under it", async () => {
    const { base } = await baseWithHandbook(alice, "Thresholds");
    const query = "How long are answer events kept in the stream?";
    const search = async (strategy: Record<string, number>) => {
      const s = await alice.session.create({ knowledgeBaseId: base.id, strategy });
      return (await alice.knowledge.search({ knowledgeBaseIds: [base.id], query, sessionId: s.id })).items;
    };
    // Everything through, to pick hits whose scores are strictly between 0 and 1.
    const open = await search({ keywordThreshold: 0, vectorThreshold: 0, rerankThreshold: 0, rerankTopK: 20, embeddingTopK: 20 });
    const keywordHit = open.find((i) => i.matchedBy !== "vector" && i.scores.keyword > 0 && i.scores.keyword < 1)!;
    expect(keywordHit).toBeDefined();
    // Which chunks pass the keyword threshold: those matched by keyword (alone or with vector).
    const keywordIds = async (keywordThreshold: number) =>
      (await search({ keywordThreshold, vectorThreshold: 1, rerankThreshold: 0, rerankTopK: 20, embeddingTopK: 20 }))
        .filter((i) => i.matchedBy !== "vector")
        .map((i) => i.id);
    expect(await keywordIds(keywordHit.scores.keyword)).toContain(keywordHit.id);
    expect(await keywordIds(nextUp(keywordHit.scores.keyword))).not.toContain(keywordHit.id);

    const vectorHit = open.find((i) => i.scores.vector !== null && i.scores.vector > 0 && i.scores.vector < 1)!;
    const vectorIds = async (vectorThreshold: number) =>
      (await search({ keywordThreshold: 1, vectorThreshold, rerankThreshold: 0, rerankTopK: 20, embeddingTopK: 20 }))
        .filter((i) => i.matchedBy !== "keyword")
        .map((i) => i.id);
    expect(await vectorIds(vectorHit.scores.vector!)).toContain(vectorHit.id);
    expect(await vectorIds(nextUp(vectorHit.scores.vector!))).not.toContain(vectorHit.id);

    const ranked = open[2];
    const rerankIds = async (rerankThreshold: number) =>
      (await search({ keywordThreshold: 0, vectorThreshold: 0, rerankThreshold, rerankTopK: 20, embeddingTopK: 20 })).map((i) => i.id);
    expect(await rerankIds(ranked!.score)).toContain(ranked!.id);
    expect(await rerankIds(nextUp(ranked!.score))).not.toContain(ranked!.id);

    expect(await search({ keywordThreshold: 0, vectorThreshold: 0, rerankThreshold: 0, rerankTopK: 2 })).toHaveLength(2);
    // embeddingTopK 1: at most one keyword and one vector hit reach the fusion.
    expect((await search({ keywordThreshold: 0, vectorThreshold: 0, rerankThreshold: 0, rerankTopK: 20, embeddingTopK: 1 })).length).toBeLessThanOrEqual(2);
  });
});

describe("answers from knowledge", () => {
  it("a newcomer in tenant default asks with no set-up and gets a cited answer from the Parley handbook", async () => {
    const newcomer = await defaultTenantUser(app, "member");
    const handbookBase = (await newcomer.knowledge.bases.list()).items.find((b) => b.name === HANDBOOK_BASE_NAME)!;
    expect(handbookBase).toMatchObject({ documentCount: 3, canManage: false, createdBy: null });
    const s = await newcomer.session.create();
    expect(s.knowledgeBaseId).toBe(handbookBase.id);
    expect((await newcomer.session.create({ knowledgeBaseId: null })).knowledgeBaseId).toBeNull();

    const { events } = await ask(newcomer, s.id, "How do I scale Parley out?");
    const types = events.map((e) => e.type);
    expect(types.indexOf("references")).toBeGreaterThan(-1);
    expect(types.indexOf("references")).toBeLessThan(types.indexOf("answer"));
    const references = referencesOf(events);
    expect(references[0]).toMatchObject({ title: "Scaling out" });
    expect(["Parley handbook", "Parley README"]).toContain(references[0]!.source);
    expect(references[0]!.matchedBy).toBeDefined();
    expect(textOf(events)).toMatch(/several instances behind a load balancer[^\n]* \[\d\]\./);
    expect(events.at(-1)!.type).toBe("complete");
  });

  it("the handbook base is Parley's: nobody edits it by hand, and start-up refreshes it idempotently", async () => {
    const tenantAdmin = await defaultTenantUser(app, "admin");
    const handbookBase = (await tenantAdmin.knowledge.bases.list()).items.find((b) => b.name === HANDBOOK_BASE_NAME)!;
    expect(await codeOf(tenantAdmin.knowledge.bases.delete({ id: handbookBase.id }))).toBe("FORBIDDEN");
    expect(await codeOf(tenantAdmin.knowledge.bases.update({ id: handbookBase.id, name: "Mine" }))).toBe("FORBIDDEN");
    expect(await codeOf(tenantAdmin.knowledge.documents.add({ knowledgeBaseId: handbookBase.id, title: "x", content: "x", mimeType: "text/plain" }))).toBe(
      "FORBIDDEN",
    );
    const [doc] = (await tenantAdmin.knowledge.documents.list({ knowledgeBaseId: handbookBase.id })).items;
    expect(await codeOf(tenantAdmin.knowledge.documents.delete({ id: doc!.id }))).toBe("FORBIDDEN");
    const chunks = await chunksOfBase(handbookBase.id);
    const ids = await Promise.all([ensureHandbookBase(knowledgeDeps(app)), ensureHandbookBase(knowledgeDeps(app))]);
    expect(ids).toEqual([handbookBase.id, handbookBase.id]);
    expect(await chunksOfBase(handbookBase.id)).toBe(chunks);
    expect((await tenantAdmin.knowledge.documents.list({ knowledgeBaseId: handbookBase.id })).items.map((d) => d.id)).toContain(doc!.id);
  });

  it("with nothing retrieved, fallbackStrategy fixed answers fallbackResponse verbatim", async () => {
    const { base } = await baseWithHandbook(alice, "Fallback fixed");
    const fallbackResponse = "I only know about Parley, sorry.";
    for (const knowledgeBaseId of [null, base.id]) {
      const s = await alice.session.create({ knowledgeBaseId, strategy: { fallbackStrategy: "fixed", fallbackResponse } });
      const { events } = await ask(alice, s.id, "What is the weather in Paris tomorrow?");
      expect(events.map((e) => e.type)).not.toContain("references");
      expect(textOf(events)).toBe(fallbackResponse);
      expect(events.at(-1)).toMatchObject({ type: "complete", content: fallbackResponse });
    }
  });

  it("with nothing retrieved, fallbackStrategy model lets the model answer and say it found no source", async () => {
    const { base } = await baseWithHandbook(alice, "Fallback model");
    const s = await alice.session.create({ knowledgeBaseId: base.id, strategy: { fallbackStrategy: "model" } });
    const { events } = await ask(alice, s.id, "What is the weather in Paris tomorrow?");
    expect(events.map((e) => e.type)).not.toContain("references");
    expect(textOf(events)).toContain("I could not find a source for this question");
    expect(events.at(-1)!.type).toBe("complete");
  });

  it("enableRewrite searches a follow-up with the previous question's words", async () => {
    const { base } = await baseWithHandbook(alice, "Rewrite");
    const followUp = async (enableRewrite: boolean) => {
      const s = await alice.session.create({ knowledgeBaseId: base.id, strategy: { enableRewrite } });
      expect(referencesOf((await ask(alice, s.id, "How does a client resume after a dropped connection?")).events).length).toBeGreaterThan(0);
      return referencesOf((await ask(alice, s.id, "Tell me more about it")).events);
    };
    const rewritten = await followUp(true);
    expect(rewritten.length).toBeGreaterThan(0);
    expect(rewritten.map((r) => r.title)).toContain("Answers survive reloads, dropped connections and crashes");
    expect(await followUp(false)).toEqual([]);
  });

  it("deleting a base while an answer uses it lets the answer finish cleanly", async () => {
    const slow = await createTestApp({ PARLEY_OFFLINE_TOKEN_DELAY_MS: "15" });
    try {
      const tt = await createTestTenant(slow);
      const api = tt.owner.api;
      for (const when of ["at once", "after references"] as const) {
        const { base } = await baseWithHandbook(api, `Doomed ${when}`);
        const s = await api.session.create({ knowledgeBaseId: base.id });
        const turn = await api.chat.send({ sessionId: s.id, query: "How do I scale Parley out?" });
        const stream = (await api.chat.stream({ sessionId: s.id, messageId: turn.assistantMessage.id })) as AsyncIterable<[string, StreamEvent]>;
        const events: StreamEvent[] = [];
        if (when === "at once") await api.knowledge.bases.delete({ id: base.id });
        for await (const [, event] of stream) {
          events.push(event);
          if (event.type === "references" && when === "after references") await api.knowledge.bases.delete({ id: base.id });
        }
        expect(events.at(-1)!.type).toBe("complete");
        const [stored] = (await api.message.list({ sessionId: s.id })).items.filter((m) => m.role === "assistant");
        expect(stored!.status).toBe("completed");
        expect(stored!.content).toBe(textOf(events));
      }
    } finally {
      await slow.close();
    }
  });
});

describe("/api/health", () => {
  it("reports where vectors live, keeping the other fields", async () => {
    const health = await checkHealth(app);
    const hasPgvector = await app.db.execute(sql`select 1 from pg_extension where extname = 'vector'`).then((r) => (Array.isArray(r) ? r : (r as { rows: unknown[] }).rows).length > 0);
    expect(health).toEqual({ status: "ok", db: app.dbHandle.kind, redis: app.store.kind === "redis" ? "redis" : "memory", vectors: hasPgvector ? "pgvector" : "array" });
    if (app.dbHandle.kind === "pglite") expect(health.vectors).toBe("pgvector");
  });
});
