import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestTenant, type TestTenant } from "../../../testing/app";
import { serveTestApp, type ServedTestApp } from "../../../testing/http";
import { answerText, readAll, readUntil, restClient } from "../../../testing/rest";

/**
 * WeKnora's chat routes (chat.ts) over real HTTP: knowledge-chat's SSE frames byte for byte,
 * Idempotency-Key, busy sessions, resuming with continue-stream, keep-alives, stop, and the
 * knowledge bases of one answer.
 */
let served: ServedTestApp;
let base: string;
let t: TestTenant;
let other: TestTenant;
let ownerKey: string;
/** A base of the test tenant holding Parley's handbook, so answers have references. */
let handbookKb: string;
const KEEP_ALIVE_MS = 150;
const { request, call, newSession, chat } = restClient(() => base, () => ownerKey);

beforeAll(async () => {
  // A natural pace leaves a window to resume mid-answer; one answer at a time lets a queued answer's stream be quiet.
  served = await serveTestApp({ PARLEY_OFFLINE_TOKEN_DELAY_MS: "12", PARLEY_MAX_CONCURRENT_ANSWERS: "1" }, { rest: { keepAliveMs: KEEP_ALIVE_MS } });
  base = `${served.url}/api/v1`;
  t = served.tenant;
  other = await createTestTenant(served.app);
  ownerKey = t.owner.apiKey;
  const kb = await t.owner.api.knowledge.bases.create({ name: "Handbook" });
  await t.owner.api.knowledge.documents.add({ knowledgeBaseId: kb.id, title: "Parley handbook", content: readFileSync("docs/handbook.md", "utf8"), mimeType: "text/markdown" });
  handbookKb = kb.id;
});
afterAll(() => served?.close());

describe("knowledge-chat and continue-stream", () => {
  it("streams WeKnora frames byte for byte in order, then closes; the text is the stored answer", async () => {
    const s = await newSession(ownerKey, { knowledge_base_id: handbookKb });
    const requestId = randomUUID();
    const res = await request("POST", `/knowledge-chat/${s.id}`, {
      body: { query: "How do I scale Parley out?", knowledge_ids: [], agent_enabled: false, channel: "api", mode: "x" },
      headers: { "Idempotency-Key": requestId },
    });
    const { frames } = await readAll(res);
    const types = frames.map((f) => f.payload.response_type);
    expect(types[0]).toBe("agent_query");
    expect(types.at(-1)).toBe("complete");
    expect(types).toContain("references");
    expect(types.indexOf("references")).toBeLessThan(types.indexOf("answer"));
    // session_title comes after every answer delta, just before the terminal frame.
    expect(types.at(-2)).toBe("session_title");
    expect(types.filter((x) => x === "agent_query" || x === "complete" || x === "session_title" || x === "references")).toHaveLength(4);
    const first = frames[0]!.payload;
    expect(first).toMatchObject({ id: requestId, done: true, session_id: s.id });
    const messageId = first.assistant_message_id as string;
    for (const f of frames) expect(f.payload.id).toBe(requestId);
    for (const f of frames.filter((x) => x.payload.response_type === "answer")) expect(f.payload.done).toBe(false);
    const last = frames.at(-1)!.payload;
    expect(last.done).toBe(true);
    expect((last.data as { total_duration_ms: number }).total_duration_ms).toBeGreaterThanOrEqual(0);
    const refs = frames.find((f) => f.payload.response_type === "references")!.payload.knowledge_references as Record<string, unknown>[];
    expect(refs[0]).toMatchObject({ id: expect.any(String), content: expect.any(String), knowledge_id: expect.any(String), knowledge_base_id: s.knowledge_base_id });
    expect([0, 1]).toContain(refs[0]!.match_type);
    // Event ids rise (the title frame repeats the id before the terminal one).
    const ids = frames.map((f) => f.id);
    expect([...ids].sort((a, b) => Number(a.split("-")[0]) - Number(b.split("-")[0]) || Number(a.split("-")[1]) - Number(b.split("-")[1]))).toEqual(ids);

    const loaded = await call("GET", `/messages/${s.id}/load`);
    expect(loaded.body.data.map((m: { role: string }) => m.role)).toEqual(["user", "assistant"]);
    const answer = loaded.body.data[1];
    expect(answer).toMatchObject({ id: messageId, request_id: requestId, session_id: s.id, is_completed: true, status: "completed" });
    expect(answer.content).toBe(answerText(frames));
    expect(answer.knowledge_references.length).toBe(refs.length);
    // The title was stored, and tRPC sees the same turn.
    expect((await call("GET", `/sessions/${s.id}`)).body.data.title).toBe(frames.at(-2)!.payload.content);
    const viaTrpc = await t.owner.api.message.list({ sessionId: s.id });
    expect(viaTrpc.items.map((m) => m.id)).toContain(messageId);

    // The same Idempotency-Key again is the same turn: nothing new starts, the answer is replayed.
    const again = await readAll(await request("POST", `/knowledge-chat/${s.id}`, { body: { query: "How do I scale Parley out?" }, headers: { "Idempotency-Key": requestId } }));
    expect(again.frames[0]!.payload.assistant_message_id).toBe(messageId);
    expect(answerText(again.frames)).toBe(answer.content);
    expect((await call("GET", `/messages/${s.id}/load`)).body.data).toHaveLength(2);
  });

  it("is 409 before any frame while the session is busy; the answer survives the client leaving; resumes from the start or after Last-Event-ID", async () => {
    const s = await newSession();
    const controller = new AbortController();
    const res = await request("POST", `/knowledge-chat/${s.id}`, { body: { query: "Explain how answers survive a reload" }, signal: controller.signal });
    const seen = await readUntil(res, (f) => f.filter((x) => x.payload.response_type === "answer").length >= 3, controller);
    const messageId = seen[0]!.payload.assistant_message_id as string;

    const busy = await call("POST", `/knowledge-chat/${s.id}`, { body: { query: "second" } });
    expect(busy.status).toBe(409);
    expect(busy.body).toMatchObject({ success: false, error: { code: 1005 } });

    // Mid-answer: exactly after the last frame received, then live to the end.
    const lastId = seen.at(-1)!.id;
    const rest = await readAll(await request("GET", `/sessions/continue-stream/${s.id}?message_id=${messageId}`, { headers: { "Last-Event-ID": lastId } }));
    expect(rest.frames.every((f) => f.payload.response_type !== "agent_query")).toBe(true);
    expect(rest.frames.at(-1)!.payload.response_type).toBe("complete");
    const stored = (await call("GET", `/messages/${s.id}/load`)).body.data[1].content as string;
    expect(answerText(seen) + answerText(rest.frames)).toBe(stored);

    // From the start (WeKnora's behaviour), after it finished.
    const all = await readAll(await request("GET", `/sessions/continue-stream/${s.id}?message_id=${messageId}`));
    expect(all.frames[0]!.payload.response_type).toBe("agent_query");
    expect(answerText(all.frames)).toBe(stored);
    // After it finished, from an id the client saw live in the middle (a replay merges the deltas).
    const mid = seen.filter((f) => f.payload.response_type === "answer")[1];
    const tail = await readAll(await request("GET", `/sessions/continue-stream/${s.id}?message_id=${messageId}`, { headers: { "Last-Event-ID": mid!.id } }));
    const upToMid = seen.slice(0, seen.indexOf(mid!) + 1);
    expect(answerText(upToMid) + answerText(tail.frames)).toBe(stored);
    expect(tail.frames.at(-1)!.payload.response_type).toBe("complete");
    // After the terminal frame: nothing more, the connection closes.
    expect((await readAll(await request("GET", `/sessions/continue-stream/${s.id}?message_id=${messageId}`, { headers: { "Last-Event-ID": all.frames.at(-1)!.id } }))).frames).toEqual([]);

    const unknown = await call("GET", `/sessions/continue-stream/${s.id}?message_id=${randomUUID()}`);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe(1003);
  });

  it("keeps a quiet stream alive with ':' comments (a queued answer waits its turn)", async () => {
    const a = await newSession();
    const b = await newSession();
    const first = request("POST", `/knowledge-chat/${a.id}`, { body: { query: "Tell me about knowledge bases in Parley", disable_title: true } });
    await new Promise((r) => setTimeout(r, 50));
    const queued = await readAll(await request("POST", `/knowledge-chat/${b.id}`, { body: { query: "hello", disable_title: true } }));
    expect(queued.comments).toBeGreaterThan(0);
    expect(queued.frames.at(-1)!.payload.response_type).toBe("complete");
    await readAll(await first);
  });

  it("stops an answer (Generation stopped, then Message already completed); the stream ends with stop", async () => {
    const s = await newSession();
    const controller = new AbortController();
    const res = await request("POST", `/knowledge-chat/${s.id}`, { body: { query: "Describe Parley's architecture in detail" }, signal: controller.signal });
    const seen = await readUntil(res, (f) => f.some((x) => x.payload.response_type === "answer"), controller);
    const messageId = seen[0]!.payload.assistant_message_id as string;
    const follower = request("GET", `/sessions/continue-stream/${s.id}?message_id=${messageId}`);
    const stopped = await call("POST", `/sessions/${s.id}/stop`, { body: { message_id: messageId } });
    expect(stopped.body).toEqual({ success: true, message: "Generation stopped" });
    const { frames } = await readAll(await follower);
    expect(frames.at(-1)!.payload).toMatchObject({ response_type: "stop", done: true });
    const again = await call("POST", `/sessions/${s.id}/stop`, { body: { message_id: messageId } });
    expect(again.body).toEqual({ success: true, message: "Message already completed" });
    expect((await call("GET", `/messages/${s.id}/load`)).body.data[1]).toMatchObject({ status: "stopped", is_completed: true });
  });

  it("uses knowledge_base_ids for this answer only, and disable_title makes no title", async () => {
    const kb = await t.owner.api.knowledge.bases.create({ name: `Zebras ${randomUUID().slice(0, 6)}` });
    await t.owner.api.knowledge.documents.add({
      knowledgeBaseId: kb.id,
      title: "Zebra care",
      content: "# Zebra care\n\nZebras need fresh hay twice a day and a dust bath for their stripes.",
      mimeType: "text/markdown",
    });
    const s = await newSession(ownerKey, { knowledge_base_id: null });
    expect(s.knowledge_base_id).toBeNull();
    const { frames } = await chat(s.id, "What do zebras need for their stripes?", { body: { knowledge_base_ids: [kb.id], disable_title: true } });
    const refs = frames.find((f) => f.payload.response_type === "references")?.payload.knowledge_references as { knowledge_base_id: string }[];
    expect(refs.length).toBeGreaterThan(0);
    expect(refs.every((r) => r.knowledge_base_id === kb.id)).toBe(true);
    expect(frames.some((f) => f.payload.response_type === "session_title")).toBe(false);
    const after = (await call("GET", `/sessions/${s.id}`)).body.data;
    expect(after).toMatchObject({ title: "", knowledge_base_id: null });
    expect(after.agent_config.knowledge_bases).toEqual([]);
    // Another tenant's base is not the caller's: a 400 naming the field, nothing stored.
    const otherKb = await other.owner.api.knowledge.bases.create({ name: "Theirs" });
    const refused = await call("POST", `/knowledge-chat/${s.id}`, { body: { query: "again", knowledge_base_ids: [otherKb.id] } });
    expect(refused.body.error).toMatchObject({ code: 1010, details: { field: "knowledge_base_ids" } });
    expect((await call("GET", `/messages/${s.id}/load`)).body.data).toHaveLength(2);
  });
});
