/**
 * Scenario 6 — many idle subscribers on one instance, then one answer fanned out to some of them:
 * RSS per idle subscriber, events lost (must be 0), fan-out latency.
 */
import { randomUUID } from "node:crypto";
import type { Ctx } from "../lib/context";
import { openRedis, rawFollow } from "../lib/raw";
import { latencyRow, type Row, type ScenarioResult } from "../lib/report";
import { now, sleep, summarize } from "../lib/stats";
import { GC_ON_SIGNAL_ARGS, scrapeMetrics, settledRss } from "../lib/servers";
import { createStreamingAnswers, finishAnswers, startEvent, subscribe, type Answer, type Subscription, type Target } from "../lib/target";
import { withTimeout } from "./s1-latency";
import type { Redis } from "ioredis";

const MiB = 2 ** 20;

/** The server's V8 heap in use (prom-client's default metrics). */
const heapUsed = async (target: Target) => (await scrapeMetrics(target.instance.url)).value("nodejs_heap_size_used_bytes");

async function redisClients(redis: Redis): Promise<number> {
  return Number(/connected_clients:(\d+)/.exec(await redis.info("clients"))?.[1] ?? NaN);
}

export async function run(ctx: Ctx): Promise<ScenarioResult> {
  const fresh = ctx.freshTarget ? await ctx.freshTarget({}, GC_ON_SIGNAL_ARGS) : null;
  try {
    return await measure(ctx, fresh ?? ctx.target, fresh !== null);
  } finally {
    if (fresh) {
      await fresh.close();
      await fresh.instance.stop();
    }
  }
}

/** A failing measurement must not leave the admin connection open: it would keep the bench process alive. */
async function measure(ctx: Ctx, target: Target, fresh: boolean): Promise<ScenarioResult> {
  const admin = await openRedis(ctx.redisUrl, "bench-admin");
  try {
    return await measureWith(ctx, target, fresh, admin);
  } finally {
    admin.disconnect();
  }
}

async function measureWith(ctx: Ctx, target: Target, fresh: boolean, admin: Redis): Promise<ScenarioResult> {
  const { idleSubscribers, fanout, fanoutEvents } = ctx.sizes;
  const pid = target.instance.pid;
  const client = target.client();
  // Warm-up on the fresh process: the SSE path compiled and its first allocations made before "before".
  const warm = await createStreamingAnswers(target, 20);
  for (const a of warm) await target.append(a.sessionId, a.messageId, [startEvent(a)]);
  for (let round = 0; round < 3; round++) {
    const subs = warm.map((a) => subscribe(client, a, () => {}));
    await Promise.all(subs.map((s) => s.first));
    for (const s of subs) s.unsubscribe();
  }
  await finishAnswers(target, warm);

  const idleAnswers = await createStreamingAnswers(target, idleSubscribers - fanout);
  const hot = (await createStreamingAnswers(target, 1))[0]!;
  await target.append(hot.sessionId, hot.messageId, [startEvent(hot)]);
  for (const a of idleAnswers) await target.append(a.sessionId, a.messageId, [startEvent(a)]);

  await sleep(1000);
  const rssBefore = await settledRss(pid, fresh);
  const heapBefore = await heapUsed(target);
  const clientsBefore = await redisClients(admin);

  const subs: Subscription[] = [];
  const unexpected: string[] = [];
  /** received[s][k]: arrival of fan-out event k at subscriber s. */
  const received: Array<Map<number, number>> = [];
  let onFanout: (() => void) | null = null;
  const sent = new Map<number, number>();
  const t0 = now();
  const subscribeAll = async (answers: Answer[], make: (a: Answer, i: number) => Subscription) => {
    for (let i = 0; i < answers.length; i += 50) {
      const batch = answers.slice(i, i + 50).map((a, j) => make(a, i + j));
      subs.push(...batch);
      await withTimeout(Promise.all(batch.map((s) => s.first)), 60_000, "subscribers' start events");
    }
  };
  await subscribeAll(idleAnswers, (a) =>
    subscribe(client, a, (_id, e) => {
      if (e.type !== "start") unexpected.push(e.type);
    }),
  );
  await subscribeAll(Array.from({ length: fanout }, () => hot), (a, i) => {
    const got = new Map<number, number>();
    received[i] = got;
    return subscribe(client, a, (_id, e, at) => {
      if (e.type !== "answer") return;
      // One "k@t;" per event appended; delivery may merge several into one delta.
      for (const [, k, t] of e.delta.matchAll(/(\d+)@([\d.]+);/g)) got.set(Number(k), at - Number(t));
      onFanout?.();
    });
  });
  const subscribeSeconds = (now() - t0) / 1000;
  await sleep(2000);
  const rssAfter = await settledRss(pid, fresh);
  const heapAfter = await heapUsed(target);
  const clientsAfter = await redisClients(admin);
  ctx.log(`  s6 ${idleSubscribers} subscribers in ${subscribeSeconds.toFixed(1)} s; RSS ${(rssBefore / MiB).toFixed(0)} → ${(rssAfter / MiB).toFixed(0)} MiB; redis clients ${clientsBefore} → ${clientsAfter}`);

  // Fan-out: one event at a time to the `fanout` subscribers of the hot answer.
  const latencies: number[] = [];
  let lost = 0;
  const WARM = 10;
  const total = WARM + fanoutEvents;
  for (let k = 0; k < total; k++) {
    const all = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 5000);
      onFanout = () => {
        if (received.every((m) => m.has(k))) {
          clearTimeout(timer);
          resolve();
        }
      };
    });
    const { t } = await target.append(hot.sessionId, hot.messageId, [{ type: "answer", delta: `${k}@$T;` }]);
    sent.set(k, t);
    await all;
    await sleep(10);
  }
  await sleep(500);
  for (const got of received) {
    for (let k = 0; k < total; k++) {
      const l = got.get(k);
      if (l === undefined) lost++;
      else if (k >= WARM) latencies.push(l);
    }
  }
  for (const s of subs) s.unsubscribe();
  await finishAnswers(target, [...idleAnswers, hot]);

  // Baseline: the same fan-out with `fanout` raw XREAD BLOCK readers of one key.
  const key = `${ctx.prefix}raw:{${randomUUID()}}`;
  const writer = await openRedis(ctx.redisUrl, "bench-raw-writer");
  await writer.xadd(key, "*", "data", JSON.stringify({ type: "start" }));
  const rawReceived: Array<Map<number, number>> = [];
  let onRaw: (() => void) | null = null;
  const readers = await Promise.all(
    Array.from({ length: fanout }, async (_, i) => {
      const got = new Map<number, number>();
      rawReceived[i] = got;
      return rawFollow(await openRedis(ctx.redisUrl, "bench-raw-reader"), key, (_id, data, at) => {
        const d = data as { type: string; delta?: string };
        if (d.type !== "answer") return;
        const [k, t] = d.delta!.split("@");
        got.set(Number(k), at - Number(t));
        onRaw?.();
      }, "0-0");
    }),
  );
  await sleep(500);
  for (let k = 0; k < total; k++) {
    const all = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 5000);
      onRaw = () => {
        if (rawReceived.every((m) => m.has(k))) {
          clearTimeout(timer);
          resolve();
        }
      };
    });
    await writer.xadd(key, "*", "data", JSON.stringify({ type: "answer", delta: `${k}@${now().toFixed(3)}` }));
    await all;
    await sleep(10);
  }
  const rawLatencies = rawReceived.flatMap((m) => [...m].filter(([k]) => k >= WARM).map(([, l]) => l));
  for (const r of readers) r.stop();
  await writer.del(key);
  writer.disconnect();

  const perSubscriberKiB = (rssAfter - rssBefore) / idleSubscribers / 1024;
  const perSubscriberRedis = (clientsAfter - clientsBefore) / idleSubscribers;
  const heapPerSubscriberKiB = (heapAfter - heapBefore) / idleSubscribers / 1024;
  const fan = summarize(latencies);
  const rawFan = summarize(rawLatencies);
  const rows: Row[] = [
    {
      metric: "server RSS per idle subscriber",
      unit: "KiB",
      parley: { n: 1, p50: perSubscriberKiB, p99: perSubscriberKiB, mean: perSubscriberKiB, min: perSubscriberKiB, max: perSubscriberKiB },
      baseline: null,
      ratio: null,
      target: "",
      met: null,
      note: `RSS ${(rssBefore / MiB).toFixed(0)} MiB before, ${(rssAfter / MiB).toFixed(0)} MiB with ${idleSubscribers} subscribers (median of 5 samples each)`,
    },
    {
      metric: "server heap per idle subscriber",
      unit: "KiB",
      parley: { n: 1, p50: heapPerSubscriberKiB, p99: heapPerSubscriberKiB, mean: heapPerSubscriberKiB, min: heapPerSubscriberKiB, max: heapPerSubscriberKiB },
      baseline: null,
      ratio: null,
      target: "",
      met: null,
      note: `V8 heap in use (the server's nodejs_heap_size_used_bytes) ${(heapBefore / MiB).toFixed(1)} MiB before, ${(heapAfter / MiB).toFixed(1)} MiB with ${idleSubscribers} subscribers${fresh ? ", read just after the collections above" : ""}: what subscribers hold, without RSS's steps`,
    },
    {
      metric: "Redis connections per idle subscriber",
      unit: "count",
      parley: { n: 1, p50: perSubscriberRedis, p99: perSubscriberRedis, mean: perSubscriberRedis, min: perSubscriberRedis, max: perSubscriberRedis },
      baseline: null,
      ratio: null,
      target: "",
      met: null,
      note: `Redis connected_clients ${clientsBefore} → ${clientsAfter} (includes the bench's own few)`,
    },
    {
      metric: `events lost (${fanout} subscribers × ${WARM + fanoutEvents} events)`,
      unit: "count",
      parley: { n: 1, p50: lost, p99: lost, mean: lost, min: lost, max: lost },
      baseline: null,
      ratio: null,
      target: "0",
      met: lost === 0 && unexpected.length === 0,
      ...(unexpected.length ? { note: `${unexpected.length} unexpected events reached idle subscribers` } : {}),
    },
    latencyRow(`fan-out append → each of ${fanout} subscribers`, fan, rawFan, { text: "" }),
  ];
  ctx.figures.set("s6.fanout", fan);
  return {
    id: "s6",
    title: `6. ${idleSubscribers.toLocaleString("en-US")} idle subscribers on one instance, one answer fanned out to ${fanout}`,
    method: `
${idleSubscribers - fanout} answers each followed by one \`chat.stream\` subscriber, plus one answer followed by ${fanout} subscribers: ${idleSubscribers} SSE
subscriptions on one instance${fresh ? " (a Parley process started for this scenario, warmed up with 60 subscriptions opened and closed, so its heap holds no other scenario's garbage)" : ""}, all from the bench process (tRPC client over \`eventsource\`), opened 50 at a time and each
confirmed live by its answer's \`start\` event (${subscribeSeconds.toFixed(1)} s to open all). Server RSS (\`/proc/<pid>/status\` VmRSS, median of 5${fresh ? ", each after a full GC" : ""})
before and 2 s after; Redis \`connected_clients\` likewise. Then 10 warm-up + ${fanoutEvents} measured events are appended one at a time to the shared
answer (each waits until every subscriber has it, 5 s at most, then 10 ms): latency per (subscriber, event); lost = not
received. Baseline: the same events to ${fanout} raw \`XREAD BLOCK\` readers (one ioredis connection each) of one key.
The ${fanout} subscribers' SSE parsing all runs in the one bench process, so fan-out latency includes the client side's queueing.`,
    rows,
  };
}
