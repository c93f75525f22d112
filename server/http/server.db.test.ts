import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createParleyClient, followAnswer } from "../../client";
import type { App } from "../boot/app";
import { serveTestApp, trpcOwnResponse, type ServedTestApp } from "../testing/http";
import { MAX_BODY_BYTES, MAX_DOCUMENT_BODY_BYTES } from "./routes";

let app: App;
let server: ServedTestApp;
let key: string;
beforeAll(async () => {
  server = await serveTestApp();
  app = server.app;
  key = server.tenant.owner.apiKey;
});
afterAll(() => server?.close());

const auth = () => ({ authorization: `Bearer ${key}` });
/** A tRPC mutation body (superjson) padded to exactly `bytes` bytes. */
function paddedBody(bytes: number) {
  const head = '{"json":{"query":"';
  const tail = '"}}';
  return head + "x".repeat(bytes - head.length - tail.length) + tail;
}

describe("the fast-path server", () => {
  it("serves tRPC with batching and SSE subscriptions, as the client uses them", async () => {
    const client = createParleyClient({ url: server.url, apiKey: key });
    // Two calls in one tick travel as one batch.
    const [session, me] = await Promise.all([client.session.create.mutate({}), client.auth.me.query()]);
    expect(me.user.role).toBe("owner");
    const sent = await client.chat.send.mutate({ sessionId: session.id, query: "What is Parley?" });
    const events = [];
    for await (const event of followAnswer(client, { sessionId: session.id, messageId: sent.assistantMessage.id })) events.push(event.type);
    expect(events.at(-1)).toBe("complete");
    expect(events).toContain("answer");
  });

  it("streams a subscription in the very bytes tRPC's own SSE producer writes, errors included", async () => {
    const client = createParleyClient({ url: server.url, apiKey: key });
    const session = await client.session.create.mutate({});
    const sent = await client.chat.send.mutate({ sessionId: session.id, query: "What is Parley?" });
    const ids = { sessionId: session.id, messageId: sent.assistantMessage.id };
    for await (const event of followAnswer(client, ids)) if (event.type === "complete") break;
    const url = (input: object) => `${server.url}/api/trpc/chat.stream?input=${encodeURIComponent(JSON.stringify({ json: input }))}`;
    const res = await fetch(url(ids), { headers: auth() });
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    expect(res.headers.get("vary")).toBe("trpc-accept, accept");
    const text = await res.text();
    const events = [...text.matchAll(/^data: (.*)\nid: (.*)\n/gm)];
    expect(events.length).toBeGreaterThan(1);
    expect(text).toBe(await (await trpcOwnResponse(app, new Request(url(ids), { headers: auth() }))).text());
    const missing = await (await fetch(url({ ...ids, messageId: randomUUID() }), { headers: auth() })).text();
    expect(missing).toMatch(/^event: connected\ndata: \{"reconnectAfterInactivityMs":25000\}\n\n\nevent: serialized-error\ndata: .*"NOT_FOUND".*\n\n\n$/s);
  });

  it("sets the sign-in cookie on the response, and takes it back on later calls", async () => {
    const signIn = await fetch(`${server.url}/api/trpc/auth.signIn`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ json: { apiKey: key } }),
    });
    expect(signIn.status).toBe(200);
    const cookie = signIn.headers.getSetCookie()[0];
    expect(cookie).toMatch(/HttpOnly; SameSite=Lax/);
    const me = await fetch(`${server.url}/api/trpc/auth.me`, { headers: { cookie: cookie!.split(";")[0]! } });
    expect(me.status).toBe(200);
    expect((await fetch(`${server.url}/api/trpc/auth.me`)).status).toBe(401);
  });

  it("sends the security headers with APIs and pages, and hands pages to Next", async () => {
    for (const path of ["/api/health", "/api/trpc/auth.me", "/"]) {
      const res = await fetch(`${server.url}${path}`);
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("x-frame-options")).toBe("DENY");
      expect(res.headers.get("referrer-policy")).toBe("same-origin");
    }
    const page = await fetch(`${server.url}/knowledge?x=1`);
    expect(await page.text()).toBe("page: /knowledge?x=1");
    expect(page.headers.get("cache-control")).toBeNull();
  });

  it("answers an unknown API path and a wrong method with JSON errors", async () => {
    const unknown = await fetch(`${server.url}/api/nothing-here`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: "NOT_FOUND" } });
    // A prefix matches whole path segments only.
    expect((await fetch(`${server.url}/api/healthz`)).status).toBe(404);
    const wrongMethod = await fetch(`${server.url}/api/health`, { method: "DELETE" });
    expect(wrongMethod.status).toBe(405);
    expect(await wrongMethod.json()).toMatchObject({ error: { code: "METHOD_NOT_SUPPORTED" } });
  });

  it("mounts the WeKnora REST face at /api/v1: its envelopes, and its SSE frames streamed to the end", async () => {
    const v1 = `${server.url}/api/v1`;
    const created = await fetch(`${v1}/sessions`, { method: "POST", headers: { "x-api-key": key, "content-type": "application/json" }, body: "{}" });
    expect(created.status).toBe(201);
    const session = (await created.json()) as { success: boolean; data: { id: string } };
    expect(session.success).toBe(true);
    const chat = await fetch(`${v1}/knowledge-chat/${session.data.id}`, {
      method: "POST",
      headers: { "x-api-key": key, "content-type": "application/json" },
      body: JSON.stringify({ query: "What is Parley?" }),
    });
    expect(chat.status).toBe(200);
    expect(chat.headers.get("content-type")).toBe("text/event-stream");
    expect(chat.headers.get("x-content-type-options")).toBe("nosniff");
    const types = [...(await chat.text()).matchAll(/^data:(.*)$/gm)].map((m) => (JSON.parse(m[1]!) as { response_type: string }).response_type);
    expect(types[0]).toBe("agent_query");
    expect(types).toContain("answer");
    expect(types.at(-1)).toBe("complete");
    // A path under the prefix that the face does not know is its own 404 envelope, not the table's.
    const unknown = await fetch(`${v1}/nothing-here`, { headers: { "x-api-key": key } });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ success: false, error: { code: 1003 } });
    expect((await fetch(`${v1}/sessions`)).status).toBe(401);
  });

  it("answers readiness with the stores, liveness without them", async () => {
    const ready = await fetch(`${server.url}/api/health`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: "ok", db: app.dbHandle.kind });
    const live = await fetch(`${server.url}/api/health?live=1`);
    expect(live.status).toBe(200);
    expect(await live.json()).toEqual({ status: "ok" });
  });

  it("takes a call body of exactly 1 MB and refuses a larger one with 413; a document call may carry more", async () => {
    const call = (procedure: string, body: string) =>
      fetch(`${server.url}/api/trpc/${procedure}`, { method: "POST", headers: { ...auth(), "content-type": "application/json" }, body });
    // At the limit the body is read whole and reaches input validation (the query is too long).
    const atLimit = await call("chat.send", paddedBody(MAX_BODY_BYTES));
    expect(atLimit.status).toBe(400);
    const over = await call("chat.send", paddedBody(MAX_BODY_BYTES + 1));
    expect(over.status).toBe(413);
    expect((await over.json()).error.json.data.code).toBe("PAYLOAD_TOO_LARGE");
    const document = await call("knowledge.documents.add", paddedBody(MAX_DOCUMENT_BODY_BYTES));
    expect(document.status).toBe(400);
    expect((await call("knowledge.documents.add", paddedBody(MAX_DOCUMENT_BODY_BYTES + 1))).status).toBe(413);
  });
});
