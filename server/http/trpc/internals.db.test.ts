import { randomUUID } from "node:crypto";
import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../boot/app";
import { createTestTenant } from "../../testing/app";
import { ask } from "../../testing/answers";
import { serveTestApp, subscriptionUrl, trpcOwnResponse, type ServedTestApp } from "../../testing/http";
import { NEEDS_CALLER_MESSAGE } from "./trpc";
import { trpcErrorBody } from "./internals";

/*
 * What Parley writes in tRPC's wire format itself (internals.ts: refusals before the router runs,
 * subscription streams) against what tRPC's own adapter sends for the same request, byte for
 * byte: a tRPC upgrade that changes its format fails here.
 */

let app: App;
let server: ServedTestApp;
let key: string;
beforeAll(async () => {
  server = await serveTestApp();
  app = server.app;
  key = server.tenant.owner.apiKey;
});
afterAll(() => server?.close());

/** The same request answered by Parley's server and by tRPC's own adapter: status, body text and response. */
async function bothAnswer(path: string, init: RequestInit = {}) {
  const [parley, trpc] = await Promise.all([fetch(`${server.url}${path}`, init), trpcOwnResponse(app, new Request(`http://localhost${path}`, init))]);
  return { parley: { status: parley.status, text: await parley.text(), headers: parley.headers }, trpc: { status: trpc.status, text: await trpc.text(), headers: trpc.headers } };
}

describe("tRPC's wire format, as Parley writes it", () => {
  it("refuses an anonymous call before the router runs in the very bytes tRPC answers it with", async () => {
    const body = JSON.stringify({ json: { sessionId: randomUUID(), query: "Hello?" } });
    const { parley, trpc } = await bothAnswer("/api/trpc/chat.send", { method: "POST", headers: { "content-type": "application/json" }, body });
    expect(trpc.status).toBe(401);
    expect(parley).toMatchObject({ status: trpc.status, text: trpc.text });
    const error = new TRPCError({ code: "UNAUTHORIZED", message: NEEDS_CALLER_MESSAGE });
    expect(JSON.stringify(trpcErrorBody(error, ["chat.send"], false))).toBe(trpc.text);
  });

  it("refuses an anonymous batch with one error per call, as tRPC does", async () => {
    const body = JSON.stringify({ 0: { json: { sessionId: randomUUID(), query: "Hello?" } }, 1: { json: {} } });
    const { parley, trpc } = await bothAnswer("/api/trpc/chat.send,session.create?batch=1", { method: "POST", headers: { "content-type": "application/json" }, body });
    expect(trpc.status).toBe(401);
    expect(parley).toMatchObject({ status: trpc.status, text: trpc.text });
    const error = new TRPCError({ code: "UNAUTHORIZED", message: NEEDS_CALLER_MESSAGE });
    expect(JSON.stringify(trpcErrorBody(error, ["chat.send", "session.create"], true))).toBe(trpc.text);
  });

  it("answers a plain query or mutation itself in the status, headers and bytes of tRPC's adapter: results, domain errors, bad input, unparseable bodies", async () => {
    const json = { authorization: `Bearer ${key}`, "content-type": "application/json" };
    const post = (body: string) => ({ method: "POST", headers: json, body });
    const query = (path: string, input?: object) => (input ? `/api/trpc/${path}?input=${encodeURIComponent(JSON.stringify({ json: input }))}` : `/api/trpc/${path}`);
    const same = (answers: Awaited<ReturnType<typeof bothAnswer>>, status: number) => {
      expect(answers.trpc.status).toBe(status);
      expect(answers.parley.status).toBe(status);
      expect(answers.parley.text).toBe(answers.trpc.text);
      for (const [name, value] of answers.trpc.headers) expect([name, answers.parley.headers.get(name)]).toEqual([name, value]);
    };

    // Two new sessions: the same bytes but for their ids and times.
    const created = await bothAnswer("/api/trpc/session.create", post(JSON.stringify({ json: { title: "Bytes" } })));
    const fresh = (text: string) => text.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, "<id>").replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, "<time>");
    expect(created.parley.status).toBe(200);
    expect(fresh(created.parley.text)).toBe(fresh(created.trpc.text));
    const id = (JSON.parse(created.parley.text) as { result: { data: { json: { id: string } } } }).result.data.json.id;

    same(await bothAnswer(query("session.get", { id }), { headers: json }), 200);
    same(await bothAnswer(query("auth.me"), { headers: json }), 200);
    same(await bothAnswer(query("session.get", { id: randomUUID() }), { headers: json }), 404);
    same(await bothAnswer(query("session.get"), { headers: json }), 400);
    same(await bothAnswer("/api/trpc/session.create", post(JSON.stringify({ json: { title: 5 } }))), 400);
    same(await bothAnswer("/api/trpc/session.update", post("{")), 400);
    same(await bothAnswer("/api/trpc/session.update", post("")), 400);

    // Batches, as httpBatchLink sends them: each call's item in order; calls that differ are 207.
    const batchOf = (paths: string[], inputs: Record<number, object>) =>
      `/api/trpc/${paths.join(",")}?batch=1&input=${encodeURIComponent(JSON.stringify(Object.fromEntries(Object.entries(inputs).map(([i, input]) => [i, { json: input }]))))}`;
    same(await bothAnswer(batchOf(["session.get", "auth.me"], { 0: { id } }), { headers: json }), 200);
    same(await bothAnswer(batchOf(["session.get", "session.get"], { 0: { id }, 1: { id: randomUUID() } }), { headers: json }), 207);
    same(await bothAnswer(batchOf(["session.get"], { 0: { id: 7 } }), { headers: json }), 400);
    same(await bothAnswer("/api/trpc/session.get?batch=1&input=%5B1%5D", { headers: json }), 400);
    same(await bothAnswer("/api/trpc/session.update,session.delete?batch=1", post(JSON.stringify({ 0: { json: { id, title: 5 } }, 1: { json: { id: "not-a-uuid" } } }))), 400);
    const createdInBatch = await bothAnswer("/api/trpc/session.create?batch=1", post(JSON.stringify({ 0: { json: {} } })));
    expect(createdInBatch.parley.status).toBe(200);
    expect(fresh(createdInBatch.parley.text)).toBe(fresh(createdInBatch.trpc.text));
  });

  it("streams a subscription with tRPC's headers and bytes: tracked events, and errors (with their field errors)", async () => {
    const owner = (await createTestTenant(app)).owner;
    const session = await owner.api.session.create({});
    const turn = await ask(owner.api, session.id, "What is Parley?");
    const messageId = turn.assistantMessage.id;
    const headers = { authorization: `Bearer ${key}` };
    const ownerHeaders = { authorization: `Bearer ${owner.apiKey}` };
    const path = (input: object) => subscriptionUrl("", "chat.stream", input);

    const answer = await bothAnswer(path({ sessionId: session.id, messageId }), { headers: ownerHeaders });
    expect(answer.trpc.text).toMatch(/^event: connected\n/);
    expect(answer.trpc.text.match(/^id: /gm)!.length).toBeGreaterThan(1);
    expect(answer.parley.text).toBe(answer.trpc.text);
    expect(answer.parley.status).toBe(answer.trpc.status);
    for (const [name, value] of answer.trpc.headers) expect([name, answer.parley.headers.get(name)]).toEqual([name, value]);

    // Resumed after its second event: what follows, as tRPC resumes it.
    const lastEventId = [...answer.trpc.text.matchAll(/^id: (.*)$/gm)][1]![1]!;
    const resumed = await bothAnswer(path({ sessionId: session.id, messageId }), { headers: { ...ownerHeaders, "last-event-id": lastEventId } });
    expect(resumed.parley.text).toBe(resumed.trpc.text);

    // Another tenant's answer (NOT_FOUND), and input that fails validation (BAD_REQUEST naming its fields).
    for (const input of [{ sessionId: session.id, messageId }, { sessionId: "not-a-uuid", messageId: 7 }]) {
      const failed = await bothAnswer(path(input), { headers });
      expect(failed.trpc.text).toMatch(/\nevent: serialized-error\ndata: /);
      expect(failed.parley.text).toBe(failed.trpc.text);
    }
    // Input that is not JSON at all.
    const unreadable = await bothAnswer("/api/trpc/chat.stream?input=%7B", { headers });
    expect(unreadable.trpc.text).toMatch(/\nevent: serialized-error\ndata: .*BAD_REQUEST/);
    expect(unreadable.parley.text).toBe(unreadable.trpc.text);
  });
});
