/**
 * Scenario 3 — stream throughput through one subscription. The bench writes N events as fast as it
 * can (batches of BATCH in one write, one write in flight: as Parley's own stream writer does) and
 * the subscriber counts them; baseline the same N events with pipelined XADD → XREAD BLOCK.
 * Plus a real answer from the offline model at PARLEY_OFFLINE_TOKEN_DELAY_MS=0, end to end.
 */
import { randomUUID } from "node:crypto";
import { followAnswer, type ParleyClient } from "../../client";
import type { Ctx } from "../lib/context";
import { openRedis, rawFollow } from "../lib/raw";
import { latencyRow, rateRow, type ScenarioResult } from "../lib/report";
import { cpuMsOf, redisPid } from "../lib/servers";
import { now, rateSummary, sleep, summarize } from "../lib/stats";
import { createStreamingAnswers, finishAnswers, startEvent, subscribe, type Target } from "../lib/target";
import { withTimeout } from "./s1-latency";

export const BATCH = 100;
const DELTA = "token ";

export async function parleyThroughput(target: Target, events: number): Promise<number> {
  const answer = (await createStreamingAnswers(target, 1))[0]!;
  let count = 0;
  let lastAt = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const sub = subscribe(target.client(), answer, (_id, event, at) => {
    if (event.type !== "answer") return;
    // Delivery merges the deltas that arrive together: count the deltas, not the messages.
    count += event.delta.length / DELTA.length;
    if (count === events) {
      lastAt = at;
      done();
    }
  });
  try {
    await target.append(answer.sessionId, answer.messageId, [startEvent(answer)]);
    await withTimeout(sub.first, 20_000, "the subscription's first event");
    const t0 = now();
    for (let sent = 0; sent < events; sent += BATCH) {
      const n = Math.min(BATCH, events - sent);
      await target.append(answer.sessionId, answer.messageId, Array.from({ length: n }, () => ({ type: "answer" as const, delta: DELTA })));
    }
    await withTimeout(finished, 120_000, `all ${events} events (got ${count})`);
    return events / ((lastAt - t0) / 1000);
  } finally {
    sub.unsubscribe();
    await finishAnswers(target, [answer]);
  }
}

export async function rawThroughput(redisUrl: string, prefix: string, events: number): Promise<number> {
  const key = `${prefix}raw:{${randomUUID()}}`;
  const reader = await openRedis(redisUrl, "bench-raw-reader");
  const writer = await openRedis(redisUrl, "bench-raw-writer");
  await writer.xadd(key, "*", "data", JSON.stringify({ type: "start" }));
  let count = 0;
  let lastAt = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const follower = rawFollow(reader, key, (_id, data, at) => {
    if ((data as { type: string }).type !== "answer") return;
    if (++count === events) {
      lastAt = at;
      done();
    }
  }, "0-0");
  try {
    await sleep(20);
    const t0 = now();
    const payload = JSON.stringify({ type: "answer", delta: DELTA });
    for (let sent = 0; sent < events; sent += BATCH) {
      const n = Math.min(BATCH, events - sent);
      const pipe = writer.pipeline();
      for (let i = 0; i < n; i++) pipe.xadd(key, "*", "data", payload);
      await pipe.exec();
    }
    await withTimeout(finished, 120_000, "raw events");
    return events / ((lastAt - t0) / 1000);
  } finally {
    follower.stop();
    await writer.del(key);
    writer.disconnect();
  }
}

/** A real answer (offline model, no pacing): chat.send → terminal event, through followAnswer. */
export async function realAnswer(client: ParleyClient): Promise<{ ms: number; events: number; chars: number }> {
  const session = await client.session.create.mutate({ title: "bench real answer" });
  const t0 = now();
  const turn = await client.chat.send.mutate({ sessionId: session.id, query: "How does Parley stream answers and resume them after a dropped connection?" });
  let events = 0;
  let chars = 0;
  let last = "";
  for await (const e of followAnswer(client, { sessionId: session.id, messageId: turn.assistantMessage.id })) {
    events++;
    if (e.type === "answer") chars += e.delta.length;
    last = e.type;
  }
  if (last !== "complete") throw new Error(`real answer ended with ${last}`);
  return { ms: now() - t0, events, chars };
}

export async function run(ctx: Ctx, target = ctx.target, tag = "servers"): Promise<ScenarioResult> {
  const { throughputEvents, throughputRounds, realAnswers } = ctx.sizes;
  // Warm-up round (not counted) of each.
  await parleyThroughput(target, Math.min(2000, throughputEvents));
  await rawThroughput(ctx.redisUrl, ctx.prefix, Math.min(2000, throughputEvents));
  const parley: number[] = [];
  const raw: number[] = [];
  // Where the time goes: CPU of the server process, of the bench (the subscriber and producer) and of Redis.
  const redis = await redisPid();
  const cpu = { server: 0, bench: 0, redis: 0, rawBench: 0, rawRedis: 0 };
  for (let r = 0; r < throughputRounds; r++) {
    const s0 = cpuMsOf(target.instance.pid);
    let b0 = process.cpuUsage();
    let r0 = redis ? cpuMsOf(redis) : 0;
    parley.push(await parleyThroughput(target, throughputEvents));
    cpu.server += cpuMsOf(target.instance.pid) - s0;
    let b = process.cpuUsage(b0);
    cpu.bench += (b.user + b.system) / 1000;
    cpu.redis += redis ? cpuMsOf(redis) - r0 : 0;
    b0 = process.cpuUsage();
    r0 = redis ? cpuMsOf(redis) : 0;
    raw.push(await rawThroughput(ctx.redisUrl, ctx.prefix, throughputEvents));
    b = process.cpuUsage(b0);
    cpu.rawBench += (b.user + b.system) / 1000;
    cpu.rawRedis += redis ? cpuMsOf(redis) - r0 : 0;
    ctx.log(`  s3 ${tag} round ${r + 1}/${throughputRounds}: parley ${parley.at(-1)!.toFixed(0)} ev/s, raw ${raw.at(-1)!.toFixed(0)} ev/s`);
  }
  const client = target.client();
  await realAnswer(client);
  const answers: Awaited<ReturnType<typeof realAnswer>>[] = [];
  for (let i = 0; i < realAnswers; i++) answers.push(await realAnswer(client));
  const p = rateSummary(parley);
  const b = rateSummary(raw);
  const real = summarize(answers.map((a) => a.ms));
  ctx.figures.set(`s3.${tag}`, p);
  ctx.figures.set("s3.raw", b);
  ctx.figures.set(`s3.real.${tag}`, real);
  const perEvent = (ms: number) => (1000 * ms) / (throughputEvents * throughputRounds);
  const one = (v: number) => ({ n: 1, p50: v, p99: v, mean: v, min: v, max: v });
  const cpuRow = (metric: string, p: number, b: number | null, note: string) => ({
    metric,
    unit: "µs/event",
    parley: one(p),
    baseline: b === null ? null : one(b),
    ratio: b ? p / b : null,
    ratioKind: "x" as const,
    target: "",
    met: null,
    note,
  });
  const meanEvents = answers.reduce((n, a) => n + a.events, 0) / answers.length;
  const meanChars = answers.reduce((n, a) => n + a.chars, 0) / answers.length;
  return {
    id: "s3",
    title: "3. Stream throughput (one subscription)",
    method: `
${throughputRounds} rounds (after one warm-up round) of ${throughputEvents.toLocaleString("en-US")} \`answer\` events (\`{"type":"answer","delta":"${DELTA}"}\`)
written as fast as the producer can, ${BATCH} per write with one write in flight (Parley: \`store.append\`, i.e. one MULTI of
${BATCH} XADD + EXPIRE, as Parley's stream writer batches; raw: a pipeline of ${BATCH} XADD), while one subscriber follows live.
Rate = events ÷ (first write → last event received). Parley's subscriber is \`chat.stream\` over HTTP SSE through the real
tRPC client; raw is \`XREAD BLOCK COUNT 500\` on ioredis.
Real answer: \`chat.send\` → \`followAnswer\` until \`complete\` with the built-in offline model at
\`PARLEY_OFFLINE_TOKEN_DELAY_MS=0\` (${realAnswers} answers, mean ${meanEvents.toFixed(0)} events and ${meanChars.toFixed(0)} characters each: the
stream writer merges the deltas produced while a write is in flight, so a fast answer is a handful of events).`,
    rows: [
      rateRow("events through one subscription", "events/s", p, b, { text: "≥ 50 % of raw", minRatio: 0.5 }),
      latencyRow("real answer, delay 0: send → complete", real, null, { text: "" }, { note: "no raw equivalent; shown for scale" }),
      cpuRow("CPU per event: Parley server process", perEvent(cpu.server), null, "all rounds' server CPU (/proc/<pid>/stat) ÷ events: what one core can deliver is 1e6 ÷ this"),
      cpuRow("CPU per event: bench (producer + subscriber)", perEvent(cpu.bench), perEvent(cpu.rawBench), "Parley: Parley's store append + the tRPC/eventsource subscriber; raw: pipelined XADD + XREAD reader"),
      ...(redis ? [cpuRow("CPU per event: redis-server", perEvent(cpu.redis), perEvent(cpu.rawRedis), "the same XADDs; Parley's reads are XREAD COUNT 500 like the raw reader's")] : []),
    ],
  };
}
