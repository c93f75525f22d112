import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { serve, type ServerType } from "@hono/node-server";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { messages } from "../../../db/schema";
import type { App } from "../../boot/app";
import { createTestApp, createTestTenant } from "../../testing/app";
import { serveApp } from "../../testing/http";
import { createRestApp } from "./index";

/**
 * WeKnora's REST face over real HTTP: every row of the contract's table, the envelope and codes,
 * the raw bytes of SSE frames, resuming, and isolation between tenants and members.
 */
let app: App;
let server: ServerType;
let base: string;
let t: Awaited<ReturnType<typeof createTestTenant>>;
let other: Awaited<ReturnType<typeof createTestTenant>>;
type TestUser = Awaited<ReturnType<Awaited<ReturnType<typeof createTestTenant>>["addUser"]>>;
let member: TestUser;
let admin: TestUser;
let ownerKey: string;
/** A base of the test tenant holding Parley's handbook, so answers have references. */
let handbookKb: string;
const KEEP_ALIVE_MS = 150;

beforeAll(async () => {
  // A natural pace leaves a window to resume mid-answer; one answer at a time lets a queued answer's stream be quiet.
  app = await createTestApp({ PARLEY_OFFLINE_TOKEN_DELAY_MS: "12", PARLEY_MAX_CONCURRENT_ANSWERS: "1" });
  t = await createTestTenant(app);
  other = await createTestTenant(app);
  member = await t.addUser("member");
  admin = await t.addUser("admin");
  ownerKey = t.owner.apiKey;
  const kb = await t.owner.api.knowledge.bases.create({ name: "Handbook" });
  await t.owner.api.knowledge.documents.add({ knowledgeBaseId: kb.id, title: "Parley handbook", content: readFileSync("docs/handbook.md", "utf8"), mimeType: "text/markdown" });
  handbookKb = kb.id;
  const rest = createRestApp(app, { keepAliveMs: KEEP_ALIVE_MS });
  server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: rest.fetch, hostname: "127.0.0.1", port: 0 }, () => resolve(s));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`;
});
afterAll(async () => {
  await new Promise((r) => server?.close(r));
  await app?.close();
});

interface CallOptions {
  key?: string | null;
  body?: unknown;
  raw?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

function request(method: string, path: string, o: CallOptions = {}) {
  const headers = new Headers(o.headers);
  if (o.key !== null) headers.set("X-API-Key", o.key ?? ownerKey);
  let body: string | undefined;
  if (o.raw !== undefined || o.body !== undefined) {
    body = o.raw ?? JSON.stringify(o.body);
    headers.set("content-type", "application/json");
  }
  return fetch(base + path, { method, headers, body, signal: o.signal });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function call(method: string, path: string, o: CallOptions = {}): Promise<{ status: number; headers: Headers; body: any }> {
  const res = await request(method, path, o);
  const text = await res.text();
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  return { status: res.status, headers: res.headers, body: JSON.parse(text) };
}

interface Frame {
  id: string;
  payload: { id: string; response_type: string; content: string; done: boolean; [k: string]: unknown };
}

/** Splits raw SSE text into frames, checking every frame's bytes; `:` comments are returned apart. */
function parseFrames(text: string): { frames: Frame[]; comments: number } {
  expect(text.endsWith("\n\n") || text === "").toBe(true);
  const blocks = text.split("\n\n").slice(0, -1);
  const frames: Frame[] = [];
  let comments = 0;
  for (const block of blocks) {
    if (block.startsWith(":")) {
      expect(block).toBe(":keep-alive");
      comments++;
      continue;
    }
    const match = /^id:(\d+-\d+)\nevent:message\ndata:(\{.*\})$/.exec(block);
    expect(match, `frame bytes: ${JSON.stringify(block)}`).not.toBeNull();
    frames.push({ id: match![1]!, payload: JSON.parse(match![2]!) });
  }
  return { frames, comments };
}

const answerText = (frames: Frame[]) => frames.filter((f) => f.payload.response_type === "answer").map((f) => f.payload.content).join("");

/** Reads a streaming response to its end (the server closes it after the terminal frame). */
async function readAll(res: Response) {
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toBe("text/event-stream");
  expect(res.headers.get("cache-control")).toBe("no-cache");
  expect(res.headers.get("x-accel-buffering")).toBe("no");
  return parseFrames(await res.text());
}

/** Reads frames until `enough` says so, then drops the connection (as a client that goes away). */
async function readUntil(res: Response, enough: (frames: Frame[]) => boolean, controller: AbortController) {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
    const complete = text.slice(0, text.lastIndexOf("\n\n") + 2);
    if (enough(parseFrames(complete).frames)) {
      controller.abort();
      return parseFrames(complete).frames;
    }
  }
  return parseFrames(text).frames;
}

async function waitDone(messageId: string) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const [row] = await app.db.select({ status: messages.status }).from(messages).where(eq(messages.id, messageId));
    if (row && row.status !== "streaming") return row.status;
    if (Date.now() > deadline) throw new Error(`${messageId} still streaming`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function newSession(key = ownerKey, body: unknown = {}) {
  const res = await call("POST", "/sessions", { key, body });
  expect(res.status).toBe(201);
  return res.body.data as { id: string; title: string; tenant_id: number; [k: string]: unknown };
}

/** Asks a question and reads the whole answer. */
async function chat(sessionId: string, query: string, o: CallOptions & { body?: Record<string, unknown> } = {}) {
  const res = await request("POST", `/knowledge-chat/${sessionId}`, { ...o, body: { query, ...(o.body as object) } });
  return readAll(res);
}

describe("auth, envelope and errors", () => {
  it("takes X-API-Key or Bearer; no key or a bad one is 401 code 1001", async () => {
    expect((await call("GET", "/sessions")).status).toBe(200);
    expect((await call("GET", "/sessions", { key: null, headers: { authorization: `Bearer ${ownerKey}` } })).status).toBe(200);
    for (const headers of [{}, { "X-API-Key": "pk_wrong" }, { authorization: "Bearer pk_wrong" }] as Record<string, string>[]) {
      const res = await call("GET", "/sessions", { key: null, headers });
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ success: false, error: { code: 1001 } });
    }
  });

  it("checks X-Tenant-ID against the tenant's integer number (403 code 1002)", async () => {
    expect(Number.isInteger(t.tenant.number)).toBe(true);
    expect(t.tenant.number).not.toBe(other.tenant.number);
    expect((await call("GET", "/sessions", { headers: { "X-Tenant-ID": String(t.tenant.number) } })).status).toBe(200);
    const res = await call("GET", "/sessions", { headers: { "X-Tenant-ID": String(other.tenant.number) } });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe(1002);
  });

  it("echoes X-Request-ID, errors included", async () => {
    expect((await call("GET", "/sessions", { headers: { "X-Request-ID": "abc-123" } })).headers.get("x-request-id")).toBe("abc-123");
    expect((await call("GET", "/sessions", { key: null, headers: { "X-Request-ID": "r-401" } })).headers.get("x-request-id")).toBe("r-401");
  });

  it("answers unknown /api/v1 paths with a JSON 404 envelope", async () => {
    for (const [method, path] of [["GET", "/nope"], ["POST", "/sessions/x/y/z"], ["PATCH", "/sessions"]]) {
      const res = await call(method!, path!);
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ success: false, error: { code: 1003 } });
    }
  });

  it("turns every malformed input into a 400 envelope naming the field (code 1010), never a 500", async () => {
    const s = await newSession();
    const cases: [string, string, CallOptions, string][] = [
      ["POST", "/sessions", { raw: "{bad json" }, "body"],
      ["POST", "/sessions", { raw: "[1,2]" }, "body"],
      ["POST", "/sessions", { body: { title: 5 } }, "title"],
      ["POST", "/sessions", { body: { title: "x".repeat(256) } }, "title"],
      ["POST", "/sessions", { body: { session_strategy: { max_rounds: 101 } } }, "session_strategy.max_rounds"],
      ["PUT", `/sessions/${s.id}`, { body: { description: ["no"] } }, "description"],
      ["GET", "/sessions/not-a-uuid", {}, "id"],
      ["GET", "/sessions?page=-1", {}, "page"],
      ["GET", "/sessions?page=abc", {}, "page"],
      ["GET", "/sessions?page_size=-1", {}, "page_size"],
      ["GET", "/sessions?page_size=2.5", {}, "page_size"],
      ["GET", `/messages/${s.id}/load?limit=0`, {}, "limit"],
      ["GET", `/messages/${s.id}/load?limit=101`, {}, "limit"],
      ["GET", `/messages/${s.id}/load?before_time=yesterday`, {}, "before_time"],
      ["GET", `/messages/${s.id}/load?before_time=2026-01-01`, {}, "before_time"],
      ["GET", "/messages/nope/load", {}, "session_id"],
      ["POST", `/knowledge-chat/${s.id}`, { body: {} }, "query"],
      ["POST", `/knowledge-chat/${s.id}`, { body: { query: "   " } }, "query"],
      ["POST", `/knowledge-chat/${s.id}`, { body: { query: "x".repeat(16001) } }, "query"],
      ["POST", `/knowledge-chat/${s.id}`, { body: { query: "hi", knowledge_base_ids: "kb" } }, "knowledge_base_ids"],
      ["POST", `/knowledge-chat/${s.id}`, { body: { query: "hi", knowledge_base_ids: [randomUUID()] } }, "knowledge_base_ids"],
      ["GET", `/sessions/continue-stream/${s.id}?message_id=x`, {}, "message_id"],
      ["GET", `/sessions/continue-stream/${s.id}?message_id=${randomUUID()}`, { headers: { "Last-Event-ID": "junk" } }, "last-event-id"],
      ["POST", `/sessions/${s.id}/stop`, { body: { message_id: 7 } }, "message_id"],
      ["DELETE", "/sessions/batch", { body: {} }, "ids"],
      ["DELETE", "/sessions/batch", { body: { ids: ["x"] } }, "ids.0"],
      ["DELETE", `/messages/${s.id}/x`, {}, "id"],
      ["POST", "/messages/search", { body: { query: "" } }, "query"],
      ["POST", "/messages/search", { body: { query: "a", limit: 101 } }, "limit"],
      ["POST", `/sessions/${s.id}/generate_title`, { body: { messages: "hi" } }, "messages"],
    ];
    for (const [method, path, o, field] of cases) {
      const res = await call(method, path, o);
      expect(res.status, `${method} ${path} ${JSON.stringify(o)}`).toBe(400);
      expect(res.body.success).toBe(false);
      expect(res.body.error.code).toBe(1010);
      expect(res.body.error.details.field, `${method} ${path}`).toBe(field);
    }
    // page_size at its edge is fine; 0 means the default (WeKnora's Go client sends page=0&page_size=0), above 1000 is 1000.
    expect((await call("GET", "/sessions?page_size=1000")).status).toBe(200);
    expect((await call("GET", "/sessions?page=0&page_size=0")).body).toMatchObject({ success: true, page: 1, page_size: 20 });
    expect((await call("GET", "/sessions?page_size=1001")).body).toMatchObject({ success: true, page: 1, page_size: 1000 });
    expect((await call("GET", `/messages/${s.id}/load?limit=100`)).status).toBe(200);
  });

  it("refuses a body over 1 MB with an envelope", async () => {
    // Through Parley's server, whose route table caps the face's bodies before the face runs;
    // on a connection of its own: the server answers before reading the body and closes it.
    const parley = await serveApp(app);
    try {
      const body = JSON.stringify({ description: "x".repeat(1024 * 1024 + 10) });
      const res = await new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = httpRequest(`${parley.url}/api/v1/sessions`, { method: "POST", agent: false, headers: { "content-type": "application/json", "x-api-key": ownerKey } }, (r) => {
          let text = "";
          r.on("data", (chunk) => (text += chunk));
          r.on("end", () => resolve({ status: r.statusCode ?? 0, text }));
        });
        req.on("error", reject);
        req.end(body);
      });
      expect(res.status).toBe(413);
      expect(JSON.parse(res.text)).toMatchObject({ success: false, error: { code: 1000, message: "The request body is larger than 1048576 bytes" } });
    } finally {
      await parley.close();
    }
  });

  it("serves its OpenAPI 3.1 document", async () => {
    const res = await fetch(`${base}/openapi.json`);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toBe("3.1.0");
    for (const path of ["/api/v1/sessions", "/api/v1/sessions/{id}", "/api/v1/knowledge-chat/{session_id}", "/api/v1/messages/search"]) {
      expect(Object.keys(doc.paths)).toContain(path);
    }
  });
});

describe("sessions", () => {
  it("creates (201, unknown fields ignored, legacy fields read), gets, updates with deep merge", async () => {
    const created = await call("POST", "/sessions", {
      body: {
        title: "Release notes",
        description: "d",
        knowledge_base_id: "",
        session_strategy: { max_rounds: 7, fallback_strategy: "fixed", no_match_prefix: "np", summary_parameters: { temperature: 0.9, thinking: true } },
        agent_config: { agent_mode_enabled: true, max_iterations: 9 },
        knowledge_ids: ["x"],
        agent_enabled: true,
        channel: "api",
      },
    });
    expect(created.status).toBe(201);
    const s = created.body.data;
    expect(created.body.success).toBe(true);
    expect(s).toMatchObject({ title: "Release notes", description: "d", tenant_id: t.tenant.number, user_id: t.owner.user.id, is_pinned: false, pinned_at: null });
    expect(s.session_strategy).toMatchObject({ max_rounds: 7, fallback_strategy: "fixed", enable_rewrite: true });
    expect(s.summary_parameters).toMatchObject({ temperature: 0.9, no_match_prefix: "np", max_completion_tokens: 2048 });
    expect(s.agent_config).toMatchObject({ agent_mode_enabled: true, knowledge_bases: [] });
    expect(s.agent_config.max_iterations).toBeUndefined();
    expect(s.context_config).toMatchObject({ max_tokens: 131072, compression_strategy: "sliding_window" });
    expect(new Date(s.created_at).toISOString()).toBe(s.created_at);

    const got = await call("GET", `/sessions/${s.id}`);
    expect(got.body).toEqual({ success: true, data: s });

    const updated = await call("PUT", `/sessions/${s.id}`, { body: { title: "Renamed", session_strategy: { max_rounds: 3 }, extra: 1 } });
    expect(updated.status).toBe(200);
    expect(updated.body.data).toMatchObject({ title: "Renamed", description: "d" });
    expect(updated.body.data.session_strategy).toMatchObject({ max_rounds: 3, fallback_strategy: "fixed" });
  });

  it("is the same session over tRPC, both ways", async () => {
    const s = await newSession(ownerKey, { title: "Shared" });
    const viaTrpc = await t.owner.api.session.get({ id: s.id });
    expect(viaTrpc).toMatchObject({ id: s.id, title: "Shared", tenantId: t.tenant.id, userId: t.owner.user.id });
    expect(viaTrpc.updatedAt.toISOString()).toBe(s.updated_at);
    const made = await t.owner.api.session.create({ title: "From tRPC" });
    expect((await call("GET", `/sessions/${made.id}`)).body.data).toMatchObject({ id: made.id, title: "From tRPC", tenant_id: t.tenant.number });
  });

  it("lists page by page in Parley's order (pinned first, then most recently updated) with total; keyword searches", async () => {
    const u = await t.addUser("member");
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await newSession(u.apiKey, { title: `list item ${i}` })).id);
    const pin = await call("POST", `/sessions/${ids[1]}/pin`, { key: u.apiKey });
    expect(pin.body).toEqual({ success: true, is_pinned: true });
    const expected = [ids[1], ids[4], ids[3], ids[2], ids[0]];

    const page1 = await call("GET", "/sessions?page=1&page_size=2", { key: u.apiKey });
    expect(page1.body).toMatchObject({ success: true, total: 5, page: 1, page_size: 2 });
    const page2 = await call("GET", "/sessions?page=2&page_size=2", { key: u.apiKey });
    const page3 = await call("GET", "/sessions?page=3&page_size=2", { key: u.apiKey });
    const seen = [...page1.body.data, ...page2.body.data, ...page3.body.data].map((s: { id: string }) => s.id);
    expect(seen).toEqual(expected);
    expect(page1.body.data[0].is_pinned).toBe(true);
    expect((await call("GET", "/sessions?page=9&page_size=2", { key: u.apiKey })).body).toMatchObject({ data: [], total: 5 });

    const defaults = await call("GET", "/sessions", { key: u.apiKey });
    expect(defaults.body).toMatchObject({ page: 1, page_size: 20, total: 5 });

    // Same order as tRPC's list.
    const trpc = await u.api.session.list({ limit: 100 });
    expect(trpc.items.map((s) => s.id)).toEqual(expected);

    await call("PUT", `/sessions/${ids[2]}`, { key: u.apiKey, body: { title: "Quarterly budget" } });
    const found = await call("GET", "/sessions?keyword=BUDGET", { key: u.apiKey });
    expect(found.body.data.map((s: { id: string }) => s.id)).toEqual([ids[2]]);
    expect(found.body.total).toBe(1);

    const unpin = await call("DELETE", `/sessions/${ids[1]}/pin`, { key: u.apiKey });
    expect(unpin.body).toEqual({ success: true, is_pinned: false });
  });

  it("deletes one, several, or all of the caller's own sessions", async () => {
    const u = await t.addUser("member");
    const [a, b, c, d] = [await newSession(u.apiKey), await newSession(u.apiKey), await newSession(u.apiKey), await newSession(u.apiKey)];
    expect(await call("DELETE", `/sessions/${a.id}`, { key: u.apiKey })).toMatchObject({ status: 200, body: { success: true, message: expect.any(String) } });
    expect((await call("GET", `/sessions/${a.id}`, { key: u.apiKey })).status).toBe(404);
    expect((await call("DELETE", `/sessions/${a.id}`, { key: u.apiKey })).body.error.code).toBe(1003);
    const batch = await call("DELETE", "/sessions/batch", { key: u.apiKey, body: { ids: [b.id, c.id] } });
    expect(batch.body).toMatchObject({ success: true, message: "2 sessions deleted" });
    const keep = await newSession(ownerKey);
    const all = await call("DELETE", "/sessions/batch", { key: u.apiKey, body: { delete_all: true } });
    expect(all.body).toMatchObject({ success: true, message: "1 sessions deleted" });
    expect((await call("GET", `/sessions/${d.id}`, { key: u.apiKey })).status).toBe(404);
    expect((await call("GET", `/sessions/${keep.id}`)).status).toBe(200);
  });

  it("titles a session from the given messages, else from its own first question", async () => {
    const s = await newSession();
    const fromBody = await call("POST", `/sessions/${s.id}/generate_title`, {
      body: { messages: [{ role: "assistant", content: "Hello" }, { role: "user", content: "How do I rotate API keys safely?", id: "x" }] },
    });
    expect(fromBody.status).toBe(200);
    expect(typeof fromBody.body.data).toBe("string");
    expect(fromBody.body.data.length).toBeGreaterThan(0);
    expect((await call("GET", `/sessions/${s.id}`)).body.data.title).toBe(fromBody.body.data);
    const empty = await newSession();
    const none = await call("POST", `/sessions/${empty.id}/generate_title`, { body: {} });
    expect(none.status).toBe(400);
  });
});

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

describe("messages", () => {
  it("loads pages before a time given with fractional seconds and any offset", async () => {
    const s = await newSession();
    await chat(s.id, "First question about pinning", { body: { disable_title: true } });
    await chat(s.id, "Second question about exports", { body: { disable_title: true } });
    const all = (await call("GET", `/messages/${s.id}/load?limit=20`)).body.data as { id: string; created_at: string; role: string }[];
    expect(all.map((m) => m.role)).toEqual(["user", "assistant", "user", "assistant"]);
    expect((await call("GET", `/messages/${s.id}/load?limit=2`)).body.data.map((m: { id: string }) => m.id)).toEqual([all[2]!.id, all[3]!.id]);
    // The third message's time as a Go client sends it: RFC3339Nano in a +08:00 zone.
    const at = new Date(all[2]!.created_at);
    const local = new Date(at.getTime() + 8 * 3600_000).toISOString().replace("Z", "").replace(/\.(\d{3})$/, ".$1000000") + "+08:00";
    const before = await call("GET", `/messages/${s.id}/load?limit=20&before_time=${encodeURIComponent(local)}`);
    expect(before.body.data.map((m: { id: string }) => m.id)).toEqual([all[0]!.id, all[1]!.id]);
    const utc = await call("GET", `/messages/${s.id}/load?before_time=${encodeURIComponent(all[1]!.created_at)}`);
    expect(utc.body.data.map((m: { id: string }) => m.id)).toEqual([all[0]!.id]);
  });

  it("deletes exactly that message, 409 while it streams, and drops the LLM context", async () => {
    const s = await newSession();
    await chat(s.id, "Keep this question", { body: { disable_title: true } });
    await chat(s.id, "Drop this question", { body: { disable_title: true } });
    const loaded = (await call("GET", `/messages/${s.id}/load`)).body.data as { id: string; content: string }[];
    expect(await app.store.get(app.keys.context(s.id))).not.toBeNull();
    const res = await call("DELETE", `/messages/${s.id}/${loaded[3]!.id}`);
    expect(res.body).toMatchObject({ success: true, message: expect.any(String) });
    const left = (await call("GET", `/messages/${s.id}/load`)).body.data as { id: string }[];
    // Only the answer goes; its question stays, now the session's last message.
    expect(left.map((m) => m.id)).toEqual([loaded[0]!.id, loaded[1]!.id, loaded[2]!.id]);
    expect(await app.store.get(app.keys.context(s.id))).toBeNull();
    expect((await call("DELETE", `/messages/${s.id}/${loaded[3]!.id}`)).status).toBe(404);

    const controller = new AbortController();
    const live = await request("POST", `/knowledge-chat/${s.id}`, { body: { query: "A long answer please", disable_title: true }, signal: controller.signal });
    const seen = await readUntil(live, (f) => f.some((x) => x.payload.response_type === "answer"), controller);
    const streaming = seen[0]!.payload.assistant_message_id as string;
    const busy = await call("DELETE", `/messages/${s.id}/${streaming}`);
    expect(busy.status).toBe(409);
    expect(busy.body.error.code).toBe(1005);
    await waitDone(streaming);
    expect((await call("DELETE", `/messages/${s.id}/${streaming}`)).status).toBe(200);
    expect((await call("GET", `/messages/${s.id}/load`)).body.data).toHaveLength(4);
  });

  it("searches question/answer pairs of the caller's sessions, best full-text score first", async () => {
    const u = await t.addUser("member");
    const a = await newSession(u.apiKey);
    const b = await newSession(u.apiKey);
    await chat(a.id, "Where do giraffes sleep at night?", { key: u.apiKey, body: { disable_title: true } });
    await chat(b.id, "Giraffes giraffes: do giraffes ever lie down?", { key: u.apiKey, body: { disable_title: true } });
    await chat(b.id, "Something unrelated about exports", { key: u.apiKey, body: { disable_title: true } });
    // Someone else's giraffe question never shows up.
    const mine = await newSession();
    await chat(mine.id, "giraffes in the owner's session", { body: { disable_title: true } });

    const found = await call("POST", "/messages/search", { key: u.apiKey, body: { query: "giraffes", mode: "hybrid" } });
    expect(found.status).toBe(200);
    const { items, total } = found.body.data;
    expect(total).toBe(2);
    expect(items.map((i: { session_id: string }) => i.session_id)).toEqual([b.id, a.id]);
    expect(items[0]).toMatchObject({ session_id: b.id, query_content: "Giraffes giraffes: do giraffes ever lie down?", answer_content: expect.any(String) });
    expect(items[0].score).toBeGreaterThan(items[1].score);
    expect(new Date(items[0].created_at).toISOString()).toBe(items[0].created_at);
    const limited = await call("POST", "/messages/search", { key: u.apiKey, body: { query: "giraffes", limit: 1 } });
    expect(limited.body.data).toMatchObject({ total: 2, items: [{ session_id: b.id }] });
    const scoped = await call("POST", "/messages/search", { key: u.apiKey, body: { query: "giraffes", session_ids: [a.id] } });
    expect(scoped.body.data.items.map((i: { session_id: string }) => i.session_id)).toEqual([a.id]);
  });
});

describe("isolation", () => {
  it("another tenant's session is a 404 envelope on every route; a member cannot reach another member's session", async () => {
    const s = await newSession();
    const { frames } = await chat(s.id, "Isolated question", { body: { disable_title: true } });
    const messageId = frames[0]!.payload.assistant_message_id as string;
    const routes: [string, string, unknown?][] = [
      ["GET", `/sessions/${s.id}`],
      ["PUT", `/sessions/${s.id}`, { title: "x" }],
      ["POST", `/sessions/${s.id}/pin`],
      ["DELETE", `/sessions/${s.id}/pin`],
      ["DELETE", `/sessions/${s.id}/messages`],
      ["POST", `/sessions/${s.id}/generate_title`, {}],
      ["POST", `/sessions/${s.id}/stop`, { message_id: messageId }],
      ["POST", `/knowledge-chat/${s.id}`, { query: "hi" }],
      ["GET", `/sessions/continue-stream/${s.id}?message_id=${messageId}`],
      ["GET", `/messages/${s.id}/load`],
      ["DELETE", `/messages/${s.id}/${messageId}`],
      ["DELETE", `/sessions/${s.id}`],
    ];
    for (const key of [other.owner.apiKey, member.apiKey]) {
      for (const [method, path, body] of routes) {
        const res = await call(method, path, { key, body });
        expect(res.status, `${method} ${path}`).toBe(404);
        expect(res.body.error.code).toBe(1003);
      }
      expect((await call("DELETE", "/sessions/batch", { key, body: { ids: [s.id] } })).body.message).toBe("0 sessions deleted");
      expect((await call("POST", "/messages/search", { key, body: { query: "isolated" } })).body.data.total).toBe(0);
      expect((await call("GET", "/sessions?keyword=isolated", { key })).body.total).toBe(0);
    }
    // An admin of the tenant reads any session of it (as over tRPC), but does not chat in it.
    expect((await call("GET", `/sessions/${s.id}`, { key: admin.apiKey })).status).toBe(200);
    expect((await call("GET", `/messages/${s.id}/load`, { key: admin.apiKey })).body.data).toHaveLength(2);
    expect((await call("POST", `/knowledge-chat/${s.id}`, { key: admin.apiKey, body: { query: "hi" } })).status).toBe(404);
    // The owner still has everything.
    expect((await call("GET", `/messages/${s.id}/load`)).body.data).toHaveLength(2);
  });
});
