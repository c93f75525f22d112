import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openEventStream, serveTestApp, signInCookie, type ServedTestApp } from "../../testing/http";
import { answerText, framesOf, restClient } from "../../testing/rest";
import { waitFor } from "../../testing/wait";

/**
 * What WeKnora's other clients send, through the real server: the web app's JSON posted as
 * `text/event-stream`, the MCP client's enum spellings and Go's zero values, a message's `channel`,
 * and the Go SDK's one-message delete.
 */
let served: ServedTestApp;
let base: string;
let key: string;
const { call, chat: askRest } = restClient(() => base, () => key);

beforeAll(async () => {
  served = await serveTestApp();
  base = `${served.url}/api/v1`;
  key = (await served.tenant.addUser("member")).apiKey;
});
afterAll(() => served?.close());

const newSession = async (body: object = { title: "Clients" }) => {
  const res = await call("POST", "/sessions", { body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.data as { id: string; session_strategy: Record<string, unknown>; context_config: Record<string, unknown> };
};
/** Asks over knowledge-chat (no title) and reads the answer to its end. */
const chat = (sessionId: string, { query, ...body }: { query: string; channel?: string }) => askRest(sessionId, query, { body: { disable_title: true, ...body } });
const load = async (sessionId: string) => (await call("GET", `/messages/${sessionId}/load`)).body.data as { id: string; role: string; content: string; channel: string; agent_steps: unknown[]; parent_id: string | null }[];

describe("bodies whatever their Content-Type", () => {
  it("reads the web app's JSON posted as text/event-stream", async () => {
    const created = await call("POST", "/sessions", { body: { title: "From the web app" }, contentType: "text/event-stream;charset=utf-8" });
    expect(created.status).toBe(201);
    expect(created.body.data.title).toBe("From the web app");
    const res = await fetch(`${base}/knowledge-chat/${created.body.data.id}`, {
      method: "POST",
      headers: { "X-API-Key": key, "content-type": "text/event-stream;charset=utf-8" },
      body: JSON.stringify({ query: "Hello from the web app", disable_title: true }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    expect(await res.text()).toContain('"response_type":"complete"');
  });

  it("answers 400 for a body that is not JSON, whatever its type, and stores nothing", async () => {
    const before = (await call("GET", "/sessions")).body.total as number;
    for (const contentType of ["text/plain", "text/event-stream", "application/json"]) {
      const res = await call("POST", "/sessions", { raw: "title=nope", contentType });
      expect(res.status, contentType).toBe(400);
      expect(res.body.success).toBe(false);
    }
    expect((await call("GET", "/sessions")).body.total).toBe(before);
  });
});

describe("WeKnora's spellings and Go's zero values in a session's strategy", () => {
  it("takes FIXED_RESPONSE and MODEL in any case, and keeps the default for a zero or empty field", async () => {
    const mcp = await newSession({
      title: "MCP",
      session_strategy: { max_rounds: 0, enable_rewrite: true, fallback_strategy: "FIXED_RESPONSE", fallback_response: "", keyword_threshold: 0, vector_threshold: 0.7, rerank_model_id: "", embedding_top_k: 0 },
    });
    expect(mcp.session_strategy).toMatchObject({ fallback_strategy: "fixed", max_rounds: 5, keyword_threshold: 0.3, vector_threshold: 0.7, embedding_top_k: 10, rerank_model_id: null });
    expect(mcp.session_strategy.fallback_response).toBe("Sorry, I am unable to answer this question.");
    for (const [spelling, stored] of [["Model", "model"], ["fixed", "fixed"], ["fixed_response", "fixed"], ["MODEL", "model"]]) {
      expect((await newSession({ session_strategy: { fallback_strategy: spelling } })).session_strategy.fallback_strategy, spelling).toBe(stored);
    }
    expect((await newSession({ context_config: { compression_strategy: "SMART" } })).context_config.compression_strategy).toBe("smart");
  });

  it("still refuses a spelling it does not know (400, code 1010), changing nothing", async () => {
    const s = await newSession();
    const res = await call("PUT", `/sessions/${s.id}`, { body: { session_strategy: { fallback_strategy: "SOMETIMES" } } });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe(1010);
    expect((await call("GET", `/sessions/${s.id}`)).body.data.session_strategy.fallback_strategy).toBe("model");
  });
});

describe("a message's channel", () => {
  it("records the channel a client sends, api when it sends none, web from the browser; agent_steps is an empty list", async () => {
    const s = await newSession();
    await chat(s.id, { query: "Asked from a chat app", channel: "im" });
    await chat(s.id, { query: "Asked over the API" });
    const cookie = await signInCookie(served.url, key);
    const sent = await fetch(`${served.url}/api/trpc/chat.send`, {
      method: "POST",
      headers: { cookie, "content-type": "application/json" },
      body: JSON.stringify({ json: { sessionId: s.id, query: "Asked in the browser" } }),
    });
    expect(sent.status).toBe(200);
    const browserAnswer = ((await sent.json()) as { result: { data: { json: { assistantMessage: { id: string } } } } }).result.data.json.assistantMessage.id;
    await (await openEventStream(`${base}/sessions/continue-stream/${s.id}?message_id=${browserAnswer}`, { "X-API-Key": key })).ended;

    const messages = await load(s.id);
    expect(messages.map((m) => m.channel)).toEqual(["im", "im", "api", "api", "web", "web"]);
    for (const m of messages) expect(m.agent_steps).toEqual([]);
  });
});

describe("deleting one message", () => {
  it("removes exactly that message: its children move up to its parent, and the leaf too", async () => {
    const s = await newSession();
    await chat(s.id, { query: "First question" });
    await chat(s.id, { query: "Second question" });
    const [q1, a1, q2, a2] = await load(s.id);

    // The first answer goes; the second question now follows the first question.
    expect((await call("DELETE", `/messages/${s.id}/${a1!.id}`)).status).toBe(200);
    let left = await load(s.id);
    expect(left.map((m) => m.id)).toEqual([q1!.id, q2!.id, a2!.id]);
    expect(left.find((m) => m.id === q2!.id)!.parent_id).toBe(q1!.id);

    // The active leaf goes; the next question follows its parent.
    expect((await call("DELETE", `/messages/${s.id}/${a2!.id}`)).status).toBe(200);
    await chat(s.id, { query: "Third question" });
    left = await load(s.id);
    expect(left.map((m) => m.content).slice(0, 3)).toEqual(["First question", "Second question", "Third question"]);
    expect(left[2]!.parent_id).toBe(q2!.id);
    expect((await call("DELETE", `/messages/${s.id}/${a1!.id}`)).status).toBe(404);
  });

  it("refuses (409, code 1005) to delete a question while its answer streams, changing nothing", async () => {
    const server = await serveTestApp({ PARLEY_OFFLINE_TOKEN_DELAY_MS: "20" });
    try {
      const t = server.tenant;
      const headers = { "X-API-Key": t.owner.apiKey };
      const s = await t.owner.api.session.create({ title: "Busy" });
      const stream = await openEventStream(`${server.url}/api/v1/knowledge-chat/${s.id}`, headers, { query: "A long answer please", disable_title: true });
      const [question] = (await t.owner.api.message.list({ sessionId: s.id })).items;
      const res = await fetch(`${server.url}/api/v1/messages/${s.id}/${question!.id}`, { method: "DELETE", headers });
      expect(res.status).toBe(409);
      expect(((await res.json()) as { error: { code: number } }).error.code).toBe(1005);
      await stream.ended;
      expect((await t.owner.api.message.list({ sessionId: s.id })).items).toHaveLength(2);
    } finally {
      await server.close();
    }
  });
});

describe("X-Request-ID is a trace id; Idempotency-Key makes a retry the same turn", () => {
  const ask = (sessionId: string, query: string, headers: Record<string, string>) =>
    fetch(`${base}/knowledge-chat/${sessionId}`, { method: "POST", headers: { "X-API-Key": key, "content-type": "application/json", ...headers }, body: JSON.stringify({ query, disable_title: true }) });

  it("echoes X-Request-ID (making one when none came) and never replays a turn by it", async () => {
    const s = await newSession();
    const trace = "3f2a9c1e-0000-4000-8000-00000000beef";
    const first = await ask(s.id, "First question", { "X-Request-ID": trace });
    expect(first.headers.get("x-request-id")).toBe(trace);
    await first.text();
    // The Go SDK sends one X-Request-ID per context: a new question with it is a new turn.
    const second = await ask(s.id, "Second question", { "X-Request-ID": trace });
    expect(second.status).toBe(200);
    expect(await second.text()).toContain('"response_type":"complete"');
    expect((await load(s.id)).map((m) => m.content).filter((_, i) => i % 2 === 0)).toEqual(["First question", "Second question"]);
    const made = (await fetch(`${base}/sessions`, { headers: { "X-API-Key": key } })).headers.get("x-request-id");
    expect(made).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("streams the same answer for the same key and query, also while it streams; another query is 409 (1005); a key that is not a uuid is 400 (1010)", async () => {
    const server = await serveTestApp({ PARLEY_OFFLINE_TOKEN_DELAY_MS: "10" });
    try {
      const t = server.tenant;
      const s = await t.owner.api.session.create({ title: "Retries" });
      const url = `${server.url}/api/v1/knowledge-chat/${s.id}`;
      const headers = { "X-API-Key": t.owner.apiKey, "Idempotency-Key": "7d1c6a52-3b0e-4c58-9a7f-2f1c0b6e9d41" };

      const original = await openEventStream(url, headers, { query: "Tell me about sessions", disable_title: true });
      await waitFor(() => framesOf(original.messages).some((f) => f.payload.response_type === "answer"));
      // Retried while the answer still streams: recognised before the busy-session check.
      const retry = await openEventStream(url, headers, { query: "Tell me about sessions", disable_title: true });
      expect(retry.status).toBe(200);
      await Promise.all([original.ended, retry.ended]);
      const [retried, answered] = [framesOf(retry.messages), framesOf(original.messages)];
      expect(retried[0]!.payload.assistant_message_id).toBe(answered[0]!.payload.assistant_message_id);
      expect(answerText(retried)).toBe(answerText(answered));
      expect(retried.at(-1)!.payload.response_type).toBe("complete");

      const other = await fetch(url, { method: "POST", headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify({ query: "Something else" }) });
      expect(other.status).toBe(409);
      expect(((await other.json()) as { error: { code: number } }).error.code).toBe(1005);
      const badKey = await fetch(url, { method: "POST", headers: { ...headers, "Idempotency-Key": "retry-1", "content-type": "application/json" }, body: JSON.stringify({ query: "Something else" }) });
      expect(badKey.status).toBe(400);
      expect(((await badKey.json()) as { error: { code: number } }).error.code).toBe(1010);
      expect((await t.owner.api.message.list({ sessionId: s.id })).items).toHaveLength(2);
    } finally {
      await server.close();
    }
  });
});

describe("the frames WeKnora's web app reads", () => {
  it("puts the ids in agent_query's data, the title in session_title's data (done), each frame under an id of its own", async () => {
    const s = await newSession({});
    const stream = await openEventStream(`${base}/knowledge-chat/${s.id}`, { "X-API-Key": key }, { query: "How do folders work?" });
    await stream.ended;
    const frames = framesOf(stream.messages);
    const [first] = frames;
    expect(first!.payload).toMatchObject({ response_type: "agent_query", done: true, session_id: s.id });
    expect(first!.payload.data).toEqual({ session_id: s.id, assistant_message_id: first!.payload.assistant_message_id });
    const title = frames.at(-2)!;
    expect(title.payload).toMatchObject({ response_type: "session_title", done: true });
    expect(title.payload.data).toEqual({ session_id: s.id, title: title.payload.content });
    expect((await call("GET", `/sessions/${s.id}`)).body.data.title).toBe(title.payload.content);
    // Different events, different ids: the last delta and the title no longer share one.
    expect(new Set(frames.map((f) => f.id)).size).toBe(frames.length);
  });

  it("ends a stopped answer with reason user_requested (deleted for a deleted session) and the ids", async () => {
    const server = await serveTestApp({ PARLEY_OFFLINE_TOKEN_DELAY_MS: "20" });
    try {
      const t = server.tenant;
      const headers = { "X-API-Key": t.owner.apiKey, "content-type": "application/json" };
      for (const how of ["stop", "delete"] as const) {
        const s = await t.owner.api.session.create({ title: how });
        const stream = await openEventStream(`${server.url}/api/v1/knowledge-chat/${s.id}`, headers, { query: "A long answer please" });
        await waitFor(() => framesOf(stream.messages).some((f) => f.payload.response_type === "answer"));
        const messageId = framesOf(stream.messages)[0]!.payload.assistant_message_id as string;
        const res =
          how === "stop"
            ? await fetch(`${server.url}/api/v1/sessions/${s.id}/stop`, { method: "POST", headers, body: JSON.stringify({ message_id: messageId }) })
            : await fetch(`${server.url}/api/v1/sessions/${s.id}`, { method: "DELETE", headers });
        expect(res.status).toBe(200);
        await stream.ended;
        const last = framesOf(stream.messages).at(-1)!.payload;
        expect(last).toMatchObject({ response_type: "stop", done: true });
        expect(last.data).toEqual({ reason: how === "stop" ? "user_requested" : "deleted", session_id: s.id, message_id: messageId });
      }
    } finally {
      await server.close();
    }
  });
});
