import { randomUUID } from "node:crypto";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { messages } from "../../db/schema";
import type { App } from "../boot/app";
import { defaultContextConfig, defaultStrategy, defaultSummaryParameters } from "../../common/settings";
import { addFinishedTurn, addStreamingTurn, codeOf, createTestApp, createTestTenant, fieldErrorsOf, type TestCaller } from "../testing/app";

let app: App;
let t: Awaited<ReturnType<typeof createTestTenant>>;
let api: TestCaller;
beforeAll(async () => {
  app = await createTestApp();
  t = await createTestTenant(app);
  api = (await t.addUser("member")).api;
});
afterAll(() => app.close());

const addTurn = (sessionId: string, question: string, answer: string, at?: Date) => addFinishedTurn(app, sessionId, question, answer, at);

describe("session.create / get", () => {
  it("creates a session with the contract's defaults", async () => {
    const s = await api.session.create();
    expect(s.title).toBe("");
    expect(s.pinned).toBe(false);
    expect(s.pinnedAt).toBeNull();
    expect(s.knowledgeBaseId).toBeNull();
    expect(s.strategy).toEqual(defaultStrategy());
    expect(s.strategy.fallbackResponse).toBe("Sorry, I am unable to answer this question.");
    expect(s.summaryParameters).toEqual(defaultSummaryParameters());
    expect(s.contextConfig).toEqual(defaultContextConfig());
    expect(s.contextConfig.maxTokens).toBe(131072);
    expect(s.agentConfig).toEqual({ agentModeEnabled: false, webSearchEnabled: false, knowledgeBases: [], knowledgeIds: [] });
    expect(s.createdAt).toBeInstanceOf(Date);
    expect(await api.session.get({ id: s.id })).toEqual(s);
  });

  it("takes partial config and fills the rest with defaults", async () => {
    const s = await api.session.create({ title: "Tax questions", strategy: { maxRounds: 9 }, contextConfig: { compressionStrategy: "smart" } });
    expect(s.strategy).toEqual({ ...defaultStrategy(), maxRounds: 9 });
    expect(s.contextConfig.compressionStrategy).toBe("smart");
    expect(s.contextConfig.recentMessageCount).toBe(20);
  });

  it("enforces title ≤ 255 and description ≤ 2000 at the edge", async () => {
    expect((await api.session.create({ title: "a".repeat(255) })).title).toHaveLength(255);
    expect(await fieldErrorsOf(api.session.create({ title: "a".repeat(256) }))).toEqual(["title"]);
    expect((await api.session.create({ description: "d".repeat(2000) })).description).toHaveLength(2000);
    expect(await fieldErrorsOf(api.session.create({ description: "d".repeat(2001) }))).toEqual(["description"]);
  });

  it("rejects wrong types and unknown fields with BAD_REQUEST naming the field, storing nothing", async () => {
    const before = (await api.session.list({ withTotal: true })).total;
    expect(await fieldErrorsOf(api.session.create({ title: 42 } as never))).toEqual(["title"]);
    expect(await fieldErrorsOf(api.session.create({ strategy: { maxRounds: "five" } } as never))).toEqual(["strategy"]);
    expect(await fieldErrorsOf(api.session.create({ strategy: { fallbackStrategy: "guess" } } as never))).toEqual(["strategy"]);
    expect(await fieldErrorsOf(api.session.create({ bogus: true } as never))).toEqual([]);
    expect(await codeOf(api.session.create({ bogus: true } as never))).toBe("BAD_REQUEST");
    expect((await api.session.list({ withTotal: true })).total).toBe(before);
  });

  it("answers NOT_FOUND for unknown ids and BAD_REQUEST for malformed ones", async () => {
    expect(await codeOf(api.session.get({ id: randomUUID() }))).toBe("NOT_FOUND");
    expect(await fieldErrorsOf(api.session.get({ id: "nope" }))).toEqual(["id"]);
  });
});

describe("session.update", () => {
  it("renames, deep-merges config and bumps updatedAt", async () => {
    const s = await api.session.create({ strategy: { maxRounds: 7 } });
    const u = await api.session.update({ id: s.id, title: "Renamed", strategy: { enableRewrite: false } });
    expect(u.title).toBe("Renamed");
    expect(u.strategy.maxRounds).toBe(7);
    expect(u.strategy.enableRewrite).toBe(false);
    expect(u.strategy.embeddingTopK).toBe(10);
    expect(u.updatedAt.getTime()).toBeGreaterThanOrEqual(s.updatedAt.getTime());
  });

  it("pins and unpins, setting pinnedAt", async () => {
    const s = await api.session.create();
    const pinned = await api.session.update({ id: s.id, pinned: true });
    expect(pinned.pinned).toBe(true);
    expect(pinned.pinnedAt).toBeInstanceOf(Date);
    const unpinned = await api.session.update({ id: s.id, pinned: false });
    expect(unpinned.pinnedAt).toBeNull();
  });

  it("validates limits and leaves the session unchanged on bad input", async () => {
    const s = await api.session.create({ title: "keep" });
    expect(await fieldErrorsOf(api.session.update({ id: s.id, title: "x".repeat(256) }))).toEqual(["title"]);
    expect(await fieldErrorsOf(api.session.update({ id: s.id, contextConfig: { recentMessageCount: 0 } }))).toEqual(["contextConfig"]);
    expect(await fieldErrorsOf(api.session.update({ id: s.id, pinned: "yes" } as never))).toEqual(["pinned"]);
    expect((await api.session.get({ id: s.id })).title).toBe("keep");
  });
});

describe("session.list", () => {
  it("orders pinned first (latest pin first), then most recently updated", async () => {
    const { api: u } = await t.addUser("member");
    const a = await u.session.create({ title: "a" });
    const b = await u.session.create({ title: "b" });
    const c = await u.session.create({ title: "c" });
    await u.session.update({ id: a.id, pinned: true });
    await new Promise((r) => setTimeout(r, 5));
    await u.session.update({ id: b.id, pinned: true });
    const { items } = await u.session.list();
    expect(items.map((s) => s.title)).toEqual(["b", "a", "c"]);
    await addTurn(c.id, "q", "r");
  });

  it("limit 1..100 with default 20, and a total on request", async () => {
    const { api: u } = await t.addUser("member");
    for (let i = 0; i < 23; i++) await u.session.create({ title: `s${i}` });
    const first = await u.session.list();
    expect(first.items).toHaveLength(20);
    expect(first.total).toBeUndefined();
    expect((await u.session.list({ withTotal: true })).total).toBe(23);
    expect((await u.session.list({ limit: 100 })).items).toHaveLength(23);
    expect((await u.session.list({ limit: 1 })).items).toHaveLength(1);
    expect(await fieldErrorsOf(u.session.list({ limit: 0 }))).toEqual(["limit"]);
    expect(await fieldErrorsOf(u.session.list({ limit: 101 }))).toEqual(["limit"]);
    expect(await fieldErrorsOf(u.session.list({ cursor: "garbage" }))).toEqual(["cursor"]);
  });

  it("pages by cursor without gaps or repeats while sessions are being created", async () => {
    const { api: u } = await t.addUser("member");
    const original: string[] = [];
    for (let i = 0; i < 30; i++) original.push((await u.session.create({ title: `p${i}` })).id);
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await u.session.list({ limit: 7, cursor });
      seen.push(...page.items.map((s) => s.id));
      await u.session.create({ title: "inserted while paging" });
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    const originalSeen = seen.filter((id) => original.includes(id));
    expect(new Set(seen).size).toBe(seen.length);
    expect(originalSeen).toEqual([...original].reverse());
  });

  it("searches titles and message content, case-insensitively and literally", async () => {
    const { api: u } = await t.addUser("member");
    const byTitle = await u.session.create({ title: "Quarterly Budget review" });
    const byMessage = await u.session.create({ title: "untitled" });
    await addTurn(byMessage.id, "Where is the zanzibar office?", "On the island.");
    await u.session.create({ title: "Something else" });
    expect((await u.session.list({ search: "budget" })).items.map((s) => s.id)).toEqual([byTitle.id]);
    expect((await u.session.list({ search: "ZANZIBAR" })).items.map((s) => s.id)).toEqual([byMessage.id]);
    expect((await u.session.list({ search: "island" })).items.map((s) => s.id)).toEqual([byMessage.id]);
    expect((await u.session.list({ search: "zanz" })).items.map((s) => s.id)).toEqual([byMessage.id]);
    // Operators and punctuation are text, not syntax.
    expect((await u.session.list({ search: "budget | !zanzibar" })).items).toEqual([]);
    expect((await u.session.list({ search: "'); drop table sessions; --" })).items).toEqual([]);
    expect((await u.session.list({ search: "%_*" })).items).toEqual([]);
    expect((await u.session.list({ search: "budget", withTotal: true })).total).toBe(1);
    expect(await fieldErrorsOf(u.session.list({ search: "x".repeat(501) }))).toEqual(["search"]);
  });

  it("finds an answer by its words once it has ended, not while it streams (its growing text is not indexed)", async () => {
    const { api: u } = await t.addUser("member");
    const s = await u.session.create({ title: "untitled" });
    const { answerId } = await addStreamingTurn(app, s.id, "Where do walruses live?", "On the arctic ice floes");
    expect((await u.session.list({ search: "walruses" })).items.map((x) => x.id)).toEqual([s.id]);
    expect((await u.session.list({ search: "floes" })).items).toEqual([]);
    await app.db.update(messages).set({ status: "completed" }).where(eq(messages.id, answerId));
    expect((await u.session.list({ search: "floes" })).items.map((x) => x.id)).toEqual([s.id]);
  });

  /** Every id a search returns, page by page (`limit` a page), following nextCursor. */
  async function searchAll(u: TestCaller, search: string, limit: number) {
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await u.session.list({ search, limit, cursor });
      seen.push(...page.items.map((s) => s.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return seen;
  }

  it("pages a search in list order, whether it walks the list or sorts its hits", async () => {
    const { api: u } = await t.addUser("member");
    const created: string[] = [];
    for (let i = 0; i < 30; i++) created.push((await u.session.create({ title: i === 15 ? "walrus notes" : `n${i}` })).id);
    for (const i of [29, 27, 26, 20, 3]) await addTurn(created[i]!, "Any walrus news?", "None.");
    await addTurn(created[26]!, "More walruses?", "Still none.");
    const listed = (await u.session.list({ limit: 100 })).items.map((s) => s.id);
    const expected = listed.filter((id) => [29, 27, 26, 20, 15, 3].some((i) => created[i] === id));
    // limit 1 finds its page by walking the list until the last page; 50 sorts all six hits.
    for (const limit of [1, 2, 5, 50]) expect(await searchAll(u, "walrus", limit)).toEqual(expected);
  });

  it("finds a search's hits beyond the walk's reach (8 sessions per hit)", async () => {
    for (const newer of [14, 15]) {
      const { api: u } = await t.addUser("member");
      const oldest = await u.session.create({ title: "narwhal" });
      for (let i = 0; i < newer; i++) await u.session.create({ title: `n${i}` });
      const newest = await u.session.create({ title: "narwhal again" });
      // Two hits, so the walk reads 16 sessions: with 14 between them it reaches the oldest, with 15 not.
      expect(await searchAll(u, "narwhal", 1)).toEqual([newest.id, oldest.id]);
      expect((await u.session.list({ search: "narwhal", limit: 1 })).items.map((s) => s.id)).toEqual([newest.id]);
    }
  });
});

describe("delete, deleteMany, clearMessages, export", () => {
  it("deletes one session with its messages; a second delete is NOT_FOUND", async () => {
    const s = await api.session.create({ title: "gone" });
    await addTurn(s.id, "q", "a");
    expect(await api.session.delete({ id: s.id })).toEqual({ id: s.id });
    expect(await codeOf(api.session.get({ id: s.id }))).toBe("NOT_FOUND");
    expect(await codeOf(api.session.delete({ id: s.id }))).toBe("NOT_FOUND");
    const { eq } = await import("drizzle-orm");
    expect(await app.db.select().from(messages).where(eq(messages.sessionId, s.id))).toEqual([]);
  });

  it("deleteMany takes exactly one of ids (1..1000) or all", async () => {
    const { api: u } = await t.addUser("member");
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await u.session.create()).id);
    expect(await fieldErrorsOf(u.session.deleteMany({}))).toEqual(["ids"]);
    expect(await fieldErrorsOf(u.session.deleteMany({ ids, all: true }))).toEqual(["ids"]);
    expect(await fieldErrorsOf(u.session.deleteMany({ ids: [] }))).toEqual(["ids"]);
    expect(await fieldErrorsOf(u.session.deleteMany({ ids: Array.from({ length: 1001 }, () => randomUUID()) }))).toEqual(["ids"]);
    expect(await fieldErrorsOf(u.session.deleteMany({ ids: ["not-a-uuid"] }))).toEqual(["ids"]);
    expect((await u.session.list({ withTotal: true })).total).toBe(3);
    expect(await u.session.deleteMany({ ids: Array.from({ length: 1000 }, (_, i) => ids[i] ?? randomUUID()) })).toEqual({ deleted: 3 });
    for (let i = 0; i < 2; i++) await u.session.create();
    expect(await u.session.deleteMany({ all: true })).toEqual({ deleted: 2 });
    expect((await u.session.list({ withTotal: true })).total).toBe(0);
  });

  it("deleteMany { all } deletes only the caller's own sessions, owners included", async () => {
    const other = await t.addUser("member");
    const theirs = await other.api.session.create();
    await t.owner.api.session.create();
    await t.owner.api.session.deleteMany({ all: true });
    expect((await other.api.session.get({ id: theirs.id })).id).toBe(theirs.id);
  });

  it("clearMessages empties a session and keeps it", async () => {
    const s = await api.session.create({ title: "keep me" });
    await addTurn(s.id, "q1", "a1");
    await addTurn(s.id, "q2", "a2", new Date(Date.now() + 10));
    expect(await api.session.clearMessages({ id: s.id })).toEqual({ deleted: 4 });
    expect((await api.message.list({ sessionId: s.id })).items).toEqual([]);
    expect((await api.session.get({ id: s.id })).title).toBe("keep me");
  });

  it("exports Markdown and JSON", async () => {
    const s = await api.session.create({ title: "Export me" });
    await addTurn(s.id, "What is Parley?", "A chat service.");
    const md = await api.session.export({ id: s.id, format: "markdown" });
    expect(md.filename).toMatch(/^export-me-.*\.md$/);
    expect(md.content.startsWith("# Export me\n")).toBe(true);
    expect(md.content.indexOf("What is Parley?")).toBeLessThan(md.content.indexOf("A chat service."));
    const json = await api.session.export({ id: s.id, format: "json" });
    const parsed = JSON.parse(json.content);
    expect(parsed.session.id).toBe(s.id);
    expect(parsed.messages.map((m: { role: string }) => m.role)).toEqual(["user", "assistant"]);
    expect(await fieldErrorsOf(api.session.export({ id: s.id, format: "pdf" } as never))).toEqual(["format"]);
  });
});

describe("message.list", () => {
  it("pages before a date, oldest first, user before assistant, limit 1..100", async () => {
    const s = await api.session.create();
    const base = Date.now() - 100_000;
    for (let i = 0; i < 5; i++) await addTurn(s.id, `q${i}`, `a${i}`, new Date(base + i * 1000));
    const newest = await api.message.list({ sessionId: s.id, limit: 4 });
    expect(newest.items.map((m) => m.content)).toEqual(["q3", "a3", "q4", "a4"]);
    expect(newest.hasMore).toBe(true);
    const older = await api.message.list({ sessionId: s.id, before: newest.items[0]!.createdAt, limit: 100 });
    expect(older.items.map((m) => m.content)).toEqual(["q0", "a0", "q1", "a1", "q2", "a2"]);
    expect(older.hasMore).toBe(false);
    expect((await api.message.list({ sessionId: s.id })).items).toHaveLength(10);
    expect(await fieldErrorsOf(api.message.list({ sessionId: s.id, limit: 101 }))).toEqual(["limit"]);
    expect(await fieldErrorsOf(api.message.list({ sessionId: s.id, before: "yesterday" } as never))).toEqual(["before"]);
    expect(await codeOf(api.message.list({ sessionId: randomUUID() }))).toBe("NOT_FOUND");
  });
});
