import { eq, inArray } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { messages, sessions } from "../../db/schema";
import type { App } from "../boot/app";
import { authenticate } from "../http/authenticate";
import { appRouter } from "../http/trpc/routers/_app";
import { createContext, fetchExchange } from "../http/trpc/trpc";
import { sweepExpiredSessions } from "../sessions/retention";
import { ask, readAnswer, textOf, type TrackedEvent } from "../testing/answers";
import { waitFor } from "../testing/wait";
import type { StreamEvent } from "./events";
import { callerFor, codeOf, createTestTenant, type TestCaller, type TestTenant } from "../testing/app";
import { serveTestApp, type ServedTestApp } from "../testing/http";

/**
 * Resuming a live answer from what the store holds about it (answerAccess.ts): its owner and the
 * tenant's admin follow it without a single use of the database; another user, another tenant, a
 * wrong session get Postgres' own NOT_FOUND, a revoked key is refused; without the key (and for a
 * finished answer) Postgres decides as before; and every deletion path deletes the key.
 */
let server: ServedTestApp;
let app: App;
let t: TestTenant;
beforeAll(async () => {
  // An answer runs for a few seconds: long enough to resume it live.
  server = await serveTestApp({ PARLEY_OFFLINE_TOKEN_DELAY_MS: "40" });
  app = server.app;
  t = server.tenant;
});
afterAll(() => server?.close());

/**
 * A tRPC caller with `apiKey` whose procedures get a database that counts every use (any property
 * read: a query, a transaction) and a store that names every method called, in order. Its caller
 * is resolved beforehand, as the server does before a procedure runs, so the count is the procedure's own.
 */
async function watchedCaller(apiKey: string): Promise<{ api: TestCaller; uses: () => number; storeCalls: string[] }> {
  let uses = 0;
  const storeCalls: string[] = [];
  const db = new Proxy(app.db, {
    get(target, property) {
      uses++;
      return Reflect.get(target, property) as unknown;
    },
  });
  const store = new Proxy(app.store, {
    get(target, property) {
      const value = Reflect.get(target, property) as unknown;
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        // A follower handed the first page it replays (Store.follow's fourth argument) shows it.
        storeCalls.push(property === "follow" && Array.isArray(args[3]) ? "follow from its first page" : String(property));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  const watched = new Proxy(app, { get: (target, property) => ({ db, store } as Record<PropertyKey, unknown>)[property] ?? (Reflect.get(target, property) as unknown) });
  const headers = new Headers({ authorization: `Bearer ${apiKey}` });
  const resolvedCaller = await authenticate(app, fetchExchange(headers, new Headers()), { calls: 0 });
  const api = appRouter.createCaller(() => createContext(watched, { ...fetchExchange(headers, new Headers()), resolvedCaller }));
  return { api, uses: () => uses, storeCalls };
}

/** A live answer in a new session of `api`'s user. */
async function liveAnswer(api: TestCaller) {
  const s = await api.session.create({ title: "resume" });
  const turn = await api.chat.send({ sessionId: s.id, query: "What is Parley?" });
  const answer = { sessionId: s.id, messageId: turn.assistantMessage.id };
  return { ...answer, access: app.keys.answerAccess(answer.sessionId, answer.messageId) };
}

const statusOf = async (messageId: string) => (await app.db.select({ status: messages.status }).from(messages).where(eq(messages.id, messageId)))[0]?.status;

/** The tRPC error a call ends with: its code and message. */
async function refusalOf(call: Promise<unknown>) {
  try {
    await call;
  } catch (error) {
    return { code: (error as { code?: string }).code, message: (error as Error).message };
  }
  throw new Error("the call was not refused");
}

describe("resuming a live answer", () => {
  it("its owner and the tenant's admin read it to its end without using the database", async () => {
    const member = await t.addUser("member");
    const admin = await t.addUser("admin");
    const answer = await liveAnswer(member.api);
    expect(await app.store.pttl(answer.access)).toBeGreaterThan(0);
    expect(await statusOf(answer.messageId)).toBe("streaming");
    const followers = [await watchedCaller(member.apiKey), await watchedCaller(admin.apiKey)];
    // Both attach while it is live (it runs for seconds), each from its first event.
    const read = await Promise.all(followers.map(({ api }) => readAnswer(api, answer)));
    for (const events of read) {
      expect(events[0]?.type).toBe("start");
      expect(events.at(-1)?.type).toBe("complete");
    }
    expect(textOf(read[1]!)).toBe(textOf(read[0]!));
    expect(followers.map(({ uses }) => uses())).toEqual([0, 0]);
  });

  it("a resume reads the access key, the lease and the stream's first page at once: its first event needs no other read, and it gets the rest once", async () => {
    const member = await t.addUser("member");
    const answer = await liveAnswer(member.api);
    const streamKey = app.keys.stream(answer.sessionId, answer.messageId);
    const before = await waitFor(async () => {
      const entries = await app.store.range(streamKey, null);
      return entries.length >= 4 ? entries : undefined;
    });
    const resumeId = before[1]!.id;
    const { api, uses, storeCalls } = await watchedCaller(member.apiKey);
    const read: TrackedEvent[] = [];
    let callsAtFirstEvent: string[] = [];
    for await (const [id, event] of (await api.chat.stream({ ...answer, lastEventId: resumeId })) as AsyncIterable<[string, StreamEvent]>) {
      if (read.length === 0) callsAtFirstEvent = [...storeCalls];
      read.push({ id, event });
    }
    // Issued together (one round trip on Redis); the follower replays the page it was handed.
    expect(callsAtFirstEvent).toEqual(["get", "get", "range", "follow from its first page"]);
    expect(uses()).toBe(0);
    const stored = await app.store.range(streamKey, resumeId);
    // Exactly what was stored after the resume id: answer deltas may come merged, under the last one's id.
    const storedIds = stored.map((entry) => entry.id);
    const positions = read.map(({ id }) => storedIds.indexOf(id));
    expect(positions.every((position, i) => position >= 0 && (i === 0 || position > positions[i - 1]!))).toBe(true);
    expect(textOf(read.map(({ event }) => event))).toBe(textOf(stored.map((entry) => entry.data as StreamEvent)));
    const others = (events: StreamEvent[]) => events.filter((event) => event.type !== "answer");
    expect(others(read.map(({ event }) => event))).toEqual(others(stored.map((entry) => entry.data as StreamEvent)));
    expect(read.at(-1)!.event.type).toBe("complete");
  });

  it("another user of the tenant, another tenant, a wrong session: Postgres' NOT_FOUND, the key present; a revoked key: refused", async () => {
    const member = await t.addUser("member");
    const colleague = await t.addUser("member");
    const stranger = (await createTestTenant(app)).owner;
    const answer = await liveAnswer(member.api);
    const elsewhere = await member.api.session.create({ title: "another" });
    const attempts = [
      () => colleague.api.chat.stream({ sessionId: answer.sessionId, messageId: answer.messageId }),
      () => stranger.api.chat.stream({ sessionId: answer.sessionId, messageId: answer.messageId }),
      () => member.api.chat.stream({ sessionId: elsewhere.id, messageId: answer.messageId }),
    ];
    const withKey = [];
    for (const attempt of attempts) withKey.push(await refusalOf(attempt()));
    expect(await app.store.pttl(answer.access)).toBeGreaterThan(0);
    expect(await statusOf(answer.messageId)).toBe("streaming");
    expect(withKey.map((r) => r.code)).toEqual(["NOT_FOUND", "NOT_FOUND", "NOT_FOUND"]);
    // Postgres alone says the same.
    await app.store.del(answer.access);
    const postgres = [];
    for (const attempt of attempts) postgres.push(await refusalOf(attempt()));
    expect(withKey).toEqual(postgres);

    const revoked = await liveAnswer(member.api);
    const [memberKey] = (await t.owner.api.admin.apiKeys.list({ userId: member.user.id })).items;
    await t.owner.api.admin.apiKeys.revoke({ id: memberKey!.id });
    expect(await app.store.pttl(revoked.access)).toBeGreaterThan(0);
    expect(await codeOf(callerFor(app, member.apiKey).chat.stream({ sessionId: revoked.sessionId, messageId: revoked.messageId }))).toBe("UNAUTHORIZED");
  });

  it("without its key it is read through Postgres as before; so is a finished answer", async () => {
    const member = await t.addUser("member");
    const answer = await liveAnswer(member.api);
    await app.store.del(answer.access);
    const { api, uses } = await watchedCaller(member.apiKey);
    const live = await readAnswer(api, answer);
    expect(live.at(-1)?.type).toBe("complete");
    expect(uses()).toBeGreaterThan(0);

    const finished = await ask(member.api, (await member.api.session.create({ title: "done" })).id, "What is Parley?");
    expect(await app.store.pttl(app.keys.answerAccess(finished.assistantMessage.sessionId, finished.assistantMessage.id))).toBeGreaterThan(0);
    const after = await watchedCaller(member.apiKey);
    const replayed = await readAnswer(after.api, { sessionId: finished.assistantMessage.sessionId, messageId: finished.assistantMessage.id });
    expect(textOf(replayed)).toBe(textOf(finished.events));
    expect(replayed.at(-1)).toEqual(finished.events.at(-1));
    expect(after.uses()).toBeGreaterThan(0);
  });

  it("REST continue-stream: the tenant's admin follows it; another user or tenant gets 404 (1003), the key present", async () => {
    const member = await t.addUser("member");
    const admin = await t.addUser("admin");
    const colleague = await t.addUser("member");
    const stranger = (await createTestTenant(app)).owner;
    const answer = await liveAnswer(member.api);
    const follow = (apiKey: string) => fetch(`${server.url}/api/v1/sessions/continue-stream/${answer.sessionId}?message_id=${answer.messageId}`, { headers: { "x-api-key": apiKey } });
    for (const refused of [colleague, stranger]) {
      const res = await follow(refused.apiKey);
      expect(res.status).toBe(404);
      expect(((await res.json()) as { error: { code: number } }).error.code).toBe(1003);
    }
    expect(await app.store.pttl(answer.access)).toBeGreaterThan(0);
    const res = await follow(admin.apiKey);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain('"response_type":"agent_query"');
    expect(text.trim().split("\n").at(-1)).toContain('"response_type":"complete"');
  });
});

describe("the access key goes with its session", () => {
  /** An answer read to its end in a new session of `api`'s user, and its access key, there now. */
  async function answered(api: TestCaller, options: { temporary?: boolean } = {}) {
    const s = await api.session.create({ title: "doomed", ...options });
    const turn = await ask(api, s.id, "What is Parley?");
    const access = app.keys.answerAccess(s.id, turn.assistantMessage.id);
    expect(await app.store.pttl(access)).toBeGreaterThan(0);
    return { sessionId: s.id, access };
  }
  const idle = (ids: string[]) => app.db.update(sessions).set({ updatedAt: new Date(Date.now() - 10 * 86_400_000) }).where(inArray(sessions.id, ids));

  it("on every deletion path: delete (mid-answer too), deleteMany, deleteMany all, clear, retention, a temporary chat's expiry", async () => {
    const tenant = await createTestTenant(app);
    const { api } = await tenant.addUser("member");
    const gone: string[] = [];

    const deleted = await answered(api);
    await api.session.delete({ id: deleted.sessionId });
    gone.push(deleted.access);

    const live = await liveAnswer(api);
    expect(await app.store.pttl(live.access)).toBeGreaterThan(0);
    await api.session.delete({ id: live.sessionId });
    expect(await codeOf(api.chat.stream({ sessionId: live.sessionId, messageId: live.messageId }))).toBe("NOT_FOUND");
    gone.push(live.access);

    const many = [await answered(api), await answered(api)];
    await api.session.deleteMany({ ids: many.map((s) => s.sessionId) });
    gone.push(...many.map((s) => s.access));

    const cleared = await answered(api);
    await api.session.clearMessages({ id: cleared.sessionId });
    gone.push(cleared.access);

    const retained = await answered(api);
    await idle([retained.sessionId]);
    await tenant.owner.api.admin.tenant.update({ retentionDays: 1 });
    expect(await sweepExpiredSessions(app)).toMatchObject({ retention: 1 });
    await tenant.owner.api.admin.tenant.update({ retentionDays: null });
    gone.push(retained.access);

    const temporary = await answered(api, { temporary: true });
    await idle([temporary.sessionId]);
    expect((await sweepExpiredSessions(app))?.temporary).toBeGreaterThanOrEqual(1);
    gone.push(temporary.access);

    const all = [await answered(api), await answered(api)];
    await api.session.deleteMany({ all: true });
    gone.push(...all.map((s) => s.access));

    for (const key of gone) expect(await app.store.pttl(key)).toBe(-2);
  });
});
