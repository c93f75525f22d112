import { randomUUID } from "node:crypto";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { messageSuggestions } from "../../../../db/schema";
import type { App } from "../../../boot/app";
import { createTestTenant, type TestTenant } from "../../../testing/app";
import { startFakeOpenAI, type FakeOpenAI } from "../../../testing/fakeOpenai";
import { serveTestApp, type ServedTestApp } from "../../../testing/http";
import { answerText, restClient } from "../../../testing/rest";

/**
 * WeKnora's message suggestions (suggestions.ts) over real HTTP: with the built-in offline model
 * (questions from the conversation's own words), and with a summary model (a fake that replies JSON).
 */
let served: ServedTestApp;
let app: App;
let base: string;
let t: TestTenant;
let ownerKey: string;
const { call, newSession, chat } = restClient(() => base, () => ownerKey);

beforeAll(async () => {
  served = await serveTestApp({ PARLEY_OFFLINE_TOKEN_DELAY_MS: "0" });
  app = served.app;
  base = `${served.url}/api/v1`;
  t = served.tenant;
  ownerKey = t.owner.apiKey;
});
afterAll(() => served?.close());

/** A session whose one answer quotes an attached file (the offline model cites what it is given); its question and answer ids. */
async function answeredSession(key = ownerKey) {
  const s = await newSession(key);
  const form = new FormData();
  form.append("file", new Blob(["Redis Cluster keeps each session's keys in one slot. Replicas of each master take over when a master fails. Sharded channels carry the wake-ups."]), "cluster.txt");
  const up = await fetch(`${base}/sessions/${s.id}/attachments`, { method: "POST", headers: { "X-API-Key": key }, body: form });
  const attachment = ((await up.json()) as { data: { id: string } }).data;
  const { frames } = await chat(s.id, "How does Redis Cluster keep session keys?", { key, body: { attachment_ids: [attachment.id], disable_title: true } });
  expect(answerText(frames)).toContain("one slot");
  const messages = (await call("GET", `/messages/${s.id}/load`, { key })).body.data as { id: string; role: string }[];
  return { sessionId: s.id, questionId: messages[0]!.id, answerId: messages[1]!.id };
}

const suggestionsPath = (sessionId: string, messageId: string) => `/sessions/${sessionId}/messages/${messageId}/suggestions`;

describe("message suggestions", () => {
  it("makes up to 3 follow-ups once (offline: from the conversation's own words), reads them, and makes new ones on regenerate", async () => {
    const { sessionId, answerId } = await answeredSession();
    const none = await call("GET", suggestionsPath(sessionId, answerId));
    expect([none.status, none.body.error.code]).toEqual([404, 1003]);

    const made = await call("POST", suggestionsPath(sessionId, answerId), { body: { regenerate: false } });
    expect(made.status).toBe(200);
    const set = made.body.data;
    expect(set).toMatchObject({ session_id: sessionId, assistant_message_id: answerId, status: "ready", allow_regenerate: true });
    expect(set.questions).toHaveLength(3);
    for (const q of set.questions as { id: string; text: string; source: string }[]) {
      expect(q).toMatchObject({ id: expect.any(String), source: "answer" });
      expect(q.text).toMatch(/\?$/);
      expect(q.text.length).toBeLessThanOrEqual(150);
    }
    // Grounded: they name the question's subject or words of the answer.
    expect(set.questions.map((q: { text: string }) => q.text).join(" ")).toMatch(/Redis Cluster|slot|master/);

    expect((await call("GET", suggestionsPath(sessionId, answerId))).body.data).toEqual(set);
    // Again without a body: the same set, not new questions.
    const res = await fetch(`${base}${suggestionsPath(sessionId, answerId)}`, { method: "POST", headers: { "X-API-Key": ownerKey } });
    expect(((await res.json()) as { data: unknown }).data).toEqual(set);
    const again = (await call("POST", suggestionsPath(sessionId, answerId), { body: { regenerate: true } })).body.data;
    expect(again.id).toBe(set.id);
    expect(again.questions.map((q: { id: string }) => q.id)).not.toEqual(set.questions.map((q: { id: string }) => q.id));
  });

  it("is 404 for an unknown message or another tenant's or member's, and 400 for a question", async () => {
    const { sessionId, questionId, answerId } = await answeredSession();
    for (const path of [suggestionsPath(sessionId, randomUUID()), suggestionsPath(randomUUID(), answerId)]) {
      for (const method of ["GET", "POST"]) {
        const res = await call(method, path);
        expect([res.status, res.body.error.code]).toEqual([404, 1003]);
      }
    }
    const other = await createTestTenant(app);
    const member = await t.addUser("member");
    for (const key of [other.owner.apiKey, member.apiKey]) {
      for (const method of ["GET", "POST"]) expect((await call(method, suggestionsPath(sessionId, answerId), { key })).body.error.code).toBe(1003);
      const event = await call("POST", `/sessions/${sessionId}/suggestion-events`, { key, body: { suggestion_set_id: randomUUID(), event_type: "impression" } });
      expect([event.status, event.body.error.code]).toEqual([404, 1003]);
    }
    // A question has no follow-ups of its own: it is not an answer.
    expect((await call("POST", suggestionsPath(sessionId, questionId))).status).toBe(404);
  });

  it("counts shown, clicked and dismissed events on a set of the session, refusing what does not belong", async () => {
    const { sessionId, answerId } = await answeredSession();
    const set = (await call("POST", suggestionsPath(sessionId, answerId))).body.data as { id: string; questions: { id: string }[] };
    const events = () => app.metrics.suggestionEvents.get().then((m) => Object.fromEntries(m.values.map((v) => [v.labels.event, v.value])));
    const before = await events();
    const send = (body: Record<string, unknown>) => call("POST", `/sessions/${sessionId}/suggestion-events`, { body: { suggestion_set_id: set.id, ...body } });

    expect((await send({ event_type: "impression", question_id: "" })).body).toEqual({ success: true, message: "Event recorded" });
    expect((await send({ event_type: "click", question_id: set.questions[1]!.id })).status).toBe(200);
    expect((await send({ event_type: "dismiss" })).status).toBe(200);
    expect(await events()).toEqual({ impression: before.impression! + 1, click: before.click! + 1, dismiss: before.dismiss! + 1 });

    const unclicked = await send({ event_type: "click" });
    expect([unclicked.status, unclicked.body.error.code, unclicked.body.error.details.field]).toEqual([400, 1010, "question_id"]);
    expect((await send({ event_type: "click", question_id: "not-in-the-set" })).body.error.details.field).toBe("question_id");
    expect((await send({ event_type: "hover" })).body.error.details.field).toBe("event_type");
    const unknownSet = await call("POST", `/sessions/${sessionId}/suggestion-events`, { body: { suggestion_set_id: randomUUID(), event_type: "impression" } });
    expect([unknownSet.status, unknownSet.body.error.code]).toEqual([404, 1003]);
    // A set of another session is not this session's.
    const elsewhere = await newSession();
    expect((await call("POST", `/sessions/${elsewhere.id}/suggestion-events`, { body: { suggestion_set_id: set.id, event_type: "impression" } })).status).toBe(404);
    expect(await events()).toEqual({ impression: before.impression! + 1, click: before.click! + 1, dismiss: before.dismiss! + 1 });
  });

  it("goes with its answer (one message deleted, or the whole session)", async () => {
    const { sessionId, answerId } = await answeredSession();
    await call("POST", suggestionsPath(sessionId, answerId));
    const setsOf = () => app.db.select({ id: messageSuggestions.id }).from(messageSuggestions).where(eq(messageSuggestions.sessionId, sessionId));
    expect(await setsOf()).toHaveLength(1);
    expect((await call("DELETE", `/messages/${sessionId}/${answerId}`)).status).toBe(200);
    expect(await setsOf()).toEqual([]);

    const second = await answeredSession();
    await call("POST", suggestionsPath(second.sessionId, second.answerId));
    expect((await call("DELETE", `/sessions/${second.sessionId}`)).status).toBe(200);
    expect(await app.db.select({ id: messageSuggestions.id }).from(messageSuggestions).where(eq(messageSuggestions.sessionId, second.sessionId))).toEqual([]);
  });
});

describe("message suggestions from a summary model", () => {
  let fake: FakeOpenAI;
  let modelServed: ServedTestApp;
  const model = restClient(() => `${modelServed.url}/api/v1`, () => modelServed.tenant.owner.apiKey);
  beforeAll(async () => {
    fake = await startFakeOpenAI();
    modelServed = await serveTestApp({ OPENAI_BASE_URL: fake.baseURL, OPENAI_API_KEY: "test-key", PARLEY_CHAT_MODEL: "fake-chat", PARLEY_SUMMARY_MODEL: "fake-summary" });
  });
  afterAll(async () => {
    await modelServed?.close();
    await fake?.close();
  });

  it("asks the summary model for JSON and keeps its usable questions, at most 3, falling back to the conversation's words when it fails", async () => {
    const long = `Why ${"very ".repeat(40)}long?`;
    fake.reply((body) =>
      body.stream
        ? { text: "Pinned sessions stay at the top [1]." }
        : {
            text: JSON.stringify({
              questions: [
                { text: "How do I unpin a session?", category: "action" },
                { text: long, category: "deepen" },
                { text: "How do I unpin a session?", category: "action" },
                { text: "Does pinning survive an export?", category: "made-up" },
                { text: "Which order do pinned sessions keep?", category: "clarify" },
                { text: "One too many?", category: "clarify" },
              ],
            }),
          },
    );
    const s = await model.newSession();
    await model.chat(s.id, "How do I pin a session?", { body: { disable_title: true } });
    const answerId = ((await model.call("GET", `/messages/${s.id}/load`)).body.data as { id: string }[])[1]!.id;
    const set = (await model.call("POST", suggestionsPath(s.id, answerId))).body.data;
    expect(set.questions).toEqual([
      { id: expect.any(String), text: "How do I unpin a session?", category: "action", source: "model" },
      { id: expect.any(String), text: "Does pinning survive an export?", source: "model" },
      { id: expect.any(String), text: "Which order do pinned sessions keep?", category: "clarify", source: "model" },
    ]);
    const asked = fake.requests.findLast((r) => !r.body.stream)!;
    expect(asked.body.model).toBe("fake-summary");
    expect(asked.body.messages?.[1]?.content).toContain("Pinned sessions stay at the top");

    fake.reply((body) => (body.stream ? { text: "Pinned sessions stay at the top [1]." } : { status: 500 }));
    const failed = (await model.call("POST", suggestionsPath(s.id, answerId), { body: { regenerate: true } })).body.data;
    expect(failed.status).toBe("ready");
    expect(failed.questions.length).toBeGreaterThan(0);
    expect(failed.questions.every((q: { source: string }) => q.source === "answer")).toBe(true);
  });
});
