/**
 * Scenario 8 — the peer: scenarios 1–3 through `resumable-stream` (what Vercel's ai-chatbot uses for
 * resumable answers) on the same Redis. Producer in the bench process (createNewResumableStream, as
 * the instance generating the answer), reader in a separate server process (resumeExistingStream
 * → SSE, as another instance serving `GET /api/chat/[id]/stream`), client with Node's `eventsource`.
 */
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import { EventSource } from "eventsource";
import { Redis } from "ioredis";
import { createResumableStreamContext } from "resumable-stream/ioredis";
import type { Ctx } from "../lib/context";
import { latencyRow, rateRow, type ScenarioResult } from "../lib/report";
import { freePort, startScript } from "../lib/servers";
import { now, rateSummary, sleep, summarize } from "../lib/stats";
import { withTimeout } from "./s1-latency";
import { BATCH, rawThroughput } from "./s3-throughput";
import { rawLatencyRound } from "./s1-latency";
import { parleyResume, rawResume } from "./s2-resume";

type Producer = { push(chunk: string): void; close(): void; id: string };

const sse = (data: unknown) => `data: ${JSON.stringify(data)}\n\n`;

export async function run(ctx: Ctx): Promise<ScenarioResult> {
  const keyPrefix = `${ctx.prefix}peer`;
  const port = await freePort();
  const reader = await startScript("bench/peer/server.ts", { PORT: String(port), REDIS_URL: ctx.redisUrl, PEER_PREFIX: keyPrefix });
  const publisher = new Redis(ctx.redisUrl);
  const subscriber = new Redis(ctx.redisUrl);
  const context = createResumableStreamContext({ waitUntil: null, keyPrefix, publisher, subscriber });
  const base = `http://127.0.0.1:${port}`;

  const produce = async (): Promise<Producer> => {
    const id = randomUUID();
    let controller!: ReadableStreamDefaultController<string>;
    const source = new ReadableStream<string>({ start: (c) => void (controller = c) });
    const out = await context.createNewResumableStream(id, () => source);
    // The generating request's own response: drained, as the browser that asked would read it.
    void (async () => {
      const r = out!.getReader();
      while (!(await r.read()).done);
    })();
    return { id, push: (c) => controller.enqueue(c), close: () => controller.close() };
  };
  const listen = (id: string, onData: (data: string, at: number) => void, skip?: number) => {
    const es = new EventSource(`${base}/stream/${id}${skip !== undefined ? `?skip=${skip}` : ""}`);
    es.onmessage = (e: MessageEvent<string>) => onData(e.data, now());
    es.onerror = () => {};
    return es;
  };

  try {
    // --- 1. latency ---
    const { latencyWarmup, latencySamples, rounds } = ctx.sizes;
    const lat: number[] = [];
    const raw1: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const p = await produce();
      p.push(sse({ type: "start" }));
      let arrived: ((sent: number, at: number) => void) | null = null;
      let started!: () => void;
      const ready = new Promise<void>((res) => (started = res));
      const es = listen(p.id, (data, at) => {
        const e = JSON.parse(data) as { type: string; delta?: string };
        if (e.type === "start") started();
        else if (e.type === "answer") arrived?.(Number(e.delta!.slice(2)), at);
      });
      await withTimeout(ready, 10_000, "peer stream start");
      for (let i = 0; i < latencyWarmup + latencySamples; i++) {
        const got = new Promise<number | null>((resolve) => {
          const timer = setTimeout(() => resolve(null), 5000);
          arrived = (sent, at) => {
            clearTimeout(timer);
            resolve(at - sent);
          };
        });
        p.push(sse({ type: "answer", delta: `t=${now().toFixed(3)}` }));
        const l = await got;
        if (l !== null && i >= latencyWarmup) lat.push(l);
        await sleep(1);
      }
      es.close();
      p.close();
      raw1.push(...(await rawLatencyRound(ctx.redisUrl, ctx.prefix, latencyWarmup, latencySamples)));
    }
    ctx.log(`  s8 latency p50 ${summarize(lat).p50.toFixed(2)} ms`);

    // --- 2. resume ---
    const { resumeWarmup, resumeSamples } = ctx.sizes;
    const res: number[] = [];
    const raw2: number[] = [];
    // Parley's own resumes through the same client, in the same rounds: ratios mean something only
    // when measured together (scenario 2's figure is minutes away, on a differently warmed machine).
    const parleyPlain: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const p = await produce();
      const chunks = [sse({ type: "start" }), ...Array.from({ length: 40 }, (_, i) => sse({ type: "answer", delta: `word${i} ` }))];
      for (const c of chunks) p.push(c);
      await sleep(50);
      for (let i = 0; i < resumeWarmup + resumeSamples; i++) {
        const k = 1 + Math.floor(Math.random() * (chunks.length - 2));
        const skip = chunks.slice(0, k).join("").length;
        let firstAt = 0;
        let first = "";
        let got!: () => void;
        const arrived = new Promise<void>((resolve) => (got = resolve));
        const t0 = now();
        const es = listen(
          p.id,
          (data, at) => {
            if (firstAt) return;
            firstAt = at;
            first = data;
            got();
          },
          skip,
        );
        await withTimeout(arrived, 10_000, "peer resume");
        es.close();
        if (`data: ${first}\n\n` !== chunks[k]) throw new Error(`peer resume gave ${first}, expected ${chunks[k]}`);
        if (i >= resumeWarmup) res.push(firstAt - t0);
        await sleep(5);
      }
      p.close();
      parleyPlain.push(...(await parleyResume(ctx.target, resumeWarmup, resumeSamples, "plain")));
      raw2.push(...(await rawResume(ctx.redisUrl, ctx.prefix, resumeWarmup, resumeSamples)));
    }
    ctx.log(`  s8 resume p50 ${summarize(res).p50.toFixed(2)} ms (Parley in the same rounds ${summarize(parleyPlain).p50.toFixed(2)} ms)`);

    // --- 3. throughput ---
    const { throughputEvents, throughputRounds } = ctx.sizes;
    const rates: number[] = [];
    const raw3: number[] = [];
    const peerRound = async (events: number) => {
      const p = await produce();
      p.push(sse({ type: "start" }));
      let count = 0;
      let lastAt = 0;
      let started!: () => void;
      const ready = new Promise<void>((r) => (started = r));
      let done!: () => void;
      const finished = new Promise<void>((r) => (done = r));
      const es = listen(p.id, (data, at) => {
        if (data.includes('"start"')) return started();
        if (++count === events) {
          lastAt = at;
          done();
        }
      });
      await withTimeout(ready, 10_000, "peer stream start");
      const payload = sse({ type: "answer", delta: "token " });
      const t0 = now();
      for (let sent = 0; sent < events; sent += BATCH) {
        for (let i = 0; i < Math.min(BATCH, events - sent); i++) p.push(payload);
        await new Promise((r) => setImmediate(r));
      }
      await withTimeout(finished, 180_000, `peer events (got ${count})`);
      es.close();
      p.close();
      return events / ((lastAt - t0) / 1000);
    };
    await peerRound(Math.min(2000, throughputEvents));
    for (let r = 0; r < throughputRounds; r++) {
      rates.push(await peerRound(throughputEvents));
      raw3.push(await rawThroughput(ctx.redisUrl, ctx.prefix, throughputEvents));
      ctx.log(`  s8 throughput round ${r + 1}: peer ${rates.at(-1)!.toFixed(0)} ev/s`);
    }

    const l = summarize(lat);
    const rs = summarize(res);
    const parleyResumes = summarize(parleyPlain);
    const t = rateSummary(rates);
    return {
      id: "s8",
      title: "8. The peer: resumable-stream on the same Redis",
      columns: { subject: "resumable-stream", baseline: "raw Redis", beside: "Parley" },
      method: `
\`resumable-stream\` ${peerVersion()} (ioredis adapters): the producer in the bench process (\`createNewResumableStream\` over a
ReadableStream the bench feeds SSE-formatted chunks, its own output drained as the asking browser would), the reader in a
separate Node HTTP server (\`resumeExistingStream(id, skipCharacters)\` → \`text/event-stream\`, no auth or database lookups:
ai-chatbot's \`GET /api/chat/[id]/stream\` without its checks), the client Node's \`eventsource\`. Same method, sizes and
raw baselines (re-measured here, interleaved) as scenarios 1–3: latency = chunk enqueued → message received, one at a time;
resume = new request with \`skip\` = characters already received → first missed chunk (checked); throughput = ${throughputEvents.toLocaleString("en-US")}
chunks enqueued ${BATCH} at a time → last received. How the peer moves data: an \`INCR\`/\`SET\` sentinel per stream, chunks kept
in the producer's memory (lost with it: a producer crash cannot be resumed), one \`PUBLISH\` per chunk per listener, awaited
before the next chunk is read; a resume asks the producer over pub/sub and gets the missed text as one message. The Parley
column is scenarios 1 and 3's figure; for resume, Parley's resumes read through the same \`eventsource\` client as the peer
(scenario 2's plain reader), so both servers are compared without the tRPC client's own time, measured here in the same
rounds as the peer's (each round: the peer's samples, then Parley's, then the raw baseline's).`,
      rows: [
        latencyRow("1. append → receive", l, summarize(raw1), { text: "" }, { beside: ctx.figures.get("s1.servers") ?? null }),
        latencyRow("2. reconnect → first missed event", rs, summarize(raw2), { text: "Parley's p50 below the peer's", check: (peer) => parleyResumes.p50 < peer.p50 }, { beside: parleyResumes }),
        rateRow("3. events through one subscription", "events/s", t, rateSummary(raw3), { text: "" }, { beside: ctx.figures.get("s3.servers") ?? null }),
      ],
    };
  } finally {
    await reader.stop();
    publisher.disconnect();
    subscriber.disconnect();
  }
}

function peerVersion(): string {
  try {
    return `v${(JSON.parse(fs.readFileSync("node_modules/resumable-stream/package.json", "utf8")) as { version: string }).version}`;
  } catch {
    return "";
  }
}
