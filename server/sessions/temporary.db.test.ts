import { eq, inArray } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { messages, sessions } from "../../db/schema";
import type { App } from "../boot/app";
import { codeOf, createTestApp, createTestTenant, fieldErrorsOf, type TestTenant } from "../testing/app";
import { ask, readAnswer } from "../testing/answers";
import { serveTestApp, type ServedTestApp } from "../testing/http";
import { existingKeys as existing, keysOf } from "../testing/sessionKeys";
import { sweepExpiredSessions } from "./retention";

/**
 * Temporary chats: stored like any session (answers durable and resumable), never listed,
 * searched, shared or counted, deleted with everything they own when their lifetime after the
 * last activity ends, or at once by `session.delete`; `temporary: false` keeps one.
 */
let app: App;
let server: ServedTestApp;
let t: TestTenant;
beforeAll(async () => {
  server = await serveTestApp();
  app = server.app;
  t = server.tenant;
});
afterAll(() => server?.close());

const HOUR = 3_600_000;
const ids = (page: { items: { id: string }[] }) => page.items.map((s) => s.id);

describe("a temporary chat", () => {
  it("works like any session: it answers, streams and resumes, and expires PARLEY_TEMPORARY_HOURS after its last activity", async () => {
    const { api } = await t.addUser("member");
    const s = await api.session.create({ title: "scratch", temporary: true });
    expect(s.temporary).toBe(true);
    expect(s.expiresAt!.getTime() - s.updatedAt.getTime()).toBe(24 * HOUR);
    const { events } = await ask(api, s.id, "What is a temporary chat?");
    expect(events.at(-1)?.type).toBe("complete");
    const [, answer] = (await api.message.list({ sessionId: s.id })).items;
    expect(answer).toMatchObject({ role: "assistant", status: "completed" });
    const replay = await readAnswer(api, { sessionId: s.id, messageId: answer!.id });
    expect(replay.at(-1)?.type).toBe("complete");
    // Its activity moved its expiry with it.
    const after = await api.session.get({ id: s.id });
    expect(after.updatedAt.getTime()).toBeGreaterThan(s.updatedAt.getTime());
    expect(after.expiresAt!.getTime() - after.updatedAt.getTime()).toBe(24 * HOUR);
    // An ordinary session has no expiry.
    expect(await api.session.create()).toMatchObject({ temporary: false, expiresAt: null });
  });

  it("is never in the owner's list or its search (tRPC and REST), nor counted in admin.stats; admins see it marked", async () => {
    const tenant = await createTestTenant(app);
    const { api, apiKey } = await tenant.addUser("member");
    const ordinary = await api.session.create({ title: "ordinary okapi" });
    await ask(api, ordinary.id, "Tell me about the okapi");
    const stats = await tenant.owner.api.admin.stats();
    const temporary = await api.session.create({ title: "temporary okapi", temporary: true });
    await ask(api, temporary.id, "Tell me about the okapi");

    expect(ids(await api.session.list())).toEqual([ordinary.id]);
    expect((await api.session.list({ withTotal: true })).total).toBe(1);
    expect(ids(await api.session.list({ search: "okapi" }))).toEqual([ordinary.id]);
    expect(ids(await api.session.list({ archived: true }))).toEqual([]);
    const rest = await (await fetch(`${server.url}/api/v1/sessions`, { headers: { "X-API-Key": apiKey } })).json();
    expect(rest.data.map((s: { id: string }) => s.id)).toEqual([ordinary.id]);
    expect(rest.total).toBe(1);
    const turns = await (
      await fetch(`${server.url}/api/v1/messages/search`, { method: "POST", headers: { "X-API-Key": apiKey, "content-type": "application/json" }, body: JSON.stringify({ query: "okapi", mode: "keyword" }) })
    ).json();
    expect(turns.data.items.map((hit: { session_id: string }) => hit.session_id)).toEqual([ordinary.id]);

    const now = await tenant.owner.api.admin.stats();
    expect({ sessions: now.sessions, messages: now.messages, perDay: now.sessionsPerDay }).toEqual({ sessions: stats.sessions, messages: stats.messages, perDay: stats.sessionsPerDay });
    const listed = await tenant.owner.api.admin.sessions();
    expect(listed.items.map((s) => [s.id, s.temporary])).toEqual([
      [temporary.id, true],
      [ordinary.id, false],
    ]);
    // Everything else works: get, messages, export, settings.
    expect((await api.session.get({ id: temporary.id })).title).toBe("temporary okapi");
    expect((await api.message.list({ sessionId: temporary.id })).items).toHaveLength(2);
    expect((await api.session.export({ id: temporary.id, format: "markdown" })).content).toContain("# temporary okapi");
  });

  it("is kept as an ordinary session by temporary: false; nothing turns a session temporary", async () => {
    const { api } = await t.addUser("member");
    const s = await api.session.create({ temporary: true });
    expect(await fieldErrorsOf(api.session.update({ id: s.id, temporary: true as never }))).toEqual(["temporary"]);
    const kept = await api.session.update({ id: s.id, temporary: false });
    expect(kept).toMatchObject({ temporary: false, expiresAt: null });
    expect(ids(await api.session.list())).toEqual([s.id]);
    const ordinary = await api.session.create();
    expect(await fieldErrorsOf(api.session.update({ id: ordinary.id, temporary: true as never }))).toEqual(["temporary"]);
  });

  it("deleted by session.delete is gone at once: its URL is 404", async () => {
    const { api } = await t.addUser("member");
    const s = await api.session.create({ temporary: true });
    const turn = await ask(api, s.id, "Forget me");
    expect(await api.session.delete({ id: s.id })).toEqual({ id: s.id });
    expect(await codeOf(api.session.get({ id: s.id }))).toBe("NOT_FOUND");
    expect(await codeOf(api.message.list({ sessionId: s.id }))).toBe("NOT_FOUND");
    expect(await codeOf(readAnswer(api, { sessionId: s.id, messageId: turn.assistantMessage.id }))).toBe("NOT_FOUND");
    expect(await existing(app, keysOf(app, s.id, [turn.assistantMessage.id]))).toEqual([]);
  });
});

describe("expiry", () => {
  it("deletes a temporary chat idle past its lifetime with everything it owns: no row, no key", async () => {
    // About 1.1 s of lifetime; the sweep is called here rather than waited for.
    const short = await createTestApp({ PARLEY_TEMPORARY_HOURS: "0.0003" });
    try {
      const tenant = await createTestTenant(short);
      const { api } = await tenant.addUser("member");
      const doomed = await api.session.create({ temporary: true });
      const turns = [await ask(api, doomed.id, "First"), await ask(api, doomed.id, "Second")];
      const ordinary = await api.session.create();
      const doomedKeys = keysOf(short, doomed.id, turns.map((turn) => turn.assistantMessage.id));
      expect((await existing(short, doomedKeys)).length).toBeGreaterThanOrEqual(3); // context and both streams

      expect((await sweepExpiredSessions(short))?.temporary).toBe(0); // not yet
      const busy = await api.session.create({ temporary: true });
      await new Promise((r) => setTimeout(r, 1300));
      // Activity renews a chat's lifetime: this one was just used.
      await ask(api, busy.id, "Still here?");
      const result = await sweepExpiredSessions(short);
      expect(result).toMatchObject({ temporary: 1, retention: 0 });

      expect(await short.db.select().from(sessions).where(eq(sessions.id, doomed.id))).toEqual([]);
      expect(await short.db.select().from(messages).where(eq(messages.sessionId, doomed.id))).toEqual([]);
      expect(await existing(short, doomedKeys)).toEqual([]);
      expect(await codeOf(api.session.get({ id: doomed.id }))).toBe("NOT_FOUND");
      expect((await short.db.select({ id: sessions.id }).from(sessions).where(inArray(sessions.id, [ordinary.id, busy.id]))).length).toBe(2);
      expect(await short.metrics.registry.getSingleMetricAsString("parley_sessions_expired_total")).toMatch(/reason="temporary"} 1\b/);
    } finally {
      await short.close();
    }
  });

  it("is swept every PARLEY_RETENTION_SWEEP_SECONDS by the App itself", async () => {
    const swept = await createTestApp({ PARLEY_TEMPORARY_HOURS: "0.0001", PARLEY_RETENTION_SWEEP_SECONDS: "1" });
    try {
      const { api } = await (await createTestTenant(swept)).addUser("member");
      const s = await api.session.create({ temporary: true });
      // The session disappears for readers when the sweep marks it, and its row goes at the end of that sweep.
      const rowOf = () => swept.db.select().from(sessions).where(eq(sessions.id, s.id));
      const deadline = Date.now() + 10_000;
      while ((await rowOf()).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(await codeOf(api.session.get({ id: s.id }))).toBe("NOT_FOUND");
      expect(await rowOf()).toEqual([]);
    } finally {
      await swept.close();
    }
  });
});
