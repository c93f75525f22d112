import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../boot/app";
import { addFinishedTurn, createTestTenant, type TestTenant } from "../../testing/app";
import { serveTestApp, type ServedTestApp } from "../../testing/http";
import { waitFor } from "../../testing/wait";
import { restClient } from "../../testing/rest";

/**
 * `POST /api/v1/messages/search` over real HTTP, with the app's own indexer: keyword, vector and
 * hybrid search of question/answer pairs, each item saying how it matched, in WeKnora's shape; a
 * pair searchable by meaning within 10 s of its answer ending; WeKnora's defaults as its Go
 * client sends them; only the caller's own sessions.
 */
let app: App;
let served: ServedTestApp;
let base: string;
let t: TestTenant;
let key: string;
const { request, call } = restClient(() => base, () => key);

const ITEM_FIELDS = ["request_id", "session_id", "session_title", "query_content", "answer_content", "score", "match_type", "created_at"].sort();

beforeAll(async () => {
  served = await serveTestApp();
  app = served.app;
  base = `${served.url}/api/v1`;
  t = served.tenant;
  key = (await t.addUser("member")).apiKey;
});
afterAll(() => served?.close());

interface Item {
  request_id: string;
  session_id: string;
  query_content: string;
  match_type: string;
  score: number;
}
const search = async (body: Record<string, unknown>, as = key): Promise<{ items: Item[]; total: number }> => {
  const res = await call("POST", "/messages/search", { key: as, body });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.data;
};
const newSession = async (as = key) => (await call("POST", "/sessions", { key: as, body: { title: "Search" } })).body.data.id as string;

/** Polls vector search until the session's pair is found; returns how long it took. */
async function untilSearchable(query: string, sessionId: string, as = key): Promise<number> {
  const started = Date.now();
  await waitFor(async () => (await search({ query, mode: "vector", session_ids: [sessionId] }, as)).items.length > 0, {
    timeoutMs: 15_000,
    intervalMs: 200,
    message: `"${query}" never became searchable`,
  });
  return Date.now() - started;
}

describe("POST /messages/search", () => {
  it("finds an answer by meaning within 10 s of its end", async () => {
    const s = await newSession();
    const res = await request("POST", `/knowledge-chat/${s}`, { body: { query: "How much does a nurse earn?", disable_title: true } });
    // The server closes the stream after the answer's last frame.
    expect(await res.text()).toContain('"response_type":"complete"');
    expect(await untilSearchable("How much does a nurse earn?", s)).toBeLessThan(10_000);
    const { items, total } = await search({ query: "How much does a nurse earn?", mode: "vector", session_ids: [s] });
    expect(total).toBe(1);
    expect(Object.keys(items[0]!).sort()).toEqual(ITEM_FIELDS);
    expect(items[0]).toMatchObject({ session_id: s, session_title: "Search", query_content: "How much does a nurse earn?", match_type: "vector" });
  });

  it("says how each pair matched: by its words, its meaning, or both", async () => {
    const penguins = await newSession();
    const salaries = await newSession();
    await addFinishedTurn(app, penguins, "Where do penguins nest?", "Penguins nest in large colonies on rocky shores and on the ice.");
    await addFinishedTurn(app, salaries, "What is a typical salary for a nurse?", "A nurse's salary depends on the hospital and on years of experience.");
    await untilSearchable("penguins", penguins);
    await untilSearchable("salary", salaries);

    const keyword = await search({ query: "penguins nest", mode: "keyword" });
    expect(keyword.items.map((i) => [i.session_id, i.match_type])).toEqual([[penguins, "keyword"]]);
    // What WeKnora's Go client sends when mode and limit are left unset: hybrid, 20.
    const hybrid = await search({ query: "penguins nest", mode: "", limit: 0 });
    expect(hybrid.items[0]).toMatchObject({ session_id: penguins, match_type: "hybrid" });
    expect(hybrid.items[0]!.score).toBeCloseTo(2 / 61);
    // No word of the query in the pair: found by meaning alone.
    const meaning = await search({ query: "wages of hospital staff" });
    expect(meaning.items[0]).toMatchObject({ session_id: salaries, match_type: "vector" });
    expect((await search({ query: "wages of hospital staff", mode: "keyword" })).total).toBe(0);
  });

  it("returns 20 pairs unless told otherwise, at most 100, with the total; an empty session_ids filters nothing", async () => {
    const s = await newSession();
    for (let i = 0; i < 22; i++) await addFinishedTurn(app, s, `Zebra question ${i}`, `Zebra answer ${i}`);
    for (const body of [{ query: "zebra", mode: "keyword" }, { query: "zebra", mode: "keyword", limit: 0 }, { query: "zebra", mode: "keyword", limit: null, session_ids: [] }]) {
      const { items, total } = await search(body);
      expect(items, JSON.stringify(body)).toHaveLength(20);
      expect(total).toBe(22);
    }
    expect((await search({ query: "zebra", mode: "keyword", limit: 100 })).items).toHaveLength(22);
    for (const [body, field] of [
      [{ query: "zebra", limit: 101 }, "limit"],
      [{ query: "zebra", limit: -1 }, "limit"],
      [{ query: "zebra", mode: "fuzzy" }, "mode"],
      [{ query: "" }, "query"],
    ] as const) {
      const res = await call("POST", "/messages/search", { body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error).toMatchObject({ code: 1010, details: { field } });
    }
  });

  it("searches only the caller's own sessions, in every mode", async () => {
    const mine = await newSession();
    await addFinishedTurn(app, mine, "Do lemurs sleep in trees?", "Lemurs sleep in trees, huddled together.");
    await untilSearchable("lemurs", mine);
    // The same pair in a colleague's session (the tenant's owner) and in another tenant.
    const colleagues = await newSession(t.owner.apiKey);
    await addFinishedTurn(app, colleagues, "Do lemurs sleep in trees?", "Lemurs sleep in trees, huddled together.");
    const other = await createTestTenant(app);
    const foreign = await newSession(other.owner.apiKey);
    await addFinishedTurn(app, foreign, "Do lemurs sleep in trees?", "Lemurs sleep in trees, huddled together.");
    await untilSearchable("lemurs", colleagues, t.owner.apiKey);
    await untilSearchable("lemurs", foreign, other.owner.apiKey);
    for (const mode of ["keyword", "vector", "hybrid"]) {
      const { items } = await search({ query: "Do lemurs sleep in trees?", mode });
      expect(items.map((i) => i.session_id), mode).toEqual([mine]);
      // Naming someone else's session finds nothing either.
      expect((await search({ query: "Do lemurs sleep in trees?", mode, session_ids: [colleagues, foreign] })).total, mode).toBe(0);
    }
  });
});

describe("GET /messages/chat-history-stats", () => {
  it("counts the caller's own pairs the index finds by meaning, in WeKnora's ChatHistoryKBStats", async () => {
    const fresh = (await t.addUser("member")).apiKey;
    const stats = async (as: string) => {
      const res = await call("GET", "/messages/chat-history-stats", { key: as });
      expect(res.status).toBe(200);
      return res.body.data as { indexed_message_count: number };
    };
    const empty = await stats(fresh);
    // No knowledge base holds the index, so WeKnora's knowledge_base_id and _name are left out, as it leaves them when empty.
    expect(Object.keys(empty).sort()).toEqual(["embedding_model_id", "enabled", "has_indexed_messages", "indexed_message_count"]);
    expect(empty).toEqual({ enabled: true, embedding_model_id: app.knowledge.embedder.id, indexed_message_count: 0, has_indexed_messages: false });
    const s = await newSession(fresh);
    await addFinishedTurn(app, s, "Where do owls hunt?", "Owls hunt over open fields at night.");
    await addFinishedTurn(app, s, "What do owls eat?", "Owls eat mice and voles.");
    await untilSearchable("owls", s, fresh);
    const started = Date.now();
    while ((await stats(fresh)).indexed_message_count < 2 && Date.now() - started < 15_000) await new Promise((r) => setTimeout(r, 200));
    expect(await stats(fresh)).toMatchObject({ indexed_message_count: 2, has_indexed_messages: true });
    // A colleague's count is of their own pairs only.
    expect(await stats((await t.addUser("member")).apiKey)).toMatchObject({ indexed_message_count: 0, has_indexed_messages: false });
  });
});
