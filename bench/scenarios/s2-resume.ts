/**
 * Scenario 2 — resume: a client reconnects with `lastEventId` → the first missed event arrives.
 * Baseline: reading the missed events with one XRANGE on an open connection of the same Redis.
 */
import { randomUUID } from "node:crypto";
import { EventSource } from "eventsource";
import type { Ctx } from "../lib/context";
import { openRedis } from "../lib/raw";
import { latencyRow, type ScenarioResult } from "../lib/report";
import { now, sleep, summarize } from "../lib/stats";
import { chatStreamRequest, createStreamingAnswers, finishAnswers, startEvent, subscribe, type Target } from "../lib/target";
import { withTimeout } from "./s1-latency";

const BACKLOG = 40;

/**
 * How a resuming client reads: Parley's tRPC client (`chat.stream.subscribe`), or the plain reader
 * scenario 8 reads the peer with (an `eventsource` EventSource on tRPC's SSE URL, the resume id in
 * its input), so the two servers are compared through the same client.
 */
type Reader = "trpc" | "plain";

/** Opens a resuming subscription; `onFirst` gets the first event's id and arrival time. */
function resumeWith(reader: Reader, target: Target, input: { sessionId: string; messageId: string; lastEventId: string }, onFirst: (id: string, at: number) => void) {
  if (reader === "trpc") {
    const sub = subscribe(target.client(), input, (id, _e, at) => onFirst(id, at));
    return { first: sub.first, close: () => sub.unsubscribe() };
  }
  const { url, headers } = chatStreamRequest(target, input);
  const es = new EventSource(url, { fetch: (u, init) => fetch(u, { ...init, headers: { ...(init?.headers as Record<string, string>), ...headers } }) });
  const first = new Promise<void>((resolve) => {
    es.onmessage = (m: MessageEvent<string>) => {
      onFirst(m.lastEventId, now());
      resolve();
    };
  });
  es.onerror = () => {};
  return { first, close: () => es.close() };
}

/** Reconnects `warmup + samples` times to one answer whose stream holds BACKLOG events, each from a random point. */
export async function parleyResume(target: Target, warmup: number, samples: number, reader: Reader = "trpc"): Promise<number[]> {
  const answer = (await createStreamingAnswers(target, 1))[0]!;
  const { ids: [startId] } = await target.append(answer.sessionId, answer.messageId, [startEvent(answer)]);
  const { ids } = await target.append(
    answer.sessionId,
    answer.messageId,
    Array.from({ length: BACKLOG }, (_, i) => ({ type: "answer" as const, delta: `word${i} ` })),
  );
  const all = [startId, ...ids];
  const times: number[] = [];
  try {
    for (let i = 0; i < warmup + samples; i++) {
      const k = 1 + Math.floor(Math.random() * (all.length - 2));
      const lastEventId = all[k - 1]!;
      let firstId = "";
      let firstAt = 0;
      const t0 = now();
      const sub = resumeWith(reader, target, { ...answer, lastEventId }, (id, at) => {
        if (!firstAt) {
          firstAt = at;
          firstId = id;
        }
      });
      await withTimeout(sub.first, 10_000, "the first missed event");
      sub.close();
      // Delivery may merge the missed answer events into one message carrying the last one's id
      // (contract, Answers): the first message must hold event k, so its id is k's or a later one.
      if (all.indexOf(firstId) < k) throw new Error(`resume from ${lastEventId} gave ${firstId}, expected ${all[k]} or a later id`);
      if (i >= warmup) times.push(firstAt - t0);
      await sleep(5);
    }
  } finally {
    await finishAnswers(target, [answer]);
  }
  return times;
}

export async function rawResume(redisUrl: string, prefix: string, warmup: number, samples: number): Promise<number[]> {
  const redis = await openRedis(redisUrl, "bench-raw-resume");
  const key = `${prefix}raw:{${randomUUID()}}`;
  const ids: string[] = [];
  for (let i = 0; i < BACKLOG + 1; i++) ids.push(await redis.xadd(key, "*", "data", JSON.stringify({ type: "answer", delta: `word${i} ` })) as string);
  const times: number[] = [];
  try {
    for (let i = 0; i < warmup + samples; i++) {
      const k = 1 + Math.floor(Math.random() * (ids.length - 2));
      const t0 = now();
      const reply = await redis.xrange(key, `(${ids[k - 1]}`, "+", "COUNT", 500);
      JSON.parse(reply[0]![1][1]!);
      const t1 = now();
      if (reply[0]![0] !== ids[k]) throw new Error("raw resume read the wrong entry");
      if (i >= warmup) times.push(t1 - t0);
    }
  } finally {
    await redis.del(key);
    redis.disconnect();
  }
  return times;
}

export async function run(ctx: Ctx, target = ctx.target, tag = "servers"): Promise<ScenarioResult> {
  const { resumeWarmup, resumeSamples, rounds } = ctx.sizes;
  const parley: number[] = [];
  const plain: number[] = [];
  const raw: number[] = [];
  for (let r = 0; r < rounds; r++) {
    parley.push(...(await parleyResume(target, resumeWarmup, resumeSamples)));
    plain.push(...(await parleyResume(target, resumeWarmup, resumeSamples, "plain")));
    raw.push(...(await rawResume(ctx.redisUrl, ctx.prefix, resumeWarmup, resumeSamples)));
  }
  const p = summarize(parley);
  const pPlain = summarize(plain);
  const b = summarize(raw);
  ctx.figures.set(`s2.${tag}`, p);
  return {
    id: "s2",
    title: "2. Resume (reconnect with lastEventId → first missed event)",
    method: `
An answer's stream holds a start event and ${BACKLOG} answer events (appended with Parley's store while nobody listened: the
events a client missed). Each sample opens a new \`chat.stream\` subscription with \`lastEventId\` set to a random earlier event
(new SSE request through the real tRPC client: auth, session and message lookup, stream replay, then live follow) and times
the call until the first missed event arrives in \`onData\`; the id is checked to be the one right after \`lastEventId\`. Then it
unsubscribes. The same again through the plain reader scenario 8 reads the peer with (an \`eventsource\` EventSource on
tRPC's SSE URL, \`lastEventId\` in its input): the server's part without the tRPC client's. ${rounds} rounds × (${resumeWarmup} warm-up + ${resumeSamples} samples) each.
Baseline: \`XRANGE key (lastId + COUNT 500\` on an already open ioredis connection (the Redis work a resume cannot avoid).`,
    rows: [
      latencyRow("reconnect → first missed event", p, b, { text: "p50 ≤ 5 ms", check: (s) => s.p50 <= 5 }),
      latencyRow("reconnect → first missed event, plain EventSource reader", pPlain, b, { text: "" }),
    ],
  };
}
