import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { messages } from "../../db/schema";
import type { App } from "../boot/app";
import { startFakeOpenAI, type FakeOpenAI } from "../testing/fakeOpenai";
import { createOfflineModel } from "../platform/models/offline";
import { codeOf, createTestApp, createTestTenant, type TestCaller } from "../testing/app";
import { ask, readAnswer, textOf } from "../testing/answers";

/**
 * Bounded answers: a model stream that stalls, and one that runs past the answer's deadline, end
 * the answer as `failed` with an `error` event, freeing its slot and its session; the queue of
 * answers waiting for a slot is bounded. The model is the fake OpenAI server, made to stall.
 */
const IDLE_SECONDS = 0.5;
const MAX_SECONDS = 1.5;

let fake: FakeOpenAI;
let app: App;
let api: TestCaller;
beforeAll(async () => {
  fake = await startFakeOpenAI();
  app = await createTestApp({
    OPENAI_BASE_URL: fake.baseURL,
    OPENAI_API_KEY: "test-key",
    PARLEY_CHAT_MODEL: "fake-chat",
    PARLEY_MODEL_IDLE_SECONDS: String(IDLE_SECONDS),
    PARLEY_ANSWER_MAX_SECONDS: String(MAX_SECONDS),
  });
  api = (await createTestTenant(app)).owner.api;
});
afterAll(async () => {
  await app.close();
  await fake.close();
});

const rowOf = async (id: string) => (await app.db.select().from(messages).where(eq(messages.id, id)))[0];

describe("a model stream that stalls", () => {
  it("ends the answer as failed after PARLEY_MODEL_IDLE_SECONDS, keeping its words, closing the model request, freeing the slot and the session", async () => {
    fake.reply({ text: "One two three four five six seven eight.", failAfterChunks: 3, failWith: "stall" });
    const session = await api.session.create({ title: "stall" });
    const started = Date.now();
    const turn = await ask(api, session.id, "Tell me a story");
    const { events } = turn;
    const elapsed = (Date.now() - started) / 1000;

    expect(events.at(-1)).toEqual({ type: "error", stage: "generation", message: `The model sent nothing for ${IDLE_SECONDS} s` });
    expect(textOf(events)).toBe("One two three ");
    expect(elapsed).toBeGreaterThanOrEqual(IDLE_SECONDS);
    expect(elapsed).toBeLessThan(IDLE_SECONDS + 3);
    expect(await rowOf(turn.assistantMessage.id)).toMatchObject({ status: "failed", content: "One two three ", error: `The model sent nothing for ${IDLE_SECONDS} s` });
    // The abort reached the model server: the stalled request was closed, not left hanging.
    expect(await fake.requests.at(-1)!.closed).toBe("closed_early");
    expect(app.runner.running).toBe(0);

    // The session's lock is free: the next question answers.
    fake.reply({ text: "Fine now." });
    const next = await api.chat.send({ sessionId: session.id, query: "Again?" });
    expect((await readAnswer(api, { sessionId: session.id, messageId: next.assistantMessage.id })).at(-1)).toMatchObject({ type: "complete", content: "Fine now." });
  });
});

describe("an answer past PARLEY_ANSWER_MAX_SECONDS", () => {
  it("ends as failed at the deadline although tokens keep coming", async () => {
    // A token every 0.2 s (under the idle bound) for 5 s: only the deadline stops it.
    fake.reply({ text: Array.from({ length: 25 }, (_, i) => `w${i}`).join(" "), chunkDelayMs: 200 });
    const session = await api.session.create({ title: "deadline" });
    const started = Date.now();
    const turn = await ask(api, session.id, "Go on and on");
    const { events } = turn;
    const elapsed = (Date.now() - started) / 1000;

    expect(events.at(-1)).toEqual({ type: "error", stage: "generation", message: `The answer took longer than ${MAX_SECONDS} s` });
    expect(elapsed).toBeGreaterThanOrEqual(MAX_SECONDS);
    expect(elapsed).toBeLessThan(MAX_SECONDS + 3);
    const row = await rowOf(turn.assistantMessage.id);
    expect(row!.status).toBe("failed");
    expect(row!.content).toBe(textOf(events));
    expect(row!.content.length).toBeGreaterThan(0);
    expect(await fake.requests.at(-1)!.closed).toBe("closed_early");
    expect(app.runner.running).toBe(0);
  });
});

describe("the queue of answers waiting for a slot", () => {
  it("beyond PARLEY_MAX_QUEUED_ANSWERS, chat.send is TOO_MANY_REQUESTS and stores nothing", async () => {
    const small = await createTestApp({ PARLEY_MAX_CONCURRENT_ANSWERS: "1", PARLEY_MAX_QUEUED_ANSWERS: "1" });
    try {
      // The built-in model at a slow pace, so the first answer holds the only slot.
      small.models.chat = createOfflineModel({ tokenDelayMs: 200 });
      const owner = (await createTestTenant(small)).owner.api;
      const [a, b, c] = [await owner.session.create({}), await owner.session.create({}), await owner.session.create({})];
      const running = await owner.chat.send({ sessionId: a.id, query: "What is Parley?" });
      const queued = await owner.chat.send({ sessionId: b.id, query: "What is Parley?" });
      expect([small.runner.running, small.runner.queued]).toEqual([1, 1]);
      expect(await codeOf(owner.chat.send({ sessionId: c.id, query: "What is Parley?" }))).toBe("TOO_MANY_REQUESTS");
      expect(await small.db.select().from(messages).where(eq(messages.sessionId, c.id))).toEqual([]);
      const refused = await small.metrics.registry.getSingleMetricAsString("parley_rate_limited_total");
      expect(refused).toMatch(/parley_rate_limited_total\{limit="queue"\} 1/);
      // Once a place is free, the same send goes through.
      await owner.chat.stop({ sessionId: a.id, messageId: running.assistantMessage.id });
      expect(await codeOf(owner.chat.send({ sessionId: c.id, query: "What is Parley?" }))).toBe("OK");
      await owner.chat.stop({ sessionId: b.id, messageId: queued.assistantMessage.id });
    } finally {
      await small.close();
    }
  });
});
