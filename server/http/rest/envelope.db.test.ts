import { randomUUID } from "node:crypto";
import { request as httpRequest } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestTenant, type TestTenant, type TestUser } from "../../testing/app";
import { serveTestApp, type ServedTestApp } from "../../testing/http";
import { restClient, type RestCallOptions } from "../../testing/rest";

/**
 * WeKnora's REST face over real HTTP, through Parley's server, as a whole: keys, tenant header,
 * trace ids, the envelope and codes of every error, its OpenAPI document, and isolation between
 * tenants and members on every route. Each route file's own rows are in routes/*.db.test.ts.
 */
let served: ServedTestApp;
let base: string;
let t: TestTenant;
let other: TestTenant;
let member: TestUser;
let admin: TestUser;
let ownerKey: string;
const { call, newSession, chat } = restClient(() => base, () => ownerKey);

beforeAll(async () => {
  served = await serveTestApp();
  base = `${served.url}/api/v1`;
  t = served.tenant;
  other = await createTestTenant(served.app);
  member = await t.addUser("member");
  admin = await t.addUser("admin");
  ownerKey = t.owner.apiKey;
});
afterAll(() => served?.close());

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
    const cases: [string, string, RestCallOptions, string][] = [
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
    // Parley's server caps the face's bodies in its route table, before the face runs; on a
    // connection of its own: the server answers before reading the body and closes it.
    const body = JSON.stringify({ description: "x".repeat(1024 * 1024 + 10) });
    const res = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = httpRequest(`${base}/sessions`, { method: "POST", agent: false, headers: { "content-type": "application/json", "x-api-key": ownerKey } }, (r) => {
        let text = "";
        r.on("data", (chunk) => (text += chunk));
        r.on("end", () => resolve({ status: r.statusCode ?? 0, text }));
      });
      req.on("error", reject);
      req.end(body);
    });
    expect(res.status).toBe(413);
    expect(JSON.parse(res.text)).toMatchObject({ success: false, error: { code: 1000, message: "The request body is larger than 1048576 bytes" } });
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
