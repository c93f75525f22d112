import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { messages } from "../../db/schema";
import type { App } from "../boot/app";
import { createTestApp, type TestCaller, type TestTenant } from "../testing/app";
import { openEventStream, serveApp, serveTestApp, signInCookie, subscriptionUrl, type EventStream, type ServedTestApp } from "../testing/http";
import { waitFor } from "../testing/wait";

/**
 * Answer streams at the HTTP edge, tRPC and REST alike: a follower that resumes from an id beyond
 * its answer's end still ends with the answer; one key holds at most PARLEY_STREAMS_PER_KEY (64)
 * open streams per instance; revoking a key and signing out end the streams opened with them on
 * every instance. On Postgres + Redis the streams are served by a second instance (same database
 * and Redis) while the key is revoked and the browser signed out on the first.
 */
const STREAMS_PER_KEY = 64;
/** The offline model at this pace answers in about 10 s: long enough to hold streams open while a test works. */
const SLOW_ANSWER = { PARLEY_OFFLINE_TOKEN_DELAY_MS: "150" };
const BEYOND_THE_END = "99999999999999-0";

let app: App;
let server: ServedTestApp;
/** The instance that serves the streams: a second one on Postgres + Redis, the same one on the embedded default. */
let streamingApp: App;
let streaming: Awaited<ReturnType<typeof serveApp>>;
let t: TestTenant;
beforeAll(async () => {
  server = await serveTestApp(SLOW_ANSWER);
  app = server.app;
  t = server.tenant;
  if (process.env.PARLEY_TEST_BACKEND === "servers") {
    streamingApp = await createTestApp({ ...SLOW_ANSWER, PARLEY_REDIS_PREFIX: app.env.PARLEY_REDIS_PREFIX });
    streaming = await serveApp(streamingApp);
  } else {
    streamingApp = app;
    streaming = server;
  }
});
afterAll(async () => {
  if (streaming !== server) {
    await streaming.close();
    await streamingApp.close();
  }
  await server.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

interface Answer {
  sessionId: string;
  messageId: string;
}

async function startAnswer(api: TestCaller): Promise<Answer> {
  const session = await api.session.create({ title: "streams" });
  const turn = await api.chat.send({ sessionId: session.id, query: "What is Parley?" });
  return { sessionId: session.id, messageId: turn.assistantMessage.id };
}

/** `chat.stream` over tRPC's SSE. */
const followTrpc = (base: string, headers: Record<string, string>, answer: Answer, lastEventId?: string) =>
  openEventStream(subscriptionUrl(base, "chat.stream", { ...answer, ...(lastEventId && { lastEventId }) }), headers);
/** REST `continue-stream`. */
const followRest = (base: string, headers: Record<string, string>, answer: Answer, lastEventId?: string) =>
  openEventStream(`${base}/api/v1/sessions/continue-stream/${answer.sessionId}?message_id=${answer.messageId}`, {
    ...headers,
    ...(lastEventId && { "last-event-id": lastEventId }),
  });

/** The messages that carry an answer's event (tRPC `data:` with an id, REST `id:` frames), not pings or keep-alives. */
const frames = (stream: EventStream) => stream.messages.filter((m) => /^data: .*\nid: /s.test(m) || m.startsWith("id:"));
const endsWithin = (stream: EventStream, ms: number) => Promise.race([stream.ended.then(() => true), sleep(ms).then(() => false)]);
const untilFrames = (stream: EventStream, count: number) =>
  waitFor(() => frames(stream).length >= count, { timeoutMs: 10_000, message: () => `only ${frames(stream).length} frames: ${stream.messages.join(" | ")}` });
/** Connects until a stream is accepted (it carries an event, not a refusal), for at most `ms`. */
async function acceptedWithin(ms: number, connect: () => Promise<EventStream>): Promise<EventStream> {
  const deadline = Date.now() + ms;
  for (;;) {
    const stream = await connect();
    while (stream.status === 200 && frames(stream).length === 0 && !(await endsWithin(stream, 10)));
    if (frames(stream).length > 0) return stream;
    stream.close();
    if (Date.now() > deadline) throw new Error(`still refused: ${stream.status} ${stream.messages.join(" | ")}`);
    await sleep(50);
  }
}

describe("a follower resuming from an id beyond its answer's end", () => {
  it("tRPC and REST: attached mid-answer it ends with the answer's terminal event; attached after the end it ends at once with it", async () => {
    const answer = await startAnswer(t.owner.api);
    const key = bearer(t.owner.apiKey);
    const watcher = await followTrpc(server.url, key, answer);
    await untilFrames(watcher, 2); // the answer is under way
    const trpc = await followTrpc(streaming.url, key, answer, BEYOND_THE_END);
    const rest = await followRest(streaming.url, key, answer, BEYOND_THE_END);
    expect([trpc.status, rest.status]).toEqual([200, 200]);
    await sleep(300);
    await t.owner.api.chat.stop(answer);
    expect(await endsWithin(watcher, 5000)).toBe(true);
    const [trpcEnded, restEnded] = await Promise.all([endsWithin(trpc, 5000), endsWithin(rest, 5000)]);
    expect({ trpcEnded, restEnded }).toEqual({ trpcEnded: true, restEnded: true });
    expect(frames(trpc).at(-1)).toContain('"type":"stop"');
    expect(frames(rest).at(-1)).toContain('"response_type":"stop"');

    // The answer has ended: such a follower ends at once, and still hears how it ended.
    const lateTrpc = await followTrpc(streaming.url, key, answer, BEYOND_THE_END);
    const lateRest = await followRest(streaming.url, key, answer, BEYOND_THE_END);
    expect(await endsWithin(lateTrpc, 2000)).toBe(true);
    expect(await endsWithin(lateRest, 2000)).toBe(true);
    expect(frames(lateTrpc).map((f) => /"type":"(\w+)"/.exec(f)?.[1])).toEqual(["stop"]);
    expect(frames(lateRest).map((f) => /"response_type":"(\w+)"/.exec(f)?.[1])).toEqual(["stop"]);
  });
});

describe("open streams per key", () => {
  it(`a key holds at most ${STREAMS_PER_KEY} per instance, tRPC and REST together: the next is refused like a rate limit, nothing is started; another key is unaffected; a closed stream frees its place`, async () => {
    const answer = await startAnswer(t.owner.api);
    const key = bearer(t.owner.apiKey);
    const open: EventStream[] = [];
    try {
      for (let i = 0; i < STREAMS_PER_KEY / 2; i++) open.push(await followTrpc(streaming.url, key, answer));
      for (let i = 0; i < STREAMS_PER_KEY / 2; i++) open.push(await followRest(streaming.url, key, answer));
      expect(open.map((s) => s.status)).toEqual(open.map(() => 200));

      // tRPC: TOO_MANY_REQUESTS in the subscription's error frame, Retry-After on the response.
      const refusedTrpc = await followTrpc(streaming.url, key, answer);
      expect(Number(refusedTrpc.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      expect(await endsWithin(refusedTrpc, 2000)).toBe(true);
      expect(refusedTrpc.messages.join("\n")).toMatch(/event: serialized-error[\s\S]*TOO_MANY_REQUESTS/);
      expect(frames(refusedTrpc)).toEqual([]);
      // REST: 429, code 1006, Retry-After; a knowledge-chat is refused before it starts anything.
      const refusedRest = await fetch(`${streaming.url}/api/v1/sessions/continue-stream/${answer.sessionId}?message_id=${answer.messageId}`, { headers: key });
      expect(refusedRest.status).toBe(429);
      expect(Number(refusedRest.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      expect(await refusedRest.json()).toMatchObject({ success: false, error: { code: 1006, message: expect.stringMatching(/streams/) } });
      const idle = await t.owner.api.session.create({ title: "refused" });
      const refusedChat = await fetch(`${streaming.url}/api/v1/knowledge-chat/${idle.id}`, {
        method: "POST",
        headers: { ...key, "content-type": "application/json" },
        body: JSON.stringify({ query: "Anyone there?" }),
      });
      expect(refusedChat.status).toBe(429);
      expect(await refusedChat.json()).toMatchObject({ error: { code: 1006 } });
      expect(await app.db.select().from(messages).where(eq(messages.sessionId, idle.id))).toEqual([]);

      // Another key, even of the same user, still streams.
      const { apiKey: otherKey } = await t.owner.api.admin.apiKeys.create({ name: "second" });
      const other = await followRest(streaming.url, bearer(otherKey), answer);
      expect(other.status).toBe(200);
      await untilFrames(other, 1);
      other.close();

      // A stream that closes gives its place back, on either face.
      open.shift()!.close();
      open.pop()!.close();
      open.push(await acceptedWithin(2000, () => followTrpc(streaming.url, key, answer)));
      open.push(await acceptedWithin(2000, () => followRest(streaming.url, key, answer)));
    } finally {
      for (const stream of open) stream.close();
      await t.owner.api.chat.stop(answer);
    }
  });
});

describe("revoking a key, signing out", () => {
  it("revoking a key ends its open tRPC and REST streams, and its browser's, within 2 s on every instance; they receive nothing more", async () => {
    const member = await t.addUser("member");
    const cookie = await signInCookie(streaming.url, member.apiKey);
    const answer = await startAnswer(member.api);
    const streams = [
      await followTrpc(streaming.url, bearer(member.apiKey), answer),
      await followRest(streaming.url, { "x-api-key": member.apiKey }, answer),
      await followTrpc(streaming.url, { cookie }, answer),
    ];
    const owners = await followTrpc(streaming.url, bearer(t.owner.apiKey), answer);
    for (const stream of [...streams, owners]) await untilFrames(stream, 2);

    const [memberKey] = (await t.owner.api.admin.apiKeys.list({ userId: member.user.id })).items;
    await t.owner.api.admin.apiKeys.revoke({ id: memberKey!.id });
    const revokedAt = Date.now();
    // Frames already on their way when the revocation took effect may still land; nothing after.
    await sleep(100);
    const seen = streams.map((s) => frames(s).length);
    const ended = await Promise.all(streams.map((s) => endsWithin(s, 2000 - (Date.now() - revokedAt))));
    expect(ended).toEqual([true, true, true]);
    await sleep(500);
    expect(streams.map((s) => frames(s).length)).toEqual(seen);
    // The answer and other keys' streams carry on (the answer then runs to its end).
    expect(await endsWithin(owners, 0)).toBe(false);
    const before = frames(owners).length;
    await sleep(500);
    expect(frames(owners).length).toBeGreaterThan(before);
    owners.close();
  });

  it("signing out ends the streams opened with that cookie within 2 s on every instance; the same key's other sign-in and the key itself keep theirs", async () => {
    const member = await t.addUser("member");
    const [signedOut, stillIn] = [await signInCookie(streaming.url, member.apiKey), await signInCookie(streaming.url, member.apiKey)];
    const answer = await startAnswer(member.api);
    const ending = await followTrpc(streaming.url, { cookie: signedOut }, answer);
    const staying = [await followTrpc(streaming.url, { cookie: stillIn }, answer), await followRest(streaming.url, bearer(member.apiKey), answer)];
    for (const stream of [ending, ...staying]) await untilFrames(stream, 2);

    const signOut = await fetch(`${server.url}/api/trpc/auth.signOut`, { method: "POST", headers: { cookie: signedOut, "content-type": "application/json" } });
    expect(signOut.status).toBe(200);
    const signedOutAt = Date.now();
    expect(await endsWithin(ending, 2000)).toBe(true);
    expect(Date.now() - signedOutAt).toBeLessThan(2000);
    const before = staying.map((s) => frames(s).length);
    await sleep(600);
    expect(await Promise.all(staying.map((s) => endsWithin(s, 0)))).toEqual([false, false]);
    staying.forEach((s, i) => expect(frames(s).length).toBeGreaterThan(before[i]!));
    for (const stream of staying) stream.close();
    await member.api.chat.stop(answer);
  });
});
