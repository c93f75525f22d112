import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestTenant } from "../../../testing/app";
import { serveTestApp, type ServedTestApp } from "../../../testing/http";
import { restClient } from "../../../testing/rest";

/** WeKnora's session routes (sessions.ts) over real HTTP: create, get, update, list and search, pin, delete, title. */
let served: ServedTestApp;
let base: string;
let t: TestTenant;
let ownerKey: string;
const { call, newSession } = restClient(() => base, () => ownerKey);

beforeAll(async () => {
  served = await serveTestApp();
  base = `${served.url}/api/v1`;
  t = served.tenant;
  ownerKey = t.owner.apiKey;
});
afterAll(() => served?.close());

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
