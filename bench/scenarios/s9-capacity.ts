/**
 * Scenario 9 — how many users one instance serves: N answers streaming at once at 30 deltas/s,
 * one subscriber each, N raised step by step until p99 delivery latency passes 100 ms or an event
 * is lost; the largest N that held, with the server's CPU and RSS. The relay floor (no store), the
 * `resumable-stream` peer and Parley in turn, reading the same paced model.
 */
import { randomUUID } from "node:crypto";
import os from "node:os";
import http from "node:http";
import { createParser } from "eventsource-parser";
import type { Ctx } from "../lib/context";
import type { Row, ScenarioResult } from "../lib/report";
import { cpuMsOf, cpuMsOfAll, freePort, GC_ON_SIGNAL_ARGS, machineBusyMs, postgresPids, redisPid, rssOf, scrapeMetrics, settledRss, startScript } from "../lib/servers";
import { now, sleep, summarize, type Summary } from "../lib/stats";
import { chatStreamRequest, type Target } from "../lib/target";

const PACE_MS = 33;
const LATENCY_LIMIT_MS = 100;
const MiB = 2 ** 20;

interface StepResult {
  n: number;
  latency: Summary;
  lost: number;
  /** Server process CPU over the hold, in % of one core. */
  cpu: number;
  /** Server CPU per delta the model sent during the hold (µs). */
  cpuUsPerDelta: number;
  rssMiB: number;
  /** RSS with every answer still live, after a full GC (what the answers hold, not garbage). */
  liveRssMiB: number;
  /** Parley's event loop over the hold (and the 300 ms after it, while its last chunks arrive): its delay (p99, max) and the share of that time spent in GC. */
  loop?: { lagP99Ms: number; lagMaxMs: number; gcPercent: number };
  /** The bench process's own CPU over the hold (its subscribers), in % of one core. */
  clientCpu: number;
  /** Over the hold, in % of one core: the whole machine (of cores × 100), Redis, Postgres and the paced model's process. */
  machine: { busy: number; redis: number; postgres: number; model: number };
  held: boolean;
  why?: string;
  /** Why this N's first run failed, when it was run again (`ramp`); `held` and `why` are the second run's. */
  failedFirst?: string;
  /** The hold's slowest delivery, and whether the deliveries sent around it were slow too. */
  slowest?: SlowDelivery;
}

/** One chunk of a hold as its subscriber got it: answer, chunk number, when the model sent it, how long it took. */
interface Delivery {
  answer: number;
  chunk: number;
  t: number;
  ms: number;
}

interface SlowDelivery {
  answer: number;
  chunk: number;
  ms: number;
  /** When the model sent it, from the hold's start. */
  intoHoldMs: number;
  /** Deliveries sent within SLOW_NEIGHBOURHOOD_MS of it, and how many of them took over half as long. */
  nearby: number;
  nearbySlow: number;
}

/** How far either side of the slowest delivery its neighbours are looked at: a stall of the whole instance delays them all. */
const SLOW_NEIGHBOURHOOD_MS = 50;

/** One answer as its subscriber sees it: first arrival of each chunk k. */
interface Followed {
  received: Map<number, number>;
  sentAt: Map<number, number>;
  started: Promise<void>;
  ended: Promise<void>;
  close(): void;
}

/** Records the chunks `k@T;` of a (possibly merged) delta. */
function track(delta: string, at: number, f: Pick<Followed, "received" | "sentAt">) {
  for (const [, k, t] of delta.matchAll(/(\d+)@([\d.]+);/g)) {
    const key = Number(k);
    if (!f.received.has(key)) {
      f.received.set(key, at);
      f.sentAt.set(key, Number(t));
    }
  }
}

/** A system under test: starts `n` answers of run `run`, each followed by one subscriber. */
interface System {
  label: string;
  pid: number;
  start(run: string, n: number): Promise<Followed[]>;
  /** The server's own event-loop figures (Parley's /api/metrics), where it has them. */
  loop?: () => Promise<LoopFigures>;
}

/** From prom-client's default metrics: event-loop delay since the last scrape (it resets them), and GC time so far. */
interface LoopFigures {
  lagP99Ms: number;
  lagMaxMs: number;
  gcSeconds: number;
}

async function scrapeLoop(url: string): Promise<LoopFigures> {
  const metrics = await scrapeMetrics(url);
  return {
    lagP99Ms: metrics.value("nodejs_eventloop_lag_p99_seconds") * 1000,
    lagMaxMs: metrics.value("nodejs_eventloop_lag_max_seconds") * 1000,
    gcSeconds: metrics.sum("nodejs_gc_duration_seconds_sum"),
  };
}

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * One subscriber on an SSE endpoint, the same plain reader for both systems (Node's http and
 * eventsource-parser, then JSON.parse), so neither pays for a heavier client on the cores the
 * servers share: the `eventsource` package (fetch and web streams) cost the bench process as much
 * CPU per event as a server. `eventOf` takes the event out of a message's data. Under load a resume
 * can fail before any data (the peer's producer ack times out): the client tries again, as
 * ai-chatbot's auto-resume would.
 */
function followSse(url: string, headers: Record<string, string>, eventOf: (data: string) => { type: string; delta?: string }): Followed {
  const f = { received: new Map<number, number>(), sentAt: new Map<number, number>() };
  const started = deferred();
  const ended = deferred();
  let request: http.ClientRequest | null = null;
  let retries = 0;
  let closed = false;
  const close = () => {
    closed = true;
    request?.destroy();
  };
  const finish = () => {
    close();
    ended.resolve();
  };
  const failed = () => {
    if (closed) return ended.resolve();
    request?.destroy();
    if (f.received.size === 0 && retries++ < 5) setTimeout(open, 200);
    else finish();
  };
  const open = () => {
    const parser = createParser({
      onEvent: (message) => {
        // Only unnamed events, as EventSource's onmessage: tRPC's `connected`, `ping` and `return` are named.
        if (message.event !== undefined && message.event !== "message") return;
        const at = now();
        const e = eventOf(message.data);
        if (e.type === "answer") {
          track(e.delta!, at, f);
          started.resolve();
        } else if (e.type === "complete" || e.type === "error" || e.type === "stop") finish();
      },
    });
    request = http.get(url, { headers: { ...headers, accept: "text/event-stream" } }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return failed();
      }
      res.setEncoding("utf8");
      res.on("data", (text: string) => parser.feed(text));
      res.on("end", failed);
      res.on("error", failed);
    });
    request.on("error", failed);
  };
  open();
  return { ...f, started: started.promise, ended: ended.promise, close };
}

function parleySystem(target: Target): System & { sessions: string[] } {
  const client = target.client();
  const sessions: string[] = [];
  return {
    label: "Parley",
    pid: target.instance.pid,
    sessions,
    loop: () => scrapeLoop(target.instance.url),
    async start(run, n) {
      // One session per answer (a session streams one answer at a time), kept for later steps.
      while (sessions.length < n) {
        const batch = await Promise.all(
          Array.from({ length: Math.min(20, n - sessions.length) }, () => client.session.create.mutate({ title: "bench capacity", knowledgeBaseId: null })),
        );
        sessions.push(...batch.map((s) => s.id));
      }
      const followed: Followed[] = [];
      for (let i = 0; i < n; i += 50) {
        const batch = await Promise.all(
          sessions.slice(i, Math.min(n, i + 50)).map(async (sessionId, j) => {
            const turn = await client.chat.send.mutate({ sessionId, query: `bench run=${run} answer=${i + j}` });
            const { url, headers } = chatStreamRequest(target, { sessionId, messageId: turn.assistantMessage.id });
            return followSse(url, headers, (data) => (JSON.parse(data) as { json: { type: string; delta?: string } }).json);
          }),
        );
        followed.push(...batch);
      }
      return followed;
    },
  };
}

/** A server with the peer's routes (`bench/peer/server.ts`, or the relay floor `bench/peer/relay.ts`). */
function peerSystem(label: string, base: string, pid: number): System {
  return {
    label,
    pid,
    async start(run, n) {
      const followed: Followed[] = [];
      for (let i = 0; i < n; i += 50) {
        const batch = await Promise.all(
          Array.from({ length: Math.min(50, n - i) }, async (_, j) => {
            const id = randomUUID();
            const res = await fetch(`${base}/answer/${id}?q=${encodeURIComponent(`bench run=${run} answer=${i + j}`)}`, { method: "POST" });
            if (res.status !== 202) throw new Error(`peer answer: ${res.status} ${await res.text()}`);
            return followSse(`${base}/stream/${id}`, {}, (data) => JSON.parse(data) as { type: string; delta?: string });
          }),
        );
        followed.push(...batch);
      }
      return followed;
    },
  };
}

/** The paced model's process: its URL and pid. */
interface Model {
  url: string;
  pid: number;
}

/**
 * CPU so far (ms) of the machine, Redis, Postgres and the model; the function it returns turns a
 * second reading into % of a core over `ms`. The processes are looked up once, before the hold:
 * each reading is then a few reads of /proc, which stall nobody's event loop.
 */
async function machineCpu(model: Model) {
  const [redis, postgres] = await Promise.all([redisPid(), postgresPids()]);
  const read = () => ({ busy: machineBusyMs(), redis: redis === null ? NaN : cpuMsOf(redis), postgres: cpuMsOfAll(postgres), model: cpuMsOf(model.pid) });
  const from = read();
  return (ms: number) => {
    const to = read();
    const pct = (key: keyof typeof to) => ((to[key] - from[key]) / ms) * 100;
    return { busy: pct("busy"), redis: pct("redis"), postgres: pct("postgres"), model: pct("model") };
  };
}

/** One hold of N answers; `attempt` names a second run of the same N in profile labels. */
async function step(ctx: Ctx, system: System, model: Model, n: number, holdMs: number, attempt = ""): Promise<StepResult> {
  const run = randomUUID().slice(0, 8);
  const result = (partial: Partial<StepResult> & { why: string }): StepResult => ({
    n,
    latency: summarize([]),
    lost: 0,
    cpu: NaN,
    cpuUsPerDelta: NaN,
    rssMiB: rssOf(system.pid) / MiB,
    liveRssMiB: NaN,
    clientCpu: NaN,
    machine: { busy: NaN, redis: NaN, postgres: NaN, model: NaN },
    held: false,
    ...partial,
  });
  let followed: Followed[] = [];
  try {
    followed = await system.start(run, n);
    const allStarted = await Promise.race([Promise.all(followed.map((f) => f.started)).then(() => true), sleep(60_000).then(() => false)]);
    if (!allStarted) return result({ why: "not every answer's first delta arrived within 60 s" });
    // The hold: every answer streaming; chunks the model sent inside it are measured.
    // Before the hold, so neither delays a chunk measured in it: the scrape that starts the
    // server's loop figures (it resets them) and the lookups of the processes whose CPU is read.
    const loop0 = await system.loop?.();
    const loopFrom = now();
    const machineOver = await machineCpu(model);
    const cpu0 = cpuMsOf(system.pid);
    const client0 = process.cpuUsage();
    const from = now();
    const fromUs = Number(process.hrtime.bigint() / 1000n);
    await sleep(holdMs);
    const to = now();
    ctx.profileWindows.push({ label: `s9 ${system.label} N=${n}${attempt} hold`, pid: system.pid, fromUs, toUs: Number(process.hrtime.bigint() / 1000n) });
    const cpuMs = cpuMsOf(system.pid) - cpu0;
    const machine = machineOver(holdMs);
    const clientUsage = process.cpuUsage(client0);
    const clientCpu = ((clientUsage.user + clientUsage.system) / 1000 / holdMs) * 100;
    const cpu = (cpuMs / holdMs) * 100;
    const rssMiB = rssOf(system.pid) / MiB;
    // Once what was sent in the hold has arrived, so neither the closing scrape nor a collection's pause delays any of it.
    await sleep(300);
    const loopMs = now() - loopFrom;
    const loop1 = await system.loop?.();
    const loop = loop0 && loop1 ? { lagP99Ms: loop1.lagP99Ms, lagMaxMs: loop1.lagMaxMs, gcPercent: ((loop1.gcSeconds - loop0.gcSeconds) * 1000 * 100) / loopMs } : undefined;
    const liveRssMiB = (await settledRss(system.pid, true)) / MiB;
    const sent = (await (await fetch(`${model.url}/end?run=${run}`, { method: "POST" })).json()) as Record<string, number>;
    await Promise.race([Promise.all(followed.map((f) => f.ended)), sleep(15_000)]);
    const deliveries: Delivery[] = [];
    let lost = 0;
    followed.forEach((f, i) => {
      const count = sent[String(i)] ?? 0;
      for (let k = 0; k < count; k++) {
        const at = f.received.get(k);
        if (at === undefined) lost++;
        else {
          const t = f.sentAt.get(k)!;
          if (t >= from && t <= to) deliveries.push({ answer: i, chunk: k, t, ms: at - t });
        }
      }
    });
    const latencies = deliveries.map((d) => d.ms);
    const latency = summarize(latencies);
    const slowest = slowestOf(deliveries, from);
    if (slowest) {
      // Its stretch in the server's own profile (with --profile), laid out in time: where its milliseconds went.
      const sentUs = (slowest.intoHoldMs + from) * 1000 + monotonicOffsetUs();
      ctx.profileWindows.push({ label: `s9 ${system.label} N=${n}${attempt} slowest delivery (${slowest.ms.toFixed(0)} ms)`, pid: system.pid, fromUs: sentUs, toUs: sentUs + slowest.ms * 1000, timeline: true });
    }
    const held = lost === 0 && latency.p99 <= LATENCY_LIMIT_MS;
    const cpuUsPerDelta = latencies.length > 0 ? (cpuMs * 1000) / latencies.length : NaN;
    return { n, latency, lost, cpu, cpuUsPerDelta, rssMiB, liveRssMiB, loop, clientCpu, machine, held, ...(slowest && { slowest }), ...(!held && { why: lost ? `${lost} events lost` : `p99 ${latency.p99.toFixed(0)} ms` }) };
  } catch (error) {
    await fetch(`${model.url}/end?run=${run}`, { method: "POST" }).catch(() => undefined);
    return result({ why: (error as Error).message });
  } finally {
    for (const f of followed) f.close();
    await sleep(1000);
  }
}

/** The slowest of a hold's deliveries, with how the deliveries sent around it fared. */
function slowestOf(deliveries: Delivery[], holdFrom: number): SlowDelivery | undefined {
  const worst = deliveries.reduce<Delivery | undefined>((a, d) => (a && a.ms >= d.ms ? a : d), undefined);
  if (!worst) return undefined;
  const nearby = deliveries.filter((d) => d !== worst && Math.abs(d.t - worst.t) <= SLOW_NEIGHBOURHOOD_MS);
  return {
    answer: worst.answer,
    chunk: worst.chunk,
    ms: worst.ms,
    intoHoldMs: worst.t - holdFrom,
    nearby: nearby.length,
    nearbySlow: nearby.filter((d) => d.ms > worst.ms / 2).length,
  };
}

/** Monotonic clock µs (a CPU profile's clock) minus epoch µs (the model's stamps), in this process. */
const monotonicOffsetUs = () => Number(process.hrtime.bigint() / 1000n) - now() * 1000;

const slowText = (s: SlowDelivery) =>
  `slowest delivery ${s.ms.toFixed(0)} ms (answer ${s.answer}, chunk ${s.chunk}, sent ${(s.intoHoldMs / 1000).toFixed(2)} s into the hold); of the ${s.nearby} deliveries sent within ${SLOW_NEIGHBOURHOOD_MS} ms of it, ${s.nearbySlow} took over half as long`;

const machineText = (r: StepResult) =>
  `machine ${r.machine.busy.toFixed(0)} % of ${os.cpus().length * 100} % (Redis ${r.machine.redis.toFixed(0)} %, Postgres ${r.machine.postgres.toFixed(0)} %, model ${r.machine.model.toFixed(0)} %, bench client ${r.clientCpu.toFixed(0)} %)`;

const loopText = (r: StepResult) =>
  r.loop ? `, event-loop delay p99 ${r.loop.lagP99Ms.toFixed(0)} ms (max ${r.loop.lagMaxMs.toFixed(0)}), GC ${r.loop.gcPercent.toFixed(1)} % of the hold` : "";

interface Ramp {
  steps: StepResult[];
  /** RSS of the idle server before the first step, after a full GC (MiB). */
  idleRssMiB: number;
}

/**
 * Raises N until a step fails (or the safety budget runs out), on a server nobody else used. A
 * step that fails is run once more, and ends the ramp only when it fails again: the bench shares
 * two cores with every other process of the machine, and one stall of theirs in a 5 s hold must
 * not end a ramp at N=50 (the relay floor's once did). Every system's ramp gets the same second chance.
 */
async function ramp(ctx: Ctx, system: System, model: Model, steps: number[], holdMs: number, budgetMs: number): Promise<Ramp> {
  const results: StepResult[] = [];
  const idleRssMiB = (await settledRss(system.pid, true)) / MiB;
  const t0 = Date.now();
  const run = async (n: number, attempt: string) => {
    const r = await step(ctx, system, model, n, holdMs, attempt);
    ctx.log(
      `  s9 ${system.label} N=${n}${attempt}: p50 ${r.latency.p50.toFixed(1)} p99 ${r.latency.p99.toFixed(1)} ms, lost ${r.lost}, CPU ${r.cpu.toFixed(0)} % (${r.cpuUsPerDelta.toFixed(0)} µs/delta), RSS ${r.rssMiB.toFixed(0)} MiB (${r.liveRssMiB.toFixed(0)} after a GC), ${machineText(r)}${loopText(r)}${r.slowest ? `; ${slowText(r.slowest)}` : ""}${r.held ? "" : ` — ${r.why}`}`,
    );
    return r;
  };
  for (const n of steps) {
    let r = await run(n, "");
    if (!r.held) r = { ...(await run(n, ", run again")), failedFirst: r.why };
    results.push(r);
    if (!r.held || Date.now() - t0 > budgetMs) break;
  }
  return { steps: results, idleRssMiB };
}

/** The paced model, in a process of its own for one system's ramp (no state left over from the other's). */
async function startModel() {
  const port = await freePort();
  const process = await startScript("bench/lib/pacedModel.ts", { PORT: String(port), PACE_MS: String(PACE_MS) });
  return { url: `http://127.0.0.1:${port}`, pid: process.pid, stop: () => process.stop() };
}

export async function run(ctx: Ctx): Promise<ScenarioResult> {
  const steps = ctx.quick ? [50, 100, 200, 300, 400, 500, 600, 800, 1000] : [25, 50, 75, 100, 200, 300, 400, 500, 600, 750, 1000, 1500, 2000, 3000];
  const holdMs = ctx.quick ? 5_000 : 20_000;
  // A safety net only: each ramp normally ends at its first failing step.
  const budgetMs = ctx.quick ? 180_000 : 420_000;
  const maxConcurrent = steps.at(-1)!;
  if (!ctx.freshTarget) throw new Error("scenario 9 needs its own Parley process");

  // Each system ramps on a fresh server of its own reading a fresh model process: the relay floor
  // and the peer first, so nothing of Parley's ramp (its model replies, its connections) is still around during theirs.
  const rampScript = async (label: string, script: string, env: Record<string, string>) => {
    const model = await startModel();
    const port = await freePort();
    const server = await startScript(script, { PORT: String(port), MODEL_URL: `${model.url}/v1`, ...env }, GC_ON_SIGNAL_ARGS);
    try {
      return await ramp(ctx, peerSystem(label, `http://127.0.0.1:${port}`, server.pid), model, steps, holdMs, budgetMs);
    } finally {
      await server.stop();
      await model.stop();
    }
  };
  const floorRamp = await rampScript("relay floor", "bench/peer/relay.ts", {});
  const peerRamp = await rampScript("resumable-stream", "bench/peer/server.ts", { REDIS_URL: ctx.redisUrl, PEER_PREFIX: `${ctx.prefix}peer9` });

  const model = await startModel();
  const target = await ctx.freshTarget({
    OPENAI_BASE_URL: `${model.url}/v1`,
    OPENAI_API_KEY: "bench",
    PARLEY_CHAT_MODEL: "paced",
    PARLEY_MAX_CONCURRENT_ANSWERS: String(maxConcurrent),
  }, GC_ON_SIGNAL_ARGS);
  let parleyRamp: Ramp;
  try {
    parleyRamp = await ramp(ctx, parleySystem(target), model, steps, holdMs, budgetMs);
  } finally {
    await target.close();
    await target.instance.stop();
    await model.stop();
  }
  const parley = parleyRamp.steps;
  const peerResults = peerRamp.steps;

  const largest = (rs: StepResult[]) => rs.filter((r) => r.held).at(-1) ?? null;
  const bestParley = largest(parley);
  const bestPeer = largest(peerResults);
  const bestFloor = largest(floorRamp.steps);
  const floorN = bestFloor?.n ?? 0;
  const one = (v: number): Summary => ({ n: 1, p50: v, p99: v, mean: v, min: v, max: v });
  const stepRow = (label: string, r: StepResult): Row => ({
    metric: `${label} N=${r.n}: delivery latency`,
    unit: "ms",
    parley: r.latency,
    baseline: null,
    ratio: null,
    target: `p99 ≤ ${LATENCY_LIMIT_MS} ms, 0 lost`,
    met: r.held,
    note: `lost ${r.lost}, server CPU ${r.cpu.toFixed(0)} % of a core (${r.cpuUsPerDelta.toFixed(0)} µs per delta), RSS ${r.rssMiB.toFixed(0)} MiB; ${machineText(r)}${loopText(r)}${r.slowest ? `; ${slowText(r.slowest)}` : ""}${r.why ? `; ${r.why}` : ""}${r.failedFirst ? `; ${r.held ? "held when run again" : "failed when run again too"} (the first run: ${r.failedFirst})` : ""}`,
  });
  /** The step that ended a ramp (or its last, had none failed). */
  const limitOf = (rs: StepResult[]) => rs.find((r) => !r.held) ?? rs.at(-1) ?? null;
  const parleyLimit = limitOf(parley);
  const peerLimit = limitOf(peerResults);
  const parleyN = bestParley?.n ?? 0;
  const peerN = bestPeer?.n ?? 0;
  const sameN = Math.min(parleyN, peerN);
  const parleyAtSameN = parley.find((r) => r.held && r.n === sameN) ?? null;
  const peerAtSameN = peerResults.find((r) => r.held && r.n === sameN) ?? null;
  /** KiB of RSS each live answer adds over the idle server, at the largest N held (both after a full GC). */
  const kibPerAnswer = (best: StepResult | null, r: Ramp) => (best ? ((best.liveRssMiB - r.idleRssMiB) * 1024) / best.n : NaN);
  const orNaN = (v: number | undefined) => one(v ?? NaN);
  /** The CPU 2,000 answers would take at Parley's cost per delta: what stands between its limit and the goal. */
  const coresFor2000 = bestParley ? (bestParley.cpuUsPerDelta * 2000 * (1000 / PACE_MS)) / 1e6 : NaN;
  const rows: Row[] = [
    {
      metric: "largest N held: Parley",
      unit: "answers",
      parley: one(parleyN),
      baseline: one(peerN),
      ratio: peerN > 0 ? parleyN / peerN : null,
      target: "at least twice the peer's",
      met: parleyN >= 2 * peerN && parleyN > 0,
      note: `at that N: Parley CPU ${bestParley ? bestParley.cpu.toFixed(0) : "–"} %, RSS ${bestParley ? bestParley.rssMiB.toFixed(0) : "–"} MiB; peer CPU ${bestPeer ? bestPeer.cpu.toFixed(0) : "–"} %, RSS ${bestPeer ? bestPeer.rssMiB.toFixed(0) : "–"} MiB`,
    },
    {
      metric: "largest N held: the relay floor (model → subscriber, nothing stored)",
      unit: "answers",
      parley: one(floorN),
      baseline: one(peerN),
      ratio: peerN > 0 ? floorN / peerN : null,
      target: "",
      met: null,
      note: `the least work a live answer can cost on this machine (bench/peer/relay.ts): no server holds more here. At that N: CPU ${bestFloor ? bestFloor.cpu.toFixed(0) : "–"} % (${bestFloor ? bestFloor.cpuUsPerDelta.toFixed(0) : "–"} µs per delta), ${bestFloor ? machineText(bestFloor) : "–"}`,
    },
    {
      metric: `server CPU per delta at the largest N both held (N=${sameN})`,
      unit: "µs",
      parley: orNaN(parleyAtSameN?.cpuUsPerDelta),
      baseline: orNaN(peerAtSameN?.cpuUsPerDelta),
      ratio: parleyAtSameN && peerAtSameN ? parleyAtSameN.cpuUsPerDelta / peerAtSameN.cpuUsPerDelta : null,
      target: "below the peer's",
      met: !!parleyAtSameN && !!peerAtSameN && parleyAtSameN.cpuUsPerDelta < peerAtSameN.cpuUsPerDelta,
      note: "the server process's user+system CPU over the hold ÷ the chunks the model sent in it; compared at one load, as a fixed cost per second weighs less per delta at a larger N",
    },
    {
      metric: `memory per live answer at the largest N both held (N=${sameN})`,
      unit: "KiB",
      parley: one(kibPerAnswer(parleyAtSameN, parleyRamp)),
      baseline: one(kibPerAnswer(peerAtSameN, peerRamp)),
      ratio: null,
      target: "below the peer's",
      met: kibPerAnswer(parleyAtSameN, parleyRamp) < kibPerAnswer(peerAtSameN, peerRamp),
      note: `RSS with every answer live minus the idle server's, each after a full GC (Parley ${parleyRamp.idleRssMiB.toFixed(0)} MiB, peer ${peerRamp.idleRssMiB.toFixed(0)} MiB), ÷ N`,
    },
    {
      metric: "distance to 2,000 live answers",
      unit: "×",
      parley: one(parleyN > 0 ? 2000 / parleyN : NaN),
      baseline: null,
      ratio: null,
      target: "1 (the compass goal)",
      met: parleyN >= 2000,
      note: `at ${bestParley ? bestParley.cpuUsPerDelta.toFixed(0) : "–"} µs per delta, 2,000 answers × 30 deltas/s would need ${coresFor2000.toFixed(1)} cores of server CPU alone (this machine has 2, shared with Redis, Postgres, the model and the bench's clients)`,
    },
    {
      metric: `at each one's limit (Parley N=${parleyLimit?.n ?? "–"}, peer N=${peerLimit?.n ?? "–"}): slowest delivery`,
      unit: "ms",
      parley: orNaN(parleyLimit?.slowest?.ms),
      baseline: orNaN(peerLimit?.slowest?.ms),
      ratio: null,
      target: "",
      met: null,
      note: `what sets the latency at the limit (the first step that failed). Parley: ${parleyLimit?.slowest ? slowText(parleyLimit.slowest) : "–"}${parleyLimit ? loopText(parleyLimit) : ""}. Peer: ${peerLimit?.slowest ? slowText(peerLimit.slowest) : "–"}. With --profile, the report's profile section lays out each step's slowest delivery in the server's own profile`,
    },
    ...parley.map((r) => stepRow("Parley", r)),
    ...peerResults.map((r) => stepRow("resumable-stream", r)),
    ...floorRamp.steps.map((r) => stepRow("relay floor", r)),
  ];
  return {
    id: "s9",
    title: "9. How many live answers one instance serves (30 deltas/s each, one subscriber each)",
    columns: { subject: "Parley / resumable-stream (per row)", baseline: "resumable-stream" },
    method: `
A paced model (\`bench/lib/pacedModel.ts\`, its own process, OpenAI chat-completions streaming) sends each answer one chunk every
${PACE_MS} ms (30 deltas/s), each chunk carrying its number and send time. N answers stream at once, each followed by one
subscriber in the bench process; N = ${steps.join(", ")}; each N held ${holdMs / 1000} s once every answer's first delta has arrived,
then the model ends the replies; a step fails when its p99 delivery latency (model send → subscriber receipt, chunks sent
during the hold) passes ${LATENCY_LIMIT_MS} ms or it loses an event (a chunk the model sent that never arrived); a failed step is
run once more, for every system alike (one stall of the shared machine does not end a ramp), and the ramp stops at the first N
that fails twice, or after
${budgetMs / 1000} s (a safety net). CPU = the server process's user+system time over the hold (% of one core), and per delta the
model sent in it; RSS at the end of the hold, and per live answer: RSS with every answer still live over the idle server's, both
the median of 5 samples each after a full GC (both servers run with \`--expose-gc\`; the collections come after the hold's
chunks have arrived), so it counts what answers hold rather than garbage not yet collected. The relay floor ramps first, then the peer,
then Parley, each on a fresh server reading a fresh model process. **The relay floor** (\`bench/peer/relay.ts\`) only passes
each model chunk to its subscriber's SSE response in one process (no store, no Redis, no resume): the least a live answer can
cost here, so the largest N it holds bounds what any server holds on this machine.
**Parley** does all its durable work: a fresh instance (Postgres + Redis) with \`OPENAI_BASE_URL\` at the paced model,
\`PARLEY_MAX_CONCURRENT_ANSWERS=${maxConcurrent}\` (the runner's FIFO queue therefore never holds an answer back), limits off
(\`PARLEY_RATE_LIMIT_PER_MINUTE=0\`, \`PARLEY_SEND_LIMIT_PER_MINUTE=0\`, and \`PARLEY_STREAMS_PER_KEY\` out of reach: every subscriber is the bench's one key); each answer is a real \`chat.send\` on its own session (no
knowledge base, titled, so no retrieval or title call): answer lock, question and answer rows, context, the model stream,
the stream writer's batched XADDs, the progress row writes, the final row and context record; each subscriber a
\`chat.stream\` subscription (tRPC's SSE endpoint read by the same plain reader the peer's subscribers use, so
neither pays for a heavier client on the shared cores; delivery may merge deltas). **resumable-stream**
(the peer, its own work only): \`bench/peer/server.ts\` fetches the same model's stream and feeds it into
\`createNewResumableStream\` in its process (no database), each subscriber \`GET /stream/<id>\` there
(\`resumeExistingStream\`). All subscribers' SSE parsing runs in the one bench process, on the same
2 cores as the servers, the model, Postgres and Redis: the bench's own client side is part of what saturates.`,
    rows,
  };
}
