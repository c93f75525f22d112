/**
 * Scenario 1 — live event latency: producer append → subscriber receives through `chat.stream`
 * (HTTP SSE, real tRPC client); baseline the same events through raw XADD → XREAD BLOCK.
 */
import { randomUUID } from "node:crypto";
import type { Ctx } from "../lib/context";
import { openRedis, rawFollow } from "../lib/raw";
import { latencyRow, type ScenarioResult } from "../lib/report";
import { now, sleep, summarize } from "../lib/stats";
import { createStreamingAnswers, finishAnswers, startEvent, subscribe, type Target } from "../lib/target";

const GAP_MS = 1;
const TIMEOUT_MS = 5000;

/** One round against Parley: one subscription, events appended one at a time, each waited for. */
export async function parleyLatencyRound(target: Target, warmup: number, samples: number): Promise<{ latencies: number[]; lost: number }> {
  const answer = (await createStreamingAnswers(target, 1))[0]!;
  const latencies: number[] = [];
  let lost = 0;
  let arrived: ((sent: number, at: number) => void) | null = null;
  const sub = subscribe(target.client(), answer, (_id, event, at) => {
    if (event.type === "answer" && event.delta.startsWith("t=")) arrived?.(Number(event.delta.slice(2)), at);
  });
  try {
    await target.append(answer.sessionId, answer.messageId, [startEvent(answer)]);
    await withTimeout(sub.first, 20_000, "the subscription's first event");
    for (let i = 0; i < warmup + samples; i++) {
      const got = new Promise<number | null>((resolve) => {
        const timer = setTimeout(() => resolve(null), TIMEOUT_MS);
        arrived = (sent, at) => {
          clearTimeout(timer);
          resolve(at - sent);
        };
      });
      await target.append(answer.sessionId, answer.messageId, [{ type: "answer", delta: "t=$T" }]);
      const latency = await got;
      if (latency === null) lost++;
      else if (i >= warmup) latencies.push(latency);
      await sleep(GAP_MS);
    }
  } finally {
    sub.unsubscribe();
    await finishAnswers(target, [answer]);
  }
  return { latencies, lost };
}

/** One round of the raw baseline: XADD on one connection, XREAD BLOCK on another. */
export async function rawLatencyRound(redisUrl: string, prefix: string, warmup: number, samples: number): Promise<number[]> {
  const key = `${prefix}raw:{${randomUUID()}}`;
  const reader = await openRedis(redisUrl, "bench-raw-reader");
  const writer = await openRedis(redisUrl, "bench-raw-writer");
  const latencies: number[] = [];
  let arrived: ((sent: number, at: number) => void) | null = null;
  // Create the stream first so the reader can start from "$" safely.
  await writer.xadd(key, "*", "data", JSON.stringify({ type: "start" }));
  const follower = rawFollow(reader, key, (_id, data, at) => {
    const d = data as { type: string; delta?: string };
    if (d.type === "answer") arrived?.(Number(d.delta!.slice(2)), at);
  }, "0-0");
  try {
    await sleep(20);
    for (let i = 0; i < warmup + samples; i++) {
      const got = new Promise<number | null>((resolve) => {
        const timer = setTimeout(() => resolve(null), TIMEOUT_MS);
        arrived = (sent, at) => {
          clearTimeout(timer);
          resolve(at - sent);
        };
      });
      const t = now();
      await writer.xadd(key, "*", "data", JSON.stringify({ type: "answer", delta: `t=${t.toFixed(3)}` }));
      const latency = await got;
      if (latency !== null && i >= warmup) latencies.push(latency);
      await sleep(GAP_MS);
    }
  } finally {
    follower.stop();
    await writer.del(key);
    writer.disconnect();
  }
  return latencies;
}

export async function run(ctx: Ctx, target = ctx.target, tag = "servers"): Promise<ScenarioResult> {
  const { latencyWarmup, latencySamples, rounds } = ctx.sizes;
  const parley: number[] = [];
  const raw: number[] = [];
  let lost = 0;
  for (let r = 0; r < rounds; r++) {
    const round = await parleyLatencyRound(target, latencyWarmup, latencySamples);
    parley.push(...round.latencies);
    lost += round.lost;
    raw.push(...(await rawLatencyRound(ctx.redisUrl, ctx.prefix, latencyWarmup, latencySamples)));
    ctx.log(`  s1 ${tag} round ${r + 1}/${rounds}: parley p50 ${summarize(round.latencies).p50.toFixed(2)} ms`);
  }
  const p = summarize(parley);
  const b = summarize(raw);
  ctx.figures.set(`s1.${tag}`, p);
  ctx.figures.set("s1.raw", b);
  return {
    id: "s1",
    title: "1. Live event latency (append → subscriber)",
    method: `
The bench appends one \`answer\` event at a time into a real answer's stream key with Parley's own
store module (\`createRedisStore(url).append\`, key from \`createKeys(prefix).stream\`) — the answer row is
\`streaming\`, created for the bench and owned by no running answer (its session lock is held by the bench) —
while a Node client using the real tRPC client (\`createParleyClient\`, \`httpSubscriptionLink\` over \`eventsource\`)
follows \`chat.stream\` on the instance over HTTP SSE. Each event carries its send timestamp
(\`performance.timeOrigin + performance.now()\`, taken just before the append), and latency is the arrival time in
\`onData\` minus it. The next event is sent ${GAP_MS} ms after the previous one arrived (no queueing).
Baseline: the same events with plain \`XADD\` on one ioredis connection → \`XREAD BLOCK\` on another, same Redis.
${rounds} rounds × (${latencyWarmup} warm-up + ${latencySamples} samples), Parley and raw rounds interleaved.
Events lost (not received within ${TIMEOUT_MS / 1000} s): ${lost}.`,
    rows: [
      latencyRow("append → receive", p, b, { text: "p50 ≤ 2 ms, p99 ≤ 10 ms", check: (s) => s.p50 <= 2 && s.p99 <= 10 }, lost ? { met: false, note: `${lost} events lost` } : {}),
    ],
  };
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms))),
  ]).finally(() => clearTimeout(timer));
}
