import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../boot/app";
import { createTestTenant } from "../testing/app";
import { openEventStream, serveTestApp, subscriptionUrl, type EventStream, type ServedTestApp } from "../testing/http";

/**
 * The answer queue is fair between tenants, at the HTTP edge: one tenant's burst fills the pool and
 * the queue, and another tenant's answer, sent after it, starts at the next free slot instead of
 * behind the whole burst. The offline model answers at a natural pace; a pool of 2 makes each wave
 * of answers a clear step in time.
 */
const POOL = 2;
const QUEUE = 7;
/** Tenant A's burst: every slot and all but one place of the queue. */
const BURST = POOL + QUEUE - 1;

let app: App;
let server: ServedTestApp;
beforeAll(async () => {
  server = await serveTestApp({ PARLEY_MAX_CONCURRENT_ANSWERS: String(POOL), PARLEY_MAX_QUEUED_ANSWERS: String(QUEUE), PARLEY_OFFLINE_TOKEN_DELAY_MS: "25" });
  app = server.app;
});
afterAll(() => server?.close());

/** Sends a question over HTTP and follows its answer's stream from that moment. */
async function ask(apiKey: string, sessionId: string): Promise<{ sentAt: number; stream: EventStream }> {
  const headers = { authorization: `Bearer ${apiKey}` };
  const sentAt = Date.now();
  const res = await fetch(`${server.url}/api/trpc/chat.send`, {
    method: "POST",
    headers: { ...headers, "content-type": "application/json" },
    body: JSON.stringify({ json: { sessionId, query: "What is Parley?" } }),
  });
  expect(res.status).toBe(200);
  const turn = (await res.json()) as { result: { data: { json: { assistantMessage: { id: string } } } } };
  const stream = await openEventStream(subscriptionUrl(server.url, "chat.stream", { sessionId, messageId: turn.result.data.json.assistantMessage.id }), headers);
  return { sentAt, stream };
}

/** When the answer's first words arrived. */
function firstTokenAt(stream: EventStream): number {
  const index = stream.messages.findIndex((m) => m.includes('"type":"answer"'));
  expect(index, stream.messages.join(" | ")).toBeGreaterThanOrEqual(0);
  return stream.arrivals[index]!;
}

describe("the answer queue across tenants", () => {
  it("a tenant's burst fills the pool and the queue; another tenant's answer starts at the next free slot, not behind the burst", async () => {
    const a = await createTestTenant(app);
    const b = await createTestTenant(app);
    const aSessions = await Promise.all(Array.from({ length: BURST }, (_, i) => a.owner.api.session.create({ title: `burst ${i}` })));
    const bSession = await b.owner.api.session.create({ title: "waiting" });

    const burst = [];
    for (const session of aSessions) burst.push(await ask(a.owner.apiKey, session.id));
    expect({ running: app.runner.running, queued: app.runner.queued }).toEqual({ running: POOL, queued: BURST - POOL });
    const other = await ask(b.owner.apiKey, bSession.id);
    await Promise.all([...burst, other].map(({ stream }) => stream.ended));

    const burstFirstTokens = burst.map(({ stream }) => firstTokenAt(stream));
    const otherFirstToken = firstTokenAt(other.stream);
    // The first slot to free up goes to B (the other one of that wave to A's next answer): of A's
    // burst only the first wave, and that one answer, started before B's.
    expect(burstFirstTokens.filter((at) => at < otherFirstToken).length).toBeLessThanOrEqual(POOL + 1);
    // B waited for one wave of A's answers, not for all of them.
    const answerMs = burstFirstTokens[POOL]! - burstFirstTokens[0]!;
    expect(otherFirstToken - other.sentAt).toBeLessThan(answerMs * 2);
  });
});
