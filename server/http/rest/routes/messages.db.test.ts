import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../../boot/app";
import type { TestTenant } from "../../../testing/app";
import { waitForAnswerEnd } from "../../../testing/answers";
import { serveTestApp, type ServedTestApp } from "../../../testing/http";
import { readUntil, restClient } from "../../../testing/rest";

/** WeKnora's message routes (messages.ts) over real HTTP: load by time, delete one, search pairs. */
let served: ServedTestApp;
let app: App;
let base: string;
let t: TestTenant;
let ownerKey: string;
const { request, call, newSession, chat } = restClient(() => base, () => ownerKey);

beforeAll(async () => {
  // A natural pace, so that an answer is still streaming when a test deletes it.
  served = await serveTestApp({ PARLEY_OFFLINE_TOKEN_DELAY_MS: "12", PARLEY_MAX_CONCURRENT_ANSWERS: "1" });
  app = served.app;
  base = `${served.url}/api/v1`;
  t = served.tenant;
  ownerKey = t.owner.apiKey;
});
afterAll(() => served?.close());

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
    await waitForAnswerEnd(app, streaming);
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
