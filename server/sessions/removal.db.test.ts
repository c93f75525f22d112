import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createParleyClient, followAnswer } from "../../client";
import type { App } from "../boot/app";
import type { StreamEvent } from "../chat/events";
import { createTestApp, createTestTenant } from "../testing/app";
import { ask } from "../testing/answers";
import { serveTestApp, type ServedTestApp } from "../testing/http";

/**
 * Deleting sessions: every subscriber of an answer that was running ends with `stop` (reason
 * `deleted`), the producer stops, and the store's keys of exactly those sessions go, found from
 * Postgres (never by scanning the keyspace).
 */
let app: App;
let server: ServedTestApp;
beforeAll(async () => {
  // Slow enough that an answer runs for many seconds unless something stops it.
  server = await serveTestApp({ PARLEY_OFFLINE_TOKEN_DELAY_MS: "40" });
  app = server.app;
});
afterAll(() => server?.close());

/** Resolves with what `read` gave, or rejects after `ms` (a subscriber that never ends). */
function within<T>(ms: number, read: Promise<T>): Promise<T> {
  return Promise.race([read, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`still waiting after ${ms} ms`)), ms))]);
}

describe("deleting or clearing a session mid-answer", () => {
  it.each(["delete", "clear"] as const)("%s: ends the tRPC, SDK and REST subscribers with stop/deleted, and the producer stops", async (removal) => {
    const t = await createTestTenant(app);
    const s = await t.owner.api.session.create({ title: "doomed" });
    const turn = await t.owner.api.chat.send({ sessionId: s.id, query: "Explain how answers survive a crashed instance" });
    const input = { sessionId: s.id, messageId: turn.assistantMessage.id };

    // Each subscriber reports its first event, so the delete comes while all three follow live.
    const started: Promise<void>[] = [];
    const follower = <T>(read: (first: () => void) => Promise<T>) => {
      let first!: () => void;
      started.push(new Promise<void>((r) => (first = r)));
      return read(first);
    };
    const trpc = follower(async (first) => {
      const events: StreamEvent[] = [];
      for await (const [, event] of (await t.owner.api.chat.stream(input)) as AsyncIterable<[string, StreamEvent]>) {
        events.push(event);
        first();
      }
      return events;
    });
    const sdk = follower(async (first) => {
      const events: StreamEvent[] = [];
      for await (const event of followAnswer(createParleyClient({ url: server.url, apiKey: t.owner.apiKey }), input)) {
        events.push(event);
        first();
      }
      return events;
    });
    const rest = follower(async (first) => {
      const res = await fetch(`${server.url}/api/v1/sessions/continue-stream/${s.id}?message_id=${input.messageId}`, {
        headers: { "X-API-Key": t.owner.apiKey },
      });
      let text = "";
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
        text += chunk.value;
        first();
      }
      return text;
    });
    await within(10_000, Promise.all(started));
    if (removal === "delete") await t.owner.api.session.delete({ id: s.id });
    else expect(await t.owner.api.session.clearMessages({ id: s.id })).toEqual({ deleted: 2 });

    const [viaTrpc, viaSdk, viaRest] = await within(5000, Promise.all([trpc, sdk, rest]));
    expect(viaTrpc.at(-1)).toMatchObject({ type: "stop", reason: "deleted" });
    expect(viaSdk.at(-1)).toMatchObject({ type: "stop", reason: "deleted" });
    expect(viaRest.trim().split("\n").at(-1)).toContain('"response_type":"stop"');
    expect(viaRest).toContain('"reason":"deleted"');
    const deadline = Date.now() + 2000;
    while (app.runner.running > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(app.runner.running).toBe(0);
    if (removal === "clear") {
      // The session stays, empty, and takes a new question once the stopped answer has let it go.
      expect(await t.owner.api.message.list({ sessionId: s.id })).toMatchObject({ items: [] });
      const again = await t.owner.api.chat.send({ sessionId: s.id, query: "Hello again" });
      await t.owner.api.chat.stop({ sessionId: s.id, messageId: again.assistantMessage.id });
    }
  });

  it("removes exactly the deleted sessions' keys, found in Postgres, without scanning the keyspace", async () => {
    const fast = await createTestApp();
    try {
      const t = await createTestTenant(fast);
      const sessions = [];
      for (let i = 0; i < 4; i++) {
        const s = await t.owner.api.session.create({ title: `s${i}` });
        const turn = await ask(t.owner.api, s.id, "What is the LLM context?");
        sessions.push({ id: s.id, stream: fast.keys.stream(s.id, turn.assistantMessage.id), context: fast.keys.context(s.id) });
      }
      for (const s of sessions) {
        expect(await fast.store.pttl(s.stream)).toBeGreaterThan(0);
        expect(await fast.store.pttl(s.context)).toBeGreaterThan(0);
      }
      const scans = vi.spyOn(fast.store, "delPattern");
      expect(await t.owner.api.session.deleteMany({ ids: sessions.slice(0, 3).map((s) => s.id) })).toEqual({ deleted: 3 });
      expect(scans).not.toHaveBeenCalled();
      for (const s of sessions.slice(0, 3)) {
        expect(await fast.store.pttl(s.stream)).toBe(-2);
        expect(await fast.store.pttl(s.context)).toBe(-2);
      }
      // The session left alone keeps its keys.
      const untouched = sessions[3]!;
      expect(await fast.store.pttl(untouched.stream)).toBeGreaterThan(0);
      expect(await fast.store.pttl(untouched.context)).toBeGreaterThan(0);
    } finally {
      await fast.close();
    }
  });
});
