/**
 * Three real Parley instances (the production build's server, each its own `node` process) behind
 * nginx with deploy/nginx.conf: plain round robin, no sticky sessions. Every browser-visible flow
 * goes through it, then a soak of 100 answers during which one instance is SIGKILLed and another
 * restarted with SIGTERM. Once on one Redis server, once on a 3-master Redis Cluster.
 * Needs `npm run build` first (npm test builds before it runs vitest) and Debian's nginx.
 */
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import superjson from "superjson";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createParley, followAnswer } from "../../client";
import { checkSoak, formatSoakFigures, runSoak, soakFigures, startFleet, type Fleet } from "../../scripts/fleet";
import { createFreshDatabase, hasProductionBuild, startParleyServer } from "../../scripts/localServers";
import { NGINX_CONFIG } from "../../scripts/nginx";
import { startRedisCluster, type RedisCluster } from "../../scripts/redisCluster";
import { adminUrl } from "../../scripts/test-database";
import type { StreamEvent } from "../chat/events";
import { createRedisStore } from "../platform/store/redis";

const BOOTSTRAP_KEY = `pk_test_${randomUUID()}${randomUUID()}`.replaceAll("-", "");
const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
type Event = StreamEvent & { eventId: string };
const textOf = (events: Event[]) => events.flatMap((e) => (e.type === "answer" ? [e.delta] : [])).join("");

/** An answer's events over plain `fetch`, as a browser's EventSource reads them, until `stopAfter` events. */
async function readSse(url: string, input: { sessionId: string; messageId: string; lastEventId?: string }, stopAfter: number): Promise<Event[]> {
  const query = encodeURIComponent(JSON.stringify(superjson.serialize(input)));
  const controller = new AbortController();
  const res = await fetch(`${url}/api/trpc/chat.stream?input=${query}`, {
    headers: { accept: "text/event-stream", authorization: `Bearer ${BOOTSTRAP_KEY}` },
    signal: controller.signal,
  });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
  const events: Event[] = [];
  const decoder = new TextDecoder();
  let buffer = "";
  const reader = res.body!.getReader();
  try {
    while (events.length < stopAfter) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buffer.indexOf("\n\n")) >= 0 && events.length < stopAfter) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const id = /^id: ?(.*)$/m.exec(block)?.[1];
        const data = /^data: ?(.*)$/m.exec(block)?.[1];
        // Only data events carry an id; the connected/ping events do not.
        if (id && data) events.push({ ...superjson.deserialize<StreamEvent>(JSON.parse(data)), eventId: id });
      }
    }
  } finally {
    controller.abort();
  }
  return events;
}

/** The instance (`host:port`) that served each request of `path` in the access log, in order. */
const servedBy = (log: string[], path: string) => log.filter((line) => line.includes(` ${path}" `)).map((line) => line.split(" ").at(-3)!);

it("the README quotes deploy/nginx.conf, the configuration tested here, word for word", () => {
  const quoted = /```nginx\n([\s\S]*?)```/.exec(fs.readFileSync("README.md", "utf8"))?.[1];
  expect(quoted).toBeTruthy();
  expect(fs.readFileSync(NGINX_CONFIG, "utf8")).toContain(quoted);
});

const backends = [
  { name: "one Redis", cluster: false },
  { name: "a 3-master Redis Cluster", cluster: true },
];

describe.each(backends)("three instances behind nginx, on $name", ({ cluster: onCluster }) => {
  let database: Awaited<ReturnType<typeof createFreshDatabase>>;
  let cluster: RedisCluster | null = null;
  let prefix: string;
  let fleet: Fleet;
  beforeAll(async () => {
    if (!hasProductionBuild()) throw new Error("No production build: run `npm run build` first (npm test does)");
    database = await createFreshDatabase(adminUrl, "parley_lb");
    prefix = `parley:lb${randomUUID().slice(0, 8)}:`;
    if (onCluster) cluster = await startRedisCluster();
    const { REDIS_URL: _url, REDIS_CLUSTER_NODES: _nodes, ...inherited } = process.env;
    const env = {
      ...inherited,
      DATABASE_URL: database.url,
      ...(cluster ? { REDIS_CLUSTER_NODES: cluster.urls.join(",") } : { REDIS_URL }),
      PARLEY_REDIS_PREFIX: prefix,
      PARLEY_BOOTSTRAP_KEY: BOOTSTRAP_KEY,
      PARLEY_OFFLINE_TOKEN_DELAY_MS: "25",
      // Rate limits off: the soak is many calls of one key.
      PARLEY_RATE_LIMIT_PER_MINUTE: "0",
      PARLEY_SEND_LIMIT_PER_MINUTE: "0",
      PARLEY_DRAIN_SECONDS: "5",
    };
    fleet = await startFleet(3, (port) => startParleyServer({ env, port }));
  }, 180_000);

  afterAll(async () => {
    await fleet?.stop();
    await cluster?.stop();
    if (!onCluster) {
      const store = await createRedisStore(REDIS_URL);
      await store.delPattern(`${prefix}*`).finally(() => store.close());
    }
    await database?.drop();
  }, 60_000);

  it("send on one instance, stream from another, resume on a third, stop from any", async () => {
    const url = fleet.nginx.url;
    const parley = createParley({ url, apiKey: BOOTSTRAP_KEY });
    const health = await fetch(`${url}/api/health`);
    expect(await health.json()).toMatchObject({ status: "ok", db: "postgres", redis: "redis" });
    const s = await parley.client.session.create.mutate({ title: "through nginx" });
    const logBefore = fleet.nginx.accessLog().length;

    const turn = await parley.client.chat.send.mutate({ sessionId: s.id, query: "How do I scale Parley out?" });
    const input = { sessionId: s.id, messageId: turn.assistantMessage.id };
    // A browser's EventSource reads the first events, then its connection drops.
    const before = await readSse(url, input, 5);
    expect(before[0]).toMatchObject({ type: "start", messageId: turn.assistantMessage.id });
    const after: Event[] = [];
    for await (const e of followAnswer(parley.client, { ...input, lastEventId: before.at(-1)!.eventId })) after.push(e);
    expect(after.at(-1)!.type).toBe("complete");
    const resumed = [...before, ...after];
    const stored = (await parley.client.message.list.query({ sessionId: s.id })).items[1];
    expect(stored!.status).toBe("completed");
    expect(stored!.content).toBe(textOf(resumed));
    expect(after.at(-1)).toMatchObject({ type: "complete", content: stored!.content });
    // The whole stream again, from its start, over plain SSE: the same text, no event twice.
    const whole = await readSse(url, input, 10_000);
    expect(textOf(whole)).toBe(stored!.content);
    expect(new Set(whole.map((e) => e.eventId)).size).toBe(whole.length);

    const log = fleet.nginx.accessLog().slice(logBefore);
    const [sentOn] = servedBy(log, "/api/trpc/chat.send");
    const [streamedOn, resumedOn] = servedBy(log, "/api/trpc/chat.stream");
    // Round robin, no stickiness: three requests in a row, three instances.
    expect(new Set([sentOn, streamedOn, resumedOn]).size).toBe(3);

    // Stop: the answer is followed through one instance, stopped through whichever nginx picks.
    const second = await parley.client.chat.send.mutate({ sessionId: s.id, query: "Explain how stopping an answer works across instances" });
    const events: Event[] = [];
    let stopped: Promise<unknown> | null = null;
    for await (const e of followAnswer(parley.client, { sessionId: s.id, messageId: second.assistantMessage.id })) {
      events.push(e);
      if (e.type === "answer" && !stopped && events.length > 4) stopped = parley.client.chat.stop.mutate({ sessionId: s.id, messageId: second.assistantMessage.id });
    }
    expect(await stopped).toEqual({ status: "stopped" });
    expect(events.at(-1)!.type).toBe("stop");
    const stoppedRow = (await parley.client.message.list.query({ sessionId: s.id })).items[3];
    expect(stoppedRow!.status).toBe("stopped");
    expect(stoppedRow!.content).toBe(textOf(events));
    // Every instance served some of it.
    const all = fleet.nginx.accessLog().slice(logBefore).map((line) => line.split(" ").at(-3)!);
    expect(new Set(all).size).toBe(3);
  }, 60_000);

  it("soak: 100 answers from 20 clients while one instance is SIGKILLed and another restarted with SIGTERM", async () => {
    const questionsPerSession = 5;
    const soak = await runSoak({
      url: fleet.nginx.url,
      apiKey: BOOTSTRAP_KEY,
      sessions: 20,
      questionsPerSession,
      stopEvery: 10,
      disruptions: [
        { afterAnswers: 25, what: "SIGKILL instance 1", run: async () => fleet.kill(0) },
        { afterAnswers: 50, what: "SIGTERM + restart instance 2", run: () => fleet.restart(1) },
      ],
    });
    const figures = soakFigures(soak);
    console.log(`[figure] ${formatSoakFigures(onCluster ? "soak on a 3-master Redis Cluster" : "soak on one Redis", figures)}`);
    if (soak.retried.length) console.log(`[soak] retried: ${[...new Set(soak.retried.map((r) => r.split("\n")[0]))].join("; ")}`);
    const nginxErrors = new Map<string, number>();
    for (const line of fleet.nginx.errorLog()) {
      const what = /\[(?:error|warn)\] [\d#]+: \*?\d* ?([^,(]+)/.exec(line)?.[1]?.trim() ?? line;
      nginxErrors.set(what, (nginxErrors.get(what) ?? 0) + 1);
    }
    console.log(`[soak] nginx errors: ${[...nginxErrors].map(([what, n]) => `${n}× ${what}`).join("; ") || "none"}`);
    expect(soak.disruptions.map((d) => d.error ?? "ok")).toEqual(["ok", "ok"]);
    expect(soak.failures).toEqual([]);
    expect(soak.answers).toHaveLength(100);
    expect(await checkSoak(fleet.nginx.url, BOOTSTRAP_KEY, soak, questionsPerSession)).toEqual([]);
    // The retried failures are only those of calls in flight on a dying instance (and a re-send
    // finding the session still held by its first attempt there).
    for (const failure of soak.retried) expect(failure).toMatch(/SERVICE_UNAVAILABLE|CONFLICT|502|503|Bad Gateway|Unexpected token|fetch failed|socket|ECONNRESET|ECONNREFUSED|terminated/i);
    // Someone was running on the killed instance, and was told within the sweeper's 30 s.
    expect(figures.interrupted).toBeGreaterThan(0);
    // (measured from the last kill or restart before each error event)
    expect(figures.interruptedSinceDisruptionMaxMs).toBeLessThan(30_000);
  }, 330_000);
});
