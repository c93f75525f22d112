import { randomUUID } from "node:crypto";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { messages, sessions } from "../../db/schema";
import type { App } from "../boot/app";
import type { Message } from "../sessions/messages";
import { startFakeOpenAI, type FakeOpenAI } from "../testing/fakeOpenai";
import { codeOf, createTestApp, createTestTenant, fieldErrorsOf, type TestCaller } from "../testing/app";
import { ask, readAnswer } from "../testing/answers";
import { serveApp } from "../testing/http";

/**
 * Conversations as trees (contract, "Branches: regenerate, edit, choose (and feedback)"), at the
 * tRPC and REST edges: regenerate, edit and switch keep the tree and the active path on the
 * server, the model (the fake OpenAI server, which records what it is sent) sees the active path
 * only, and answers rated by their owner.
 */
let fake: FakeOpenAI;
let app: App;
let t: Awaited<ReturnType<typeof createTestTenant>>;
let api: TestCaller;
let apiKey: string;
let answers = 0;
const SEND_LIMIT = 12;
beforeAll(async () => {
  fake = await startFakeOpenAI();
  fake.reply(() => ({ text: `Answer number ${++answers}.` }));
  app = await createTestApp({
    OPENAI_BASE_URL: fake.baseURL,
    OPENAI_API_KEY: "test-key",
    PARLEY_CHAT_MODEL: "fake-chat",
    PARLEY_SUMMARY_MODEL: "fake-summary",
    // Each test asks as a member of its own (a key's limit is its own), well under this.
    PARLEY_SEND_LIMIT_PER_MINUTE: String(SEND_LIMIT),
  });
  t = await createTestTenant(app);
});
beforeEach(async () => {
  ({ api, apiKey } = await t.addUser("member"));
});
afterAll(async () => {
  await app?.close();
  await fake?.close();
});

/** What the model was last asked to answer: the conversation it was sent, less the system prompt. */
function lastPrompt(): string[] {
  const chat = fake.requests.filter((r) => r.body.model === "fake-chat");
  return (chat.at(-1)?.body.messages ?? []).filter((m) => m.role !== "system").map((m) => `${m.role}: ${m.content}`);
}

/** Follows an answer to its end and returns it as stored. */
async function finished(sessionId: string, message: { id: string }, caller = api): Promise<Message> {
  await readAnswer(caller, { sessionId, messageId: message.id });
  const [row] = (await caller.message.siblings({ messageId: message.id })).items.filter((m) => m.id === message.id);
  return row!;
}

const path = async (sessionId: string, caller = api) => (await caller.message.list({ sessionId, limit: 100 })).items;
const contents = (items: Message[]) => items.map((m) => m.content);
const said = (m: Message) => `${m.role}: ${m.content}`;

describe("a conversation is a tree kept on the server", () => {
  it("regenerate, switch and edit keep every branch; the model sees the active path only; each fork remembers its last choice", async () => {
    const s = await api.session.create({ title: "tree" });
    const t1 = await api.chat.send({ sessionId: s.id, query: "First question" });
    const a1 = await finished(s.id, t1.assistantMessage);
    const t2 = await api.chat.send({ sessionId: s.id, query: "Second question" });
    const a2 = await finished(s.id, t2.assistantMessage);
    expect(t2.userMessage.parentId).toBe(a1.id);
    expect(a2.parentId).toBe(t2.userMessage.id);

    // Regenerate: a sibling of the answer; the model is sent the path up to its question only.
    const regenerated = await api.chat.regenerate({ sessionId: s.id, messageId: a2.id });
    expect(regenerated.assistantMessage).toMatchObject({ role: "assistant", status: "streaming", parentId: t2.userMessage.id, siblings: { index: 2, count: 2 } });
    const a2b = await finished(s.id, regenerated.assistantMessage);
    expect(a2b.status).toBe("completed");
    expect(lastPrompt()).toEqual(["user: First question", `assistant: ${a1.content}`, "user: Second question"]);
    expect(contents(await path(s.id))).toEqual(["First question", a1.content, "Second question", a2b.content]);
    expect((await path(s.id)).map((m) => m.siblings)).toEqual([1, 1, 1, 2].map((index) => ({ index, count: index })));
    expect((await api.session.get({ id: s.id })).activeLeafId).toBe(a2b.id);
    expect((await api.message.siblings({ messageId: a2b.id })).items.map((m) => m.id)).toEqual([a2.id, a2b.id]);

    // The next question follows the new answer (the cached context was rebuilt along the new path).
    const t3 = await api.chat.send({ sessionId: s.id, query: "Third question" });
    const a3 = await finished(s.id, t3.assistantMessage);
    expect(t3.userMessage.parentId).toBe(a2b.id);
    expect(lastPrompt()).toEqual([...[t1.userMessage, a1, t2.userMessage, a2b].map(said), "user: Third question"]);

    // Switch back to the first answer: the path ends there (it has no continuation yet); a question continues it.
    const switched = await api.message.switchBranch({ sessionId: s.id, messageId: a2.id });
    expect(switched.activeLeafId).toBe(a2.id);
    expect((await path(s.id)).map((m) => m.id)).toEqual([t1.userMessage.id, a1.id, t2.userMessage.id, a2.id]);
    expect((await path(s.id)).at(-1)!.siblings).toEqual({ index: 1, count: 2 });
    const t4 = await api.chat.send({ sessionId: s.id, query: "What about zebrafish?" });
    const a4 = await finished(s.id, t4.assistantMessage);
    expect(lastPrompt()).toEqual([...[t1.userMessage, a1, t2.userMessage, a2].map(said), "user: What about zebrafish?"]);

    // Edit the second question: a sibling question and its answer; nothing that followed the old one is deleted.
    const edited = await api.chat.edit({ sessionId: s.id, messageId: t2.userMessage.id, query: "Second question, edited" });
    expect(edited.userMessage).toMatchObject({ parentId: a1.id, siblings: { index: 2, count: 2 }, content: "Second question, edited" });
    const a2e = await finished(s.id, edited.assistantMessage);
    expect(lastPrompt()).toEqual([said(t1.userMessage), said(a1), "user: Second question, edited"]);
    expect((await path(s.id)).map((m) => m.id)).toEqual([t1.userMessage.id, a1.id, edited.userMessage.id, a2e.id]);

    // Back to the old question: its fork remembers the answer chosen last (a2, not the newer a2b), and a2 its continuation.
    expect((await api.message.switchBranch({ sessionId: s.id, messageId: t2.userMessage.id })).activeLeafId).toBe(a4.id);
    expect((await path(s.id)).map((m) => m.id)).toEqual([t1.userMessage.id, a1.id, t2.userMessage.id, a2.id, t4.userMessage.id, a4.id]);
    // The other answer restores its own continuation.
    expect((await api.message.switchBranch({ sessionId: s.id, messageId: a2b.id })).activeLeafId).toBe(a3.id);
    // From above the forks, each fork's last choice is followed down.
    expect((await api.message.switchBranch({ sessionId: s.id, messageId: t1.userMessage.id })).activeLeafId).toBe(a3.id);

    // Another device (a new caller) and an admin reading the session see the same branch.
    const again = await path(s.id, (await t.addUser("admin")).api);
    expect(again.map((m) => m.id)).toEqual([t1.userMessage.id, a1.id, t2.userMessage.id, a2b.id, t3.userMessage.id, a3.id]);
    // The switch dropped the cached context: the model sees the path switched to.
    const t5 = await api.chat.send({ sessionId: s.id, query: "Fifth question" });
    await finished(s.id, t5.assistantMessage);
    expect(lastPrompt()).toEqual([...[t1.userMessage, a1, t2.userMessage, a2b, t3.userMessage, a3].map(said), "user: Fifth question"]);

    // Search finds text in any branch; export json has every message, markdown the active path.
    expect((await api.session.list({ search: "zebrafish" })).items.map((x) => x.id)).toEqual([s.id]);
    const json = JSON.parse((await api.session.export({ id: s.id, format: "json" })).content) as { session: { activeLeafId: string }; messages: Message[] };
    expect(json.session.activeLeafId).toBe(t5.assistantMessage.id);
    expect(json.messages).toHaveLength(13);
    expect(json.messages.find((m) => m.id === a4.id)).toMatchObject({ parentId: t4.userMessage.id });
    expect(json.messages.filter((m) => m.parentId === null).map((m) => m.id)).toEqual([t1.userMessage.id]);
    const markdown = (await api.session.export({ id: s.id, format: "markdown" })).content;
    expect(markdown).toContain("Fifth question");
    expect(markdown).not.toContain("zebrafish");
    expect(markdown).not.toContain("Second question, edited");
  });

  it("a regenerated answer streams, stops and keeps its status as a sibling; a failed one too; the path stays valid", async () => {
    const s = await api.session.create({ title: "stop and fail" });
    const first = await api.chat.send({ sessionId: s.id, query: "Tell me a long story" });
    const original = await finished(s.id, first.assistantMessage);

    fake.reply({ text: "One two three four five six seven eight nine ten eleven twelve.", chunkDelayMs: 60 });
    const slow = await api.chat.regenerate({ sessionId: s.id, messageId: original.id });
    const events: string[] = [];
    for await (const [, event] of (await api.chat.stream({ sessionId: s.id, messageId: slow.assistantMessage.id })) as AsyncIterable<[string, { type: string }]>) {
      events.push(event.type);
      if (event.type === "answer" && events.filter((e) => e === "answer").length === 2) {
        expect(await api.chat.stop({ sessionId: s.id, messageId: slow.assistantMessage.id })).toEqual({ status: "stopped" });
      }
    }
    expect(events[0]).toBe("start");
    expect(events.at(-1)).toBe("stop");

    fake.reply({ status: 500 });
    const failing = await api.chat.regenerate({ sessionId: s.id, messageId: original.id });
    const failed = await finished(s.id, failing.assistantMessage);
    expect(failed.status).toBe("failed");
    fake.reply(() => ({ text: `Answer number ${++answers}.` }));

    const versions = (await api.message.siblings({ messageId: original.id })).items;
    expect(versions.map((m) => [m.id, m.status])).toEqual([
      [original.id, "completed"],
      [slow.assistantMessage.id, "stopped"],
      [failing.assistantMessage.id, "failed"],
    ]);
    expect((await api.session.get({ id: s.id })).activeLeafId).toBe(failing.assistantMessage.id);
    // The path ends at the failed answer; the next question follows it, and the model skips the failed turn (as it always has).
    const next = await api.chat.send({ sessionId: s.id, query: "Try again later" });
    expect(next.userMessage.parentId).toBe(failing.assistantMessage.id);
    await finished(s.id, next.assistantMessage);
    expect(lastPrompt()).toEqual(["user: Try again later"]);
  });

  it("regenerate, edit and switch are CONFLICT while an answer streams in the session", async () => {
    const s = await api.session.create({ title: "busy" });
    const first = await api.chat.send({ sessionId: s.id, query: "Question one" });
    const done = await finished(s.id, first.assistantMessage);
    fake.reply({ text: "A slow answer that takes a while to write out in full.", chunkDelayMs: 80 });
    try {
      const streaming = await api.chat.send({ sessionId: s.id, query: "Question two" });
      expect(await codeOf(api.chat.regenerate({ sessionId: s.id, messageId: done.id }))).toBe("CONFLICT");
      expect(await codeOf(api.chat.regenerate({ sessionId: s.id, messageId: streaming.assistantMessage.id }))).toBe("CONFLICT");
      expect(await codeOf(api.chat.edit({ sessionId: s.id, messageId: first.userMessage.id, query: "Question one, again" }))).toBe("CONFLICT");
      expect(await codeOf(api.message.switchBranch({ sessionId: s.id, messageId: done.id }))).toBe("CONFLICT");
      // Nothing was written by the refused calls.
      expect((await path(s.id)).map((m) => m.id)).toEqual([first.userMessage.id, done.id, streaming.userMessage.id, streaming.assistantMessage.id]);
      await api.chat.stop({ sessionId: s.id, messageId: streaming.assistantMessage.id });
      expect((await api.message.switchBranch({ sessionId: s.id, messageId: done.id })).activeLeafId).toBe(streaming.assistantMessage.id);
    } finally {
      fake.reply(() => ({ text: `Answer number ${++answers}.` }));
    }
  });

  it("the same requestId twice starts nothing new; with another request it is CONFLICT", async () => {
    const s = await api.session.create({ title: "idempotent" });
    const first = await api.chat.send({ sessionId: s.id, query: "Question" });
    const answer = await finished(s.id, first.assistantMessage);
    const requestId = randomUUID();
    const regenerated = await api.chat.regenerate({ sessionId: s.id, messageId: answer.id, requestId });
    const repeat = await api.chat.regenerate({ sessionId: s.id, messageId: answer.id, requestId });
    expect(repeat).toMatchObject({ requestId, assistantMessage: { id: regenerated.assistantMessage.id } });
    await finished(s.id, regenerated.assistantMessage);
    expect((await api.chat.regenerate({ sessionId: s.id, messageId: answer.id, requestId })).assistantMessage.id).toBe(regenerated.assistantMessage.id);
    expect(await codeOf(api.chat.send({ sessionId: s.id, query: "Question", requestId }))).toBe("CONFLICT");

    const editId = randomUUID();
    const edited = await api.chat.edit({ sessionId: s.id, messageId: first.userMessage.id, query: "Question, better", requestId: editId });
    await finished(s.id, edited.assistantMessage);
    const editAgain = await api.chat.edit({ sessionId: s.id, messageId: first.userMessage.id, query: "Question, better", requestId: editId });
    expect([editAgain.userMessage.id, editAgain.assistantMessage.id]).toEqual([edited.userMessage.id, edited.assistantMessage.id]);
    expect(await codeOf(api.chat.edit({ sessionId: s.id, messageId: first.userMessage.id, query: "Another text", requestId: editId }))).toBe("CONFLICT");
    expect(await codeOf(api.chat.send({ sessionId: s.id, query: "Another text", requestId: first.requestId }))).toBe("CONFLICT");
    expect((await api.message.siblings({ messageId: first.userMessage.id })).items).toHaveLength(2);
    expect((await api.message.siblings({ messageId: answer.id })).items).toHaveLength(2);
  });

  it("refuses bad input: another session's or tenant's message, a question to regenerate, an answer to edit, send's limits, 100 versions", async () => {
    const s = await api.session.create({ title: "bad input" });
    const turn = await api.chat.send({ sessionId: s.id, query: "A question" });
    const answer = await finished(s.id, turn.assistantMessage);
    const elsewhere = await api.session.create({ title: "elsewhere" });
    const otherTurn = await api.chat.send({ sessionId: elsewhere.id, query: "Elsewhere" });
    await finished(elsewhere.id, otherTurn.assistantMessage);

    expect(await codeOf(api.chat.regenerate({ sessionId: s.id, messageId: otherTurn.assistantMessage.id }))).toBe("NOT_FOUND");
    expect(await codeOf(api.chat.edit({ sessionId: s.id, messageId: otherTurn.userMessage.id, query: "x" }))).toBe("NOT_FOUND");
    expect(await codeOf(api.message.switchBranch({ sessionId: s.id, messageId: otherTurn.assistantMessage.id }))).toBe("NOT_FOUND");
    expect(await codeOf(api.chat.regenerate({ sessionId: s.id, messageId: randomUUID() }))).toBe("NOT_FOUND");
    const stranger = await createTestTenant(app);
    expect(await codeOf(stranger.owner.api.chat.regenerate({ sessionId: s.id, messageId: answer.id }))).toBe("NOT_FOUND");
    expect(await codeOf(stranger.owner.api.message.switchBranch({ sessionId: s.id, messageId: answer.id }))).toBe("NOT_FOUND");
    expect(await codeOf(stranger.owner.api.message.siblings({ messageId: answer.id }))).toBe("NOT_FOUND");
    expect(await codeOf(stranger.owner.api.message.rate({ messageId: answer.id, rating: "up" }))).toBe("NOT_FOUND");
    // An admin of the tenant may read the session but neither chat nor switch in it.
    const admin = (await t.addUser("admin")).api;
    expect(await codeOf(admin.chat.regenerate({ sessionId: s.id, messageId: answer.id }))).toBe("NOT_FOUND");
    expect((await admin.message.siblings({ messageId: answer.id })).items).toHaveLength(1);

    expect(await fieldErrorsOf(api.chat.regenerate({ sessionId: s.id, messageId: turn.userMessage.id }))).toEqual(["messageId"]);
    expect(await fieldErrorsOf(api.chat.edit({ sessionId: s.id, messageId: answer.id, query: "x" }))).toEqual(["messageId"]);
    expect(await fieldErrorsOf(api.chat.edit({ sessionId: s.id, messageId: turn.userMessage.id, query: "" }))).toEqual(["query"]);
    expect(await fieldErrorsOf(api.chat.edit({ sessionId: s.id, messageId: turn.userMessage.id, query: "   " }))).toEqual(["query"]);
    expect(await fieldErrorsOf(api.chat.edit({ sessionId: s.id, messageId: turn.userMessage.id, query: "x".repeat(16001) }))).toEqual(["query"]);
    expect(await fieldErrorsOf(api.chat.regenerate({ sessionId: s.id, messageId: "m1" }))).toEqual(["messageId"]);
    expect(await fieldErrorsOf(api.message.rate({ messageId: turn.userMessage.id, rating: "up" }))).toEqual(["messageId"]);
    expect(await fieldErrorsOf(api.message.rate({ messageId: answer.id, rating: "up", reason: "x".repeat(501) }))).toEqual(["reason"]);
    expect(await fieldErrorsOf(api.message.rate({ messageId: answer.id, rating: "meh" } as never))).toEqual(["rating"]);

    // At most 100 versions of a message: the 99 more stored here, one more is refused whole.
    await app.db.insert(messages).values(
      Array.from({ length: 99 }, () => ({ sessionId: s.id, tenantId: s.tenantId, userId: s.userId, requestId: randomUUID(), role: "assistant" as const, content: "old", status: "completed" as const, parentId: turn.userMessage.id })),
    );
    const before = await path(s.id);
    expect(before.at(-1)!.siblings).toEqual({ index: 1, count: 100 });
    expect(await fieldErrorsOf(api.chat.regenerate({ sessionId: s.id, messageId: answer.id }))).toEqual(["messageId"]);
    expect(await path(s.id)).toEqual(before);
    expect((await api.session.get({ id: s.id })).activeLeafId).toBe(answer.id);
    expect(await app.db.$count(messages, and(eq(messages.sessionId, s.id), eq(messages.parentId, turn.userMessage.id)))).toBe(100);
  });
});

describe("a regenerated or edited answer is an answer like any other", () => {
  it("counts against send's limit, and titles a session still untitled", async () => {
    const s = await api.session.create();
    const turn = await ask(api, s.id, "How do I export a chat as Markdown?");
    await api.session.update({ id: s.id, title: "" });
    const regenerated = await api.chat.regenerate({ sessionId: s.id, messageId: turn.assistantMessage.id });
    const events = await readAnswer(api, { sessionId: s.id, messageId: regenerated.assistantMessage.id });
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(["start", "answer", "title", "complete"]));
    expect((await api.session.get({ id: s.id })).title).not.toBe("");
    for (let used = 2; used < SEND_LIMIT; used++) {
      const edited = await api.chat.edit({ sessionId: s.id, messageId: turn.userMessage.id, query: `Version ${used}` });
      await readAnswer(api, { sessionId: s.id, messageId: edited.assistantMessage.id });
    }
    expect(await codeOf(api.chat.edit({ sessionId: s.id, messageId: turn.userMessage.id, query: "One too many" }))).toBe("TOO_MANY_REQUESTS");
    expect(await codeOf(api.chat.regenerate({ sessionId: s.id, messageId: turn.assistantMessage.id }))).toBe("TOO_MANY_REQUESTS");
    expect((await api.message.siblings({ messageId: turn.userMessage.id })).items).toHaveLength(SEND_LIMIT - 1);
  });
});

describe("feedback", () => {
  it("the owner rates answers (one rating each, null removes it); readers see it; admins count and filter by it", async () => {
    const owner = await createTestTenant(app);
    const member = await owner.addUser("member");
    const s = await member.api.session.create({ title: "rated" });
    const turn = await member.api.chat.send({ sessionId: s.id, query: "Rate me" });
    const answer = await finished(s.id, turn.assistantMessage, member.api);
    const plain = await member.api.session.create({ title: "not rated" });

    expect(await member.api.message.rate({ messageId: answer.id, rating: "down", reason: "  Too vague  " })).toMatchObject({ id: answer.id, feedback: { rating: "down", reason: "Too vague" } });
    expect((await path(s.id, owner.owner.api)).at(-1)!.feedback).toEqual({ rating: "down", reason: "Too vague" });
    expect((await owner.owner.api.admin.stats()).feedback).toEqual({ up: 0, down: 1 });
    expect((await owner.owner.api.admin.sessions({ feedback: "down" })).items.map((x) => x.id)).toEqual([s.id]);
    expect((await owner.owner.api.admin.sessions({})).items.map((x) => x.id).sort()).toEqual([s.id, plain.id].sort());
    // Admins read it but may not rate it.
    expect(await codeOf(owner.owner.api.message.rate({ messageId: answer.id, rating: "up" }))).toBe("FORBIDDEN");

    expect((await member.api.message.rate({ messageId: answer.id, rating: "up" })).feedback).toEqual({ rating: "up", reason: null });
    expect((await owner.owner.api.admin.stats()).feedback).toEqual({ up: 1, down: 0 });
    expect((await owner.owner.api.admin.sessions({ feedback: "down" })).items).toEqual([]);
    expect((await member.api.message.rate({ messageId: answer.id, rating: null })).feedback).toBeNull();
    expect((await owner.owner.api.admin.stats()).feedback).toEqual({ up: 0, down: 0 });
    // A rating older than 30 days is not counted.
    await member.api.message.rate({ messageId: answer.id, rating: "up" });
    await app.db.update(messages).set({ ratedAt: new Date(Date.now() - 31 * 86_400_000) }).where(eq(messages.id, answer.id));
    expect((await owner.owner.api.admin.stats()).feedback).toEqual({ up: 0, down: 0 });
  });
});

describe("the REST face over the tree", () => {
  it("load returns the active path with parent_id; knowledge-chat continues from the active leaf; deleting a turn moves what followed up", async () => {
    const server = await serveApp(app);
    try {
      const rest = async (method: string, path: string, body?: unknown) => {
        const res = await fetch(`${server.url}/api/v1${path}`, {
          method,
          headers: { "X-API-Key": apiKey, "content-type": "application/json" },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        return { status: res.status, text: await res.text() };
      };
      const load = async (sessionId: string) => (JSON.parse((await rest("GET", `/messages/${sessionId}/load?limit=100`)).text) as { data: { id: string; parent_id: string | null; content: string }[] }).data;
      const s = await api.session.create({ title: "rest" });
      const first = await api.chat.send({ sessionId: s.id, query: "REST one" });
      const a1 = await finished(s.id, first.assistantMessage);
      const regenerated = await api.chat.regenerate({ sessionId: s.id, messageId: a1.id });
      const a1b = await finished(s.id, regenerated.assistantMessage);

      expect((await load(s.id)).map((m) => [m.id, m.parent_id])).toEqual([
        [first.userMessage.id, null],
        [a1b.id, first.userMessage.id],
      ]);
      // The SSE answer of knowledge-chat is a turn after the active leaf.
      expect((await rest("POST", `/knowledge-chat/${s.id}`, { query: "REST two", disable_title: true })).status).toBe(200);
      const loaded = await load(s.id);
      expect(loaded.map((m) => m.parent_id)).toEqual([null, first.userMessage.id, a1b.id, loaded[2]!.id]);
      expect(loaded.map((m) => m.content).slice(0, 3)).toEqual(["REST one", a1b.content, "REST two"]);

      // Deleting the regenerated answer's turn: what followed it moves up to its question.
      expect((await rest("DELETE", `/messages/${s.id}/${a1b.id}`)).status).toBe(200);
      expect((await load(s.id)).map((m) => [m.id, m.parent_id])).toEqual([
        [first.userMessage.id, null],
        [loaded[2]!.id, first.userMessage.id],
        [loaded[3]!.id, loaded[2]!.id],
      ]);
      expect((await api.message.siblings({ messageId: a1.id })).items.map((m) => m.id)).toEqual([a1.id, loaded[2]!.id]);
      // Deleting the last message moves the leaf up to the message before it: the answer, then its question.
      expect((await rest("DELETE", `/messages/${s.id}/${loaded[3]!.id}`)).status).toBe(200);
      expect((await api.session.get({ id: s.id })).activeLeafId).toBe(loaded[2]!.id);
      expect((await rest("DELETE", `/messages/${s.id}/${loaded[2]!.id}`)).status).toBe(200);
      expect((await api.session.get({ id: s.id })).activeLeafId).toBe(first.userMessage.id);
      const [row] = await app.db.select({ leaf: sessions.activeLeafId }).from(sessions).where(eq(sessions.id, s.id));
      expect(row!.leaf).toBe(first.userMessage.id);
      // The next question continues from there, beside the remaining answer.
      const after = await api.chat.send({ sessionId: s.id, query: "After the delete" });
      expect(after.userMessage).toMatchObject({ parentId: first.userMessage.id, siblings: { index: 2, count: 2 } });
      await finished(s.id, after.assistantMessage);
    } finally {
      await server.close();
    }
  });
});
