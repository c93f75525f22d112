import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { messages, sessions } from "../../db/schema";
import type { App } from "../boot/app";
import type { StreamEvent } from "./events";
import { acquire, forAnswer, release } from "./lease";
import { interruptDeadAnswers } from "./recovery";
import { recordAnswerAccess } from "./answerAccess";
import { addStreamingTurn, codeOf, createTestApp, createTestTenant, fieldErrorsOf, type TestCaller } from "../testing/app";
import { ask, readAnswerWithIds, waitForAnswerEnd, type TrackedEvent } from "../testing/answers";

let app: App;
let api: TestCaller;
let t: Awaited<ReturnType<typeof createTestTenant>>;
beforeAll(async () => {
  app = await createTestApp();
  t = await createTestTenant(app);
  api = (await t.addUser("member")).api;
});
afterAll(() => app.close());

const textOf = (events: TrackedEvent[]) => events.flatMap((e) => (e.event.type === "answer" ? [e.event.delta] : [])).join("");
/** Every event but the answer deltas, with its id. */
const withoutAnswers = (events: TrackedEvent[]) => events.filter((e) => e.event.type !== "answer");

describe("chat.send → chat.stream", () => {
  it("returns at once, streams start, references, answer, title, complete; live = replay = stored", async () => {
    const kb = await api.knowledge.bases.create({ name: "Handbook" });
    const handbook = readFileSync("docs/handbook.md", "utf8");
    await api.knowledge.documents.add({ knowledgeBaseId: kb.id, title: "Parley handbook", content: handbook, mimeType: "text/markdown" });
    const s = await api.session.create({ knowledgeBaseId: kb.id });
    const turn = await api.chat.send({ sessionId: s.id, query: "How do I scale Parley out to several instances?" });
    expect(turn.userMessage).toMatchObject({ role: "user", status: "completed", content: "How do I scale Parley out to several instances?" });
    expect(turn.assistantMessage).toMatchObject({ role: "assistant", status: "streaming", content: "" });
    expect(turn.userMessage.createdAt.getTime()).toBeLessThan(turn.assistantMessage.createdAt.getTime());
    const live = await readAnswerWithIds(api, { sessionId: s.id, messageId: turn.assistantMessage.id });
    const types = live.map((e) => e.event.type);
    expect(types[0]).toBe("start");
    expect(types.at(-1)).toBe("complete");
    expect(types).toContain("references");
    expect(types.indexOf("references")).toBeLessThan(types.indexOf("answer"));
    expect(types).toContain("title");
    const start = live[0]!.event as Extract<StreamEvent, { type: "start" }>;
    expect(start).toMatchObject({ requestId: turn.requestId, sessionId: s.id, messageId: turn.assistantMessage.id });
    const complete = live.at(-1)!.event as Extract<StreamEvent, { type: "complete" }>;
    expect(complete.content).toBe(textOf(live));
    expect(complete.content.split(/(?<=[.!?])\s+/).length).toBeGreaterThanOrEqual(2);
    expect(complete.model).toMatch(/offline/i);
    expect(complete.usage?.completionTokens).toBeGreaterThan(0);
    // Replay after the fact equals what was live: the same events and text, ending on the same id
    // (delivery may merge answer deltas differently live and in a replay).
    const replay = await readAnswerWithIds(api, { sessionId: s.id, messageId: turn.assistantMessage.id });
    expect(withoutAnswers(replay)).toEqual(withoutAnswers(live));
    expect(textOf(replay)).toBe(textOf(live));
    const stored = (await api.message.list({ sessionId: s.id })).items;
    expect(stored.map((m) => m.role)).toEqual(["user", "assistant"]);
    expect(stored[1]).toMatchObject({ status: "completed", content: complete.content });
    expect(stored[1]!.references.length).toBeGreaterThan(0);
    const title = live.find((e) => e.event.type === "title")!.event as Extract<StreamEvent, { type: "title" }>;
    expect((await api.session.get({ id: s.id })).title).toBe(title.title);
    expect(title.title.split(/\s+/).length).toBeGreaterThanOrEqual(4);
    expect(title.title.split(/\s+/).length).toBeLessThanOrEqual(10);
  });

  it("resuming after every event id yields exactly the remaining events", async () => {
    const s = await api.session.create({ title: "resume" });
    const turn = await ask(api, s.id, "What happens when I reload during an answer?");
    // Every event as stored (delivery merges answer deltas): resuming after any of their ids yields
    // exactly the rest of the text and every later event as written.
    const all = (await app.store.range(app.keys.stream(s.id, turn.assistantMessage.id), null)).map(({ id, data }) => ({ id, event: data as StreamEvent }));
    expect(all.length).toBeGreaterThan(3);
    for (let i = 0; i < all.length; i++) {
      const rest = await readAnswerWithIds(api, { sessionId: s.id, messageId: turn.assistantMessage.id, lastEventId: all[i]!.id });
      expect(withoutAnswers(rest)).toEqual(withoutAnswers(all.slice(i + 1)));
      expect(textOf(rest)).toBe(textOf(all.slice(i + 1)));
      if (i < all.length - 1) expect(rest.at(-1)!.id).toBe(all.at(-1)!.id);
    }
    expect(await fieldErrorsOf(readAnswerWithIds(api, { sessionId: s.id, messageId: turn.assistantMessage.id, lastEventId: "bogus" }))).toEqual(["lastEventId"]);
  });

  it("completes with no subscriber, and moves the session to the top", async () => {
    const older = await api.session.create({ title: "older" });
    await api.session.create({ title: "newer" });
    const turn = await api.chat.send({ sessionId: older.id, query: "What is an API key?" });
    const row = await waitForAnswerEnd(app, turn.assistantMessage.id);
    expect(row.status).toBe("completed");
    expect(row.content.length).toBeGreaterThan(20);
    expect((await api.session.list()).items[0]!.id).toBe(older.id);
  });

  it("one answer at a time per session: CONFLICT; the same requestId returns the first turn", async () => {
    const slow = await createTestApp({ PARLEY_OFFLINE_TOKEN_DELAY_MS: "20" });
    try {
      const tt = await createTestTenant(slow);
      const s = await tt.owner.api.session.create({ title: "busy" });
      const requestId = randomUUID();
      const first = await tt.owner.api.chat.send({ sessionId: s.id, query: "Tell me about sessions", requestId });
      expect(await codeOf(tt.owner.api.chat.send({ sessionId: s.id, query: "And another thing" }))).toBe("CONFLICT");
      const again = await tt.owner.api.chat.send({ sessionId: s.id, query: "Tell me about sessions", requestId });
      expect(again.requestId).toBe(requestId);
      expect(again.userMessage.id).toBe(first.userMessage.id);
      expect(again.assistantMessage.id).toBe(first.assistantMessage.id);
      const other = await tt.owner.api.session.create();
      expect((await tt.owner.api.chat.send({ sessionId: other.id, query: "Parallel session" })).assistantMessage.status).toBe("streaming");
      expect((await tt.owner.api.message.list({ sessionId: s.id })).items).toHaveLength(2);
      await tt.owner.api.chat.stop({ sessionId: s.id, messageId: first.assistantMessage.id });
      const next = await tt.owner.api.chat.send({ sessionId: s.id, query: "Now it is free" });
      expect(next.assistantMessage.status).toBe("streaming");
      await tt.owner.api.chat.stop({ sessionId: s.id, messageId: next.assistantMessage.id });
    } finally {
      await slow.close();
    }
  });

  it("the session is free the moment the terminal event arrives: a follow-up send never conflicts", async () => {
    const s = await api.session.create({ title: "back to back" });
    for (let i = 0; i < 5; i++) {
      const turn = await api.chat.send({ sessionId: s.id, query: `Follow-up question ${i} about sessions` });
      const events = await readAnswerWithIds(api, { sessionId: s.id, messageId: turn.assistantMessage.id });
      expect(events.at(-1)!.event.type).toBe("complete");
    }
    const turn = await api.chat.send({ sessionId: s.id, query: "One to stop" });
    // Without a token delay the answer may finish first; either way the session is free after stop.
    expect(["stopped", "already_completed"]).toContain((await api.chat.stop({ sessionId: s.id, messageId: turn.assistantMessage.id })).status);
    expect((await api.chat.send({ sessionId: s.id, query: "Right after the stop" })).assistantMessage.status).toBe("streaming");
  });

  it("validates input: query 1..16000 characters, uuids, own sessions only", async () => {
    const s = await api.session.create({ title: "limits" });
    expect(await fieldErrorsOf(api.chat.send({ sessionId: s.id, query: "" }))).toEqual(["query"]);
    expect(await fieldErrorsOf(api.chat.send({ sessionId: s.id, query: "   " }))).toEqual(["query"]);
    expect(await fieldErrorsOf(api.chat.send({ sessionId: s.id, query: "x".repeat(16001) }))).toEqual(["query"]);
    expect(await fieldErrorsOf(api.chat.send({ sessionId: s.id, query: "q", requestId: "r1" }))).toEqual(["requestId"]);
    expect(await fieldErrorsOf(api.chat.send({ sessionId: "s", query: "q" }))).toEqual(["sessionId"]);
    expect((await api.message.list({ sessionId: s.id })).items).toEqual([]);
    const edge = await api.chat.send({ sessionId: s.id, query: "y".repeat(16000) });
    expect(edge.userMessage.content).toHaveLength(16000);
    await waitForAnswerEnd(app, edge.assistantMessage.id);
    expect(await codeOf(api.chat.send({ sessionId: randomUUID(), query: "q" }))).toBe("NOT_FOUND");
    const admin = await t.addUser("admin");
    expect(await codeOf(admin.api.chat.send({ sessionId: s.id, query: "not yours" }))).toBe("NOT_FOUND");
    expect(await codeOf(admin.api.chat.stop({ sessionId: s.id, messageId: edge.assistantMessage.id }))).toBe("NOT_FOUND");
    // Admins may watch any answer of their tenant.
    expect((await readAnswerWithIds(admin.api, { sessionId: s.id, messageId: edge.assistantMessage.id })).at(-1)?.event.type).toBe("complete");
    const other = await createTestTenant(app);
    expect(await codeOf(readAnswerWithIds(other.owner.api, { sessionId: s.id, messageId: edge.assistantMessage.id }))).toBe("NOT_FOUND");
    expect(await codeOf(readAnswerWithIds(api, { sessionId: s.id, messageId: edge.userMessage.id }))).toBe("NOT_FOUND");
  });
});

describe("chat.stop", () => {
  it("stops mid-answer, keeping what was written; the stream ends with stop", async () => {
    const slow = await createTestApp({ PARLEY_OFFLINE_TOKEN_DELAY_MS: "30" });
    try {
      const tt = await createTestTenant(slow);
      const s = await tt.owner.api.session.create({ title: "stop me" });
      const turn = await tt.owner.api.chat.send({ sessionId: s.id, query: "Explain how answers survive a crashed instance" });
      const events: TrackedEvent[] = [];
      const iterable = (await tt.owner.api.chat.stream({ sessionId: s.id, messageId: turn.assistantMessage.id })) as AsyncIterable<[string, StreamEvent]>;
      for await (const [id, event] of iterable) {
        events.push({ id, event });
        if (event.type === "answer" && events.filter((e) => e.event.type === "answer").length === 3) {
          expect(await tt.owner.api.chat.stop({ sessionId: s.id, messageId: turn.assistantMessage.id })).toEqual({ status: "stopped" });
        }
      }
      const last = events.at(-1)!.event;
      expect(last.type).toBe("stop");
      const stored = (await tt.owner.api.message.list({ sessionId: s.id })).items[1];
      expect(stored!.status).toBe("stopped");
      expect(stored!.content).toBe(textOf(events));
      expect((last as Extract<StreamEvent, { type: "stop" }>).content).toBe(stored!.content);
      expect(stored!.content.length).toBeGreaterThan(0);
      expect(await tt.owner.api.chat.stop({ sessionId: s.id, messageId: turn.assistantMessage.id })).toEqual({ status: "already_completed" });
    } finally {
      await slow.close();
    }
  });

  it("waits for the answer's terminal event and returns as soon as it arrives, from whichever instance writes it", async () => {
    const s = await api.session.create({ title: "stopped elsewhere" });
    const ends = [
      { terminal: { type: "stop", reason: "user", content: "Partial" }, row: "stopped", returns: "stopped" },
      { terminal: { type: "complete", content: "Partial", durationMs: 1, model: "m" }, row: "completed", returns: "already_completed" },
    ] as const;
    for (const { terminal, row, returns } of ends) {
      // An answer another instance runs: its row streams, the lease is that instance's, and only its stream tells this one it ended.
      const requestId = randomUUID();
      const messageId = randomUUID();
      await app.db.insert(messages).values([
        { sessionId: s.id, tenantId: s.tenantId, userId: s.userId, requestId, role: "user", content: "q", status: "completed" },
        { id: messageId, sessionId: s.id, tenantId: s.tenantId, userId: s.userId, requestId, role: "assistant", content: "", status: "streaming" },
      ]);
      const lease = forAnswer({ sessionId: s.id, messageId, instanceId: "elsewhere" });
      expect(await acquire(app, lease)).toBe(true);
      const streamKey = app.keys.stream(s.id, messageId);
      await app.store.append(streamKey, [{ type: "start", requestId, sessionId: s.id, messageId, model: "m" }, { type: "answer", delta: "Partial" }], 60);

      const stopping = api.chat.stop({ sessionId: s.id, messageId });
      const settled = vi.fn();
      stopping.then(settled, settled);
      await new Promise((r) => setTimeout(r, 300));
      expect(settled).not.toHaveBeenCalled();
      // That instance ends it as generate.ts does: the row, the lease, then the terminal event.
      await app.db.update(messages).set({ status: row, content: "Partial" }).where(eq(messages.id, messageId));
      expect(await release(app, lease)).toBe(true);
      const endedAt = performance.now();
      await app.store.append(streamKey, [terminal], 60);
      expect(await stopping).toEqual({ status: returns });
      expect(performance.now() - endedAt).toBeLessThan(1000);
    }
  });
});

describe("limits and lifecycle", () => {
  it("runs at most PARLEY_MAX_CONCURRENT_ANSWERS at once; the rest start in order", async () => {
    const pool = await createTestApp({ PARLEY_MAX_CONCURRENT_ANSWERS: "1", PARLEY_OFFLINE_TOKEN_DELAY_MS: "2" });
    try {
      const tt = await createTestTenant(pool);
      const turns = [];
      for (let i = 0; i < 3; i++) {
        const s = await tt.owner.api.session.create({ title: `q${i}` });
        turns.push({ s, turn: await tt.owner.api.chat.send({ sessionId: s.id, query: `Question number ${i} about sessions` }) });
      }
      expect(pool.runner.running).toBe(1);
      const starts: number[] = [];
      const ends: number[] = [];
      await Promise.all(
        turns.map(async ({ s, turn }, i) => {
          const iterable = (await tt.owner.api.chat.stream({ sessionId: s.id, messageId: turn.assistantMessage.id })) as AsyncIterable<[string, StreamEvent]>;
          for await (const [, event] of iterable) {
            if (event.type === "start") starts[i] = performance.now();
            if (event.type === "complete") ends[i] = performance.now();
          }
        }),
      );
      expect(starts[1]).toBeGreaterThanOrEqual(ends[0]!);
      expect(starts[2]).toBeGreaterThanOrEqual(ends[1]!);
    } finally {
      await pool.close();
    }
  });

  it("a finished answer whose stream expired streams as snapshot + complete", async () => {
    const short = await createTestApp({ STREAM_TTL_SECONDS: "1" });
    try {
      const tt = await createTestTenant(short);
      const s = await tt.owner.api.session.create({ title: "ttl" });
      const turn = await tt.owner.api.chat.send({ sessionId: s.id, query: "What is a session?" });
      const live = await readAnswerWithIds(tt.owner.api, { sessionId: s.id, messageId: turn.assistantMessage.id });
      expect(await short.store.pttl(short.keys.stream(s.id, turn.assistantMessage.id))).toBeGreaterThan(0);
      await new Promise((r) => setTimeout(r, 1300));
      expect(await short.store.pttl(short.keys.stream(s.id, turn.assistantMessage.id))).toBe(-2);
      const after = await readAnswerWithIds(tt.owner.api, { sessionId: s.id, messageId: turn.assistantMessage.id });
      expect(after.map((e) => e.event.type)).toEqual(["snapshot", "complete"]);
      expect(after[0]!.event).toMatchObject({ type: "snapshot", content: textOf(live) });
      expect(await readAnswerWithIds(tt.owner.api, { sessionId: s.id, messageId: turn.assistantMessage.id, lastEventId: after[0]!.id })).toEqual([after[1]]);
    } finally {
      await short.close();
    }
  });

  it("deleting sessions mid-answer stops their answers on the spot", async () => {
    const slow = await createTestApp({ PARLEY_OFFLINE_TOKEN_DELAY_MS: "30" });
    try {
      const tt = await createTestTenant(slow);
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const s = await tt.owner.api.session.create({ title: `doomed ${i}` });
        await tt.owner.api.chat.send({ sessionId: s.id, query: "Explain how answers survive a crashed instance" });
        ids.push(s.id);
      }
      expect(slow.runner.running).toBe(3);
      expect(await tt.owner.api.session.deleteMany({ ids })).toEqual({ deleted: 3 });
      // The answers would run for seconds more at 30 ms a word; stopped, they end within a second.
      const deadline = Date.now() + 1000;
      while (slow.runner.running > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(slow.runner.running).toBe(0);
    } finally {
      await slow.close();
    }
  });

  it("deleting or clearing a session removes its context and stream keys", async () => {
    const s = await api.session.create({ title: "cleanup" });
    const turn = await ask(api, s.id, "What is the LLM context?");
    const streamKey = app.keys.stream(s.id, turn.assistantMessage.id);
    expect(await app.store.pttl(streamKey)).toBeGreaterThan(0);
    expect(await app.store.pttl(app.keys.context(s.id))).toBeGreaterThan(0);
    await api.session.clearMessages({ id: s.id });
    expect(await app.store.pttl(streamKey)).toBe(-2);
    expect(await app.store.pttl(app.keys.context(s.id))).toBe(-2);
    const turn2 = await ask(api, s.id, "Again?");
    await api.session.delete({ id: s.id });
    expect(await app.store.pttl(app.keys.stream(s.id, turn2.assistantMessage.id))).toBe(-2);
    expect(await app.store.pttl(app.keys.context(s.id))).toBe(-2);
  });

  it("an answer whose instance died is marked interrupted with every streamed word, its stream ending in error", async () => {
    const s = await api.session.create({ title: "crashed" });
    const requestId = randomUUID();
    const messageId = randomUUID();
    const longAgo = new Date(Date.now() - 60_000);
    await app.db.insert(messages).values([
      { sessionId: s.id, tenantId: s.tenantId, userId: s.userId, requestId, role: "user", content: "q", status: "completed", createdAt: longAgo },
      { id: messageId, sessionId: s.id, tenantId: s.tenantId, userId: s.userId, requestId, role: "assistant", content: "Partial", status: "streaming", createdAt: new Date(longAgo.getTime() + 1), updatedAt: longAgo },
    ]);
    // What the dead instance had streamed, beyond its last row write.
    await app.store.append(
      app.keys.stream(s.id, messageId),
      [
        { type: "start", requestId, sessionId: s.id, messageId, model: "m" },
        { type: "answer", delta: "Partial" },
        { type: "answer", delta: " answer, cut" },
      ],
      60,
    );
    expect(await interruptDeadAnswers(app)).toBeGreaterThanOrEqual(1);
    const [row] = await app.db.select().from(messages).where(eq(messages.id, messageId));
    expect(row).toMatchObject({ status: "interrupted", content: "Partial answer, cut" });
    const events = await readAnswerWithIds(api, { sessionId: s.id, messageId });
    expect(events.at(-1)!.event).toMatchObject({ type: "error", stage: "instance" });
    expect(textOf(events)).toBe("Partial answer, cut");
    expect(await interruptDeadAnswers(app)).toBe(0);
  });

  it("an answer whose instance died between its final row and its terminal event: its followers end from the row", async () => {
    const s = await api.session.create({ title: "died at the end" });
    const { answerId: messageId, requestId } = await addStreamingTurn(app, s.id, "q", "");
    const lease = forAnswer({ sessionId: s.id, messageId, instanceId: "dead" });
    expect(await acquire(app, lease)).toBe(true);
    await recordAnswerAccess(app, { sessionId: s.id, messageId }, { tenantId: s.tenantId, userId: s.userId, requestId });
    const [startId] = await app.store.append(
      app.keys.stream(s.id, messageId),
      [
        { type: "start", requestId, sessionId: s.id, messageId, model: "m" },
        { type: "answer", delta: "Every word" },
      ],
      60,
    );
    const following = readAnswerWithIds(api, { sessionId: s.id, messageId });
    await new Promise((r) => setTimeout(r, 100));
    // The instance wrote the row, then died before its last batch and the terminal event reached the stream.
    await app.db.update(messages).set({ status: "completed", content: "Every word, kept", durationMs: 7 }).where(eq(messages.id, messageId));
    // A follower resuming while the dead instance's lease still holds follows the answer as live.
    const resuming = readAnswerWithIds(api, { sessionId: s.id, messageId, lastEventId: startId });
    await new Promise((r) => setTimeout(r, 100));
    await release(app, lease); // it lapses
    for (const events of await Promise.all([following, resuming])) {
      expect(textOf(events)).toBe("Every word, kept");
      expect(events.at(-1)!.event).toMatchObject({ type: "complete", content: "Every word, kept", durationMs: 7 });
    }
  }, 20_000);

  it("session.generateTitle titles from the first question and stores it", async () => {
    const s = await api.session.create();
    expect(await fieldErrorsOf(api.session.generateTitle({ id: s.id }))).toEqual(["id"]);
    const turn = await api.chat.send({ sessionId: s.id, query: "Could you please explain how to export a chat as Markdown?" });
    await waitForAnswerEnd(app, turn.assistantMessage.id);
    const { title } = await api.session.generateTitle({ id: s.id });
    expect(title.length).toBeLessThanOrEqual(100);
    expect(title.split(/\s+/).length).toBeGreaterThanOrEqual(4);
    expect(title.split(/\s+/).length).toBeLessThanOrEqual(10);
    expect(title.toLowerCase()).toContain("markdown");
    const [row] = await app.db.select().from(sessions).where(eq(sessions.id, s.id));
    expect(row!.title).toBe(title);
  });
});
