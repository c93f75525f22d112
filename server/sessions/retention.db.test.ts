import { Writable } from "node:stream";
import { inArray } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { messages, sessions, shares } from "../../db/schema";
import type { App } from "../boot/app";
import type { StreamEvent } from "../chat/events";
import { defaultAgentConfig, defaultContextConfig, defaultStrategy, defaultSummaryParameters } from "../../common/settings";
import { createLogger } from "../platform/log";
import { existingKeys, keysOf } from "../testing/sessionKeys";
import { codeOf, createTestApp, createTestTenant, fieldErrorsOf } from "../testing/app";
import { ask } from "../testing/answers";
import { DELETE_BATCH } from "./removal";
import { markExpired } from "./sessions";
import { sweepExpiredSessions } from "./retention";

/**
 * Retention: a tenant's rules (`admin.tenant.get` / `.update`) and the sweep that applies them,
 * one at a time across instances, in batches, through the one deletion path, leaving no row and no
 * key of a session it deletes, and finishing what a sweep cut short left.
 */
const logText: string[] = [];
const capture = new Writable({
  write(chunk, _encoding, done) {
    logText.push(String(chunk));
    done();
  },
});
const batchLines = () =>
  logText
    .join("")
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => line.msg === "expired sessions deleted");

let app: App;
beforeAll(async () => {
  app = await createTestApp({}, { log: createLogger({ level: "info", destination: capture }) });
});
afterAll(() => app.close());

const DAY = 86_400_000;
/** Makes sessions look idle for `days`. */
const idleFor = (target: App, ids: string[], days: number) =>
  target.db.update(sessions).set({ updatedAt: new Date(Date.now() - days * DAY) }).where(inArray(sessions.id, ids));
const rowsOf = async (target: App, ids: string[]) => ({
  sessions: (await target.db.select({ id: sessions.id }).from(sessions).where(inArray(sessions.id, ids))).length,
  messages: (await target.db.select({ id: messages.id }).from(messages).where(inArray(messages.sessionId, ids))).length,
  shares: (await target.db.select({ id: shares.id }).from(shares).where(inArray(shares.sessionId, ids))).length,
});

/** `n` sessions of a user, idle for `days`, inserted at once. */
async function seedIdle(target: App, owner: { tenantId: string; userId: string }, n: number, days: number): Promise<string[]> {
  const at = new Date(Date.now() - days * DAY);
  const rows = await target.db
    .insert(sessions)
    .values(
      Array.from({ length: n }, (_, i) => ({
        ...owner,
        title: `idle ${i}`,
        strategy: defaultStrategy(),
        summaryParameters: defaultSummaryParameters(),
        agentConfig: defaultAgentConfig(),
        contextConfig: defaultContextConfig(),
        createdAt: at,
        updatedAt: at,
      })),
    )
    .returning({ id: sessions.id });
  return rows.map((r) => r.id);
}

/** A session with a conversation, a rating, a share and its keys in the store; returns its id and keys. */
async function lived(target: App, api: Awaited<ReturnType<Awaited<ReturnType<typeof createTestTenant>>["addUser"]>>["api"], title: string) {
  const s = await api.session.create({ title });
  const turn = await ask(api, s.id, "What does retention delete?");
  await api.message.rate({ messageId: turn.assistantMessage.id, rating: "down", reason: "too short" });
  const share = await api.share.create({ sessionId: s.id });
  return { id: s.id, keys: keysOf(target, s.id, [turn.assistantMessage.id]), share };
}

describe("admin.tenant", () => {
  it("has defaults, and owners and admins (not members) set retention and sharing", async () => {
    const t = await createTestTenant(app);
    const admin = await t.addUser("admin");
    const member = await t.addUser("member");
    expect(await t.owner.api.admin.tenant.get()).toEqual({ retentionDays: null, keepPinned: true, sharingEnabled: true });
    expect(await admin.api.admin.tenant.update({ retentionDays: 0.5 })).toEqual({ retentionDays: 0.5, keepPinned: true, sharingEnabled: true });
    expect(await t.owner.api.admin.tenant.update({ keepPinned: false })).toEqual({ retentionDays: 0.5, keepPinned: false, sharingEnabled: true });
    expect(await t.owner.api.admin.tenant.update({ retentionDays: null })).toMatchObject({ retentionDays: null });
    expect(await t.owner.api.admin.tenant.update({})).toEqual({ retentionDays: null, keepPinned: false, sharingEnabled: true });
    expect(await codeOf(member.api.admin.tenant.get())).toBe("FORBIDDEN");
    expect(await codeOf(member.api.admin.tenant.update({ retentionDays: 30 }))).toBe("FORBIDDEN");
    for (const days of [0, -1]) expect(await fieldErrorsOf(t.owner.api.admin.tenant.update({ retentionDays: days }))).toEqual(["retentionDays"]);
    expect((await t.owner.api.admin.tenant.get()).retentionDays).toBeNull();
  });
});

describe("the retention sweep", () => {
  it("deletes sessions idle past their tenant's retention with everything they own (rows, shares, feedback, keys), sparing pinned ones under keepPinned", async () => {
    const t = await createTestTenant(app);
    const other = await createTestTenant(app);
    const { api } = await t.addUser("member");
    const old = await lived(app, api, "old");
    const oldPinned = await lived(app, api, "old pinned");
    await api.session.update({ id: oldPinned.id, pinned: true });
    const oldArchived = await lived(app, api, "old archived");
    await api.session.update({ id: oldArchived.id, archived: true });
    const fresh = await lived(app, api, "fresh");
    const elsewhere = await lived(app, (await other.addUser("member")).api, "another tenant's");
    await idleFor(app, [old.id, oldPinned.id, oldArchived.id, elsewhere.id], 3);
    await t.owner.api.admin.tenant.update({ retentionDays: 2 });

    // The sweep covers the whole database, which the other suites of this run share: it may find
    // their sessions past a retention too. Its own two are checked row by row below.
    const result = await sweepExpiredSessions(app);
    expect(result?.retention).toBeGreaterThanOrEqual(2);
    expect(await rowsOf(app, [old.id, oldArchived.id])).toEqual({ sessions: 0, messages: 0, shares: 0 });
    expect(await existingKeys(app, [...old.keys, ...oldArchived.keys])).toEqual([]);
    for (const kept of [oldPinned, fresh, elsewhere]) expect(await rowsOf(app, [kept.id])).toEqual({ sessions: 1, messages: 2, shares: 1 });
    expect(await existingKeys(app, fresh.keys)).not.toEqual([]);

    await t.owner.api.admin.tenant.update({ keepPinned: false });
    expect(await sweepExpiredSessions(app)).toMatchObject({ retention: 1 });
    expect(await rowsOf(app, [oldPinned.id])).toEqual({ sessions: 0, messages: 0, shares: 0 });
    expect(await existingKeys(app, oldPinned.keys)).toEqual([]);
    expect(await rowsOf(app, [fresh.id, elsewhere.id])).toMatchObject({ sessions: 2 });
  });

  it("works in batches, logs one line per batch and counts what it deleted", async () => {
    const t = await createTestTenant(app);
    const { api } = await t.addUser("member");
    const me = await api.auth.me();
    const n = DELETE_BATCH + 50;
    const idle = await seedIdle(app, { tenantId: t.tenant.id, userId: me.user.id }, n, 10);
    await t.owner.api.admin.tenant.update({ retentionDays: 7 });
    const before = await app.metrics.registry.getSingleMetricAsString("parley_sessions_expired_total");
    logText.length = 0;

    expect(await sweepExpiredSessions(app)).toMatchObject({ retention: n, batches: 2 });
    expect(await rowsOf(app, idle)).toMatchObject({ sessions: 0 });
    expect(batchLines().map((line) => [line.reason, line.sessions])).toEqual([
      ["retention", DELETE_BATCH],
      ["retention", 50],
    ]);
    expect(batchLines().every((line) => typeof line.ms === "number")).toBe(true);
    const count = (text: string) => Number(/reason="retention"} (\d+)/.exec(text)?.[1] ?? 0);
    expect(count(await app.metrics.registry.getSingleMetricAsString("parley_sessions_expired_total")) - count(before)).toBe(n);
  });

  it("stops a running answer first: its followers get stop (deleted), and no row or key of the session is left", async () => {
    // Slow enough that the answer is still being written when the sweep comes.
    const slow = await createTestApp({ PARLEY_OFFLINE_TOKEN_DELAY_MS: "40" });
    try {
      const t = await createTestTenant(slow);
      const { api } = await t.addUser("member");
      const s = await api.session.create();
      const turn = await api.chat.send({ sessionId: s.id, query: "Explain in detail how answers survive a crashed instance" });
      const events: StreamEvent[] = [];
      let started!: () => void;
      const following = new Promise<void>((r) => (started = r));
      const reading = (async () => {
        for await (const [, event] of (await api.chat.stream({ sessionId: s.id, messageId: turn.assistantMessage.id })) as AsyncIterable<[string, StreamEvent]>) {
          events.push(event);
          if (event.type === "answer") started();
        }
      })();
      await following;
      await idleFor(slow, [s.id], 5);
      await t.owner.api.admin.tenant.update({ retentionDays: 1 });

      expect(await sweepExpiredSessions(slow)).toMatchObject({ retention: 1 });
      await reading;
      expect(events.at(-1)).toMatchObject({ type: "stop", reason: "deleted" });
      expect(slow.runner.running).toBe(0);
      expect(await rowsOf(slow, [s.id])).toEqual({ sessions: 0, messages: 0, shares: 0 });
      expect(await existingKeys(slow, keysOf(slow, s.id, [turn.assistantMessage.id]))).toEqual([]);
    } finally {
      await slow.close();
    }
  });

  it("finishes on the next run what a sweep cut short left: sessions only marked, or half through a step", async () => {
    const a = await createTestTenant(app);
    const b = await createTestTenant(app);
    const markedOnly = await lived(app, (await a.addUser("member")).api, "marked, then the sweep died");
    const { api } = await b.addUser("member");
    const halfway = [await lived(app, api, "halfway 1"), await lived(app, api, "halfway 2")];
    await idleFor(app, [markedOnly.id, ...halfway.map((s) => s.id)], 3);
    await a.owner.api.admin.tenant.update({ retentionDays: 2 });

    // A sweep killed right after marking its batch: gone for every reader, rows and keys still there.
    expect(await markExpired(app.db, { reason: "retention", tenantId: a.tenant.id, days: 2, keepPinned: true }, DELETE_BATCH)).toEqual([markedOnly.id]);
    expect(await codeOf(api.session.get({ id: markedOnly.id }))).toBe("NOT_FOUND");
    expect(await rowsOf(app, [markedOnly.id])).toEqual({ sessions: 1, messages: 2, shares: 1 });
    expect(await existingKeys(app, markedOnly.keys)).not.toEqual([]);

    // The next sweep finishes it, then dies half way through deleting the keys of b's batch (the store going away).
    await b.owner.api.admin.tenant.update({ retentionDays: 2 });
    const del = app.store.delInSlot.bind(app.store);
    const failing = vi.spyOn(app.store, "delInSlot").mockImplementation(async (keys) => {
      if (keys.some((key) => key.includes(halfway[1]!.id))) throw new Error("the store went away");
      return del(keys);
    });
    await expect(sweepExpiredSessions(app)).rejects.toThrow(/delete keys/);
    failing.mockRestore();
    expect(await rowsOf(app, [markedOnly.id])).toEqual({ sessions: 0, messages: 0, shares: 0 });
    expect(await existingKeys(app, markedOnly.keys)).toEqual([]);
    const ids = halfway.map((s) => s.id);
    expect(await rowsOf(app, ids)).toMatchObject({ sessions: 2, shares: 2 });
    expect(await existingKeys(app, halfway[1]!.keys)).not.toEqual([]);
    for (const id of ids) expect(await codeOf(api.session.get({ id }))).toBe("NOT_FOUND");

    // And the one after that finishes those.
    expect(await sweepExpiredSessions(app)).toMatchObject({ unfinished: 2, retention: 0 });
    expect(await rowsOf(app, ids)).toEqual({ sessions: 0, messages: 0, shares: 0 });
    expect(await existingKeys(app, halfway.flatMap((s) => s.keys))).toEqual([]);
  });

  it("runs one at a time: while one sweeps, another (on this instance or another sharing the store) does not", async () => {
    const servers = process.env.PARLEY_TEST_BACKEND === "servers";
    // On Postgres and Redis a second instance shares the lock; the embedded store is one instance's own.
    const second = servers ? await createTestApp({ PARLEY_REDIS_PREFIX: app.env.PARLEY_REDIS_PREFIX }) : app;
    try {
      const t = await createTestTenant(app);
      const me = await (await t.addUser("member")).api.auth.me();
      const idle = await seedIdle(app, { tenantId: t.tenant.id, userId: me.user.id }, 3 * DELETE_BATCH, 10);
      await t.owner.api.admin.tenant.update({ retentionDays: 1 });

      const first = sweepExpiredSessions(app);
      let sweeping = true;
      void first.finally(() => (sweeping = false));
      const attempts: (object | null)[] = [];
      while (sweeping) {
        const attempt = await sweepExpiredSessions(second);
        if (sweeping) attempts.push(attempt);
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(await first).toMatchObject({ retention: 3 * DELETE_BATCH, batches: 3 });
      expect(attempts.length).toBeGreaterThan(0);
      expect(attempts.every((attempt) => attempt === null)).toBe(true);
      // Once it is done, the lock is free again.
      expect(await sweepExpiredSessions(second)).toMatchObject({ retention: 0 });
      expect(await rowsOf(app, idle)).toMatchObject({ sessions: 0 });
    } finally {
      if (second !== app) await second.close();
    }
  });
});
