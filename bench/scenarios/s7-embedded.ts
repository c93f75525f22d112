/**
 * Scenario 7 — scenarios 1–4 on the embedded default: PGlite + the in-process store, one
 * Parley's server without DATABASE_URL or REDIS_URL. The store lives inside the server process, so the
 * producer is the probe (bench/lib/probe.mjs) loaded into that process: it appends with Parley's
 * own store object and stamps each event right before the append, on the same clock as the bench.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Ctx } from "../lib/context";
import { latencyRow, rateRow, type Row, type ScenarioResult } from "../lib/report";
import { BENCH_LIMITS, bootstrapKey, freePort, ROOT, startParley } from "../lib/servers";
import { rateSummary, summarize } from "../lib/stats";
import { embeddedTarget } from "../lib/target";
import { parleyLatencyRound, rawLatencyRound } from "./s1-latency";
import { parleyResume, rawResume } from "./s2-resume";
import { parleyThroughput, rawThroughput, realAnswer } from "./s3-throughput";
import { createRows, measureCreate, rawPgliteInsert } from "./s4-create";

export async function run(ctx: Ctx, nodeArgs: string[] = []): Promise<ScenarioResult> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "parley-bench-embedded-"));
  const probePort = await freePort();
  const apiKey = bootstrapKey();
  const instance = await startParley({
    kind: "embedded",
    env: {
      PARLEY_DATA_DIR: path.join(dataDir, "pglite"),
      PARLEY_BOOTSTRAP_KEY: apiKey,
      PARLEY_REDIS_PREFIX: ctx.prefix,
      PARLEY_OFFLINE_TOKEN_DELAY_MS: "0",
      BENCH_PROBE_PORT: String(probePort),
      ...BENCH_LIMITS,
    },
    nodeArgs: ["--import", `file://${path.join(ROOT, "bench/lib/probe.mjs")}`, ...nodeArgs],
  });
  const target = embeddedTarget(instance, { apiKey, prefix: ctx.prefix, probePort });
  try {
    const health = (await (await fetch(`${instance.url}/api/health`)).json()) as { db: string; redis: string };
    if (health.db !== "pglite" || health.redis !== "memory") throw new Error(`embedded instance reports ${JSON.stringify(health)}`);
    const s = ctx.sizes;
    // 1
    const lat: number[] = [];
    const raw1: number[] = [];
    let lost = 0;
    for (let r = 0; r < s.rounds; r++) {
      const round = await parleyLatencyRound(target, s.latencyWarmup, s.latencySamples);
      lat.push(...round.latencies);
      lost += round.lost;
      raw1.push(...(await rawLatencyRound(ctx.redisUrl, ctx.prefix, s.latencyWarmup, s.latencySamples)));
    }
    ctx.log(`  s7 latency p50 ${summarize(lat).p50.toFixed(2)} ms`);
    // 2
    const res: number[] = [];
    const raw2: number[] = [];
    for (let r = 0; r < s.rounds; r++) {
      res.push(...(await parleyResume(target, s.resumeWarmup, s.resumeSamples)));
      raw2.push(...(await rawResume(ctx.redisUrl, ctx.prefix, s.resumeWarmup, s.resumeSamples)));
    }
    ctx.log(`  s7 resume p50 ${summarize(res).p50.toFixed(2)} ms`);
    // 3
    await parleyThroughput(target, Math.min(2000, s.throughputEvents));
    const rates: number[] = [];
    const raw3: number[] = [];
    for (let r = 0; r < s.throughputRounds; r++) {
      rates.push(await parleyThroughput(target, s.throughputEvents));
      raw3.push(await rawThroughput(ctx.redisUrl, ctx.prefix, s.throughputEvents));
    }
    ctx.log(`  s7 throughput ${rateSummary(rates).p50.toFixed(0)} ev/s`);
    const client = target.client();
    await realAnswer(client);
    const real: number[] = [];
    for (let i = 0; i < s.realAnswers; i++) real.push((await realAnswer(client)).ms);
    // 4
    const { figures, rawLabel } = await measureCreate(ctx, target, () => rawPgliteInsert());
    const besides = new Map(
      s.concurrency.map((c) => [c, { rate: ctx.figures.get(`s4.servers.c${c}.rate`), latency: ctx.figures.get(`s4.servers.c${c}.latency`), floor: ctx.figures.get(`s4.servers.c${c}.floor`) }]),
    );
    const rows: Row[] = [
      latencyRow("1. append → receive", summarize(lat), summarize(raw1), { text: "p50 ≤ 2 ms, p99 ≤ 10 ms", check: (x) => x.p50 <= 2 && x.p99 <= 10 }, {
        beside: ctx.figures.get("s1.servers") ?? null,
        ...(lost ? { met: false, note: `${lost} events lost` } : {}),
      }),
      latencyRow("2. reconnect → first missed event", summarize(res), summarize(raw2), { text: "p50 ≤ 5 ms", check: (x) => x.p50 <= 5 }, {
        beside: ctx.figures.get("s2.servers") ?? null,
      }),
      rateRow("3. events through one subscription", "events/s", rateSummary(rates), rateSummary(raw3), { text: "≥ 50 % of raw", minRatio: 0.5 }, {
        beside: ctx.figures.get("s3.servers") ?? null,
      }),
      latencyRow("3. real answer, delay 0: send → complete", summarize(real), null, { text: "" }, { beside: ctx.figures.get("s3.real.servers") ?? null }),
      ...createRows(figures, besides).map((r) => ({ ...r, metric: `4. session.create ${r.metric}` })),
    ];
    return {
      id: "s7",
      title: "7. Embedded default (PGlite + in-process store): scenarios 1–4",
      columns: { subject: "embedded", baseline: "raw", beside: "Parley on Postgres/Redis" },
      method: `
One Parley server with neither \`DATABASE_URL\` nor \`REDIS_URL\` (health: \`pglite\`/\`memory\`), a fresh PGlite directory, the
offline model at delay 0. The event store lives inside the server process, so the producer for 1–3 cannot be the bench process:
the bench loads a small probe into the server process (\`node --import bench/lib/probe.mjs\`, bench-owned, never in
production) that appends with Parley's own in-process store object (\`app.store.append\`, the same call the answer pipeline
makes) on the bench's request, stamping each event right before the append on the shared clock
(\`performance.timeOrigin + performance.now()\`); the bench's request to the probe is outside the timed span. Rows and locks for the
bench's \`streaming\` answers go through the probe too (\`app.db.execute\`, \`app.store.set\`). Everything else is as in 1–4.
Baselines: 1–3 against raw Redis \`XADD\`→\`XREAD\` (re-measured here, interleaved: the same limit as the Redis variant, there is no
raw equivalent of an in-process store); 4 against ${rawLabel} at the same concurrency. The last columns repeat Parley on
Postgres + Redis from scenarios 1–4 of this run.`,
      rows,
    };
  } finally {
    await target.close();
    await instance.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
