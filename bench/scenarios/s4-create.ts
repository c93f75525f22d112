/**
 * Scenario 4 — `session.create` over HTTP at concurrency 1, 8 and 32; baseline the same row inserted
 * with raw postgres-js (or raw PGlite for the embedded variant) at the same concurrency.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import postgres from "postgres";
import { createParleyClient } from "../../client";
import { defaultAgentConfig, defaultContextConfig, defaultStrategy, defaultSummaryParameters } from "../../common/settings";
import type { Ctx } from "../lib/context";
import { latencyRow, rateRow, type Row, type ScenarioResult } from "../lib/report";
import { now, rateSummary, summarize, type Summary } from "../lib/stats";
import { plainTrpc, type Target } from "../lib/target";

/** Parley's postgres-js pool size (db/index.ts): the raw baseline gets the same. */
const PARLEY_POOL = 10;

const RETURNING = `id, tenant_id, user_id, title, description, knowledge_base_id, pinned, pinned_at, strategy, summary_parameters, agent_config, context_config, created_at, updated_at`;
const INSERT = `insert into sessions (tenant_id, user_id, title, description, knowledge_base_id, strategy, summary_parameters, agent_config, context_config)
  values ($1, $2, '', '', null, $3, $4, $5, $6) returning ${RETURNING}`;

export type Op = () => Promise<unknown>;

/** `workers` closed loops sharing `ops` operations; returns ops/s and every op's latency. */
export async function closedLoop(workers: number, ops: number, makeOp: (worker: number) => Op): Promise<{ rate: number; latencies: number[] }> {
  let next = 0;
  const latencies: number[] = [];
  const fns = Array.from({ length: workers }, (_, w) => makeOp(w));
  const t0 = now();
  await Promise.all(
    fns.map(async (op) => {
      while (next++ < ops) {
        const t = now();
        await op();
        latencies.push(now() - t);
      }
    }),
  );
  return { rate: ops / ((now() - t0) / 1000), latencies };
}

export interface CreateFigures {
  concurrency: number;
  /** The same loop against an unauthenticated tRPC call (401 from the auth middleware): Next + tRPC alone. */
  floorRate?: Summary;
  rate: Summary;
  latency: Summary;
  /** The same loop through the SDK's tRPC client (its own CPU on the same cores included). */
  sdkRate: Summary;
  rawRate: Summary;
  rawLatency: Summary;
}

type RawInsert = { op: Op; close(): Promise<void>; label: string };

export async function rawPostgresInsert(databaseUrl: string, tenantId: string, userId: string, concurrency: number): Promise<RawInsert> {
  const sql = postgres(databaseUrl, { max: Math.min(concurrency, PARLEY_POOL), onnotice: () => {} });
  const params = [tenantId, userId, ...[defaultStrategy(), defaultSummaryParameters(), defaultAgentConfig(), defaultContextConfig()].map((v) => sql.json(v as never))];
  await sql`select 1`;
  return {
    label: "raw postgres-js INSERT",
    op: () => sql.unsafe(INSERT, params as never[]),
    close: () => sql.end(),
  };
}

/** An embedded database of its own (same schema and migrations) in the bench process. */
export async function rawPgliteInsert(): Promise<RawInsert & { ids: { tenantId: string; userId: string } }> {
  const { openDb } = await import("../../db");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "parley-bench-pglite-raw-"));
  const migrated = await openDb({ dataDir: path.join(dir, "db") });
  await migrated.close();
  const { PGlite } = await import("@electric-sql/pglite");
  // The extensions the migrations created (db/index.ts): PGlite must load them to open the database.
  const { btree_gin } = await import("@electric-sql/pglite/contrib/btree_gin");
  const { vector } = await import("@electric-sql/pglite-pgvector");
  const pg = await PGlite.create(path.join(dir, "db"), { extensions: { btree_gin, vector } });
  const { id: tenantId } = (await pg.query<{ id: string }>(`insert into tenants (name) values ('bench') returning id`)).rows[0]!;
  const { id: userId } = (await pg.query<{ id: string }>(`insert into users (tenant_id, name, role) values ($1, 'bench', 'owner') returning id`, [tenantId])).rows[0]!;
  const params = [tenantId, userId, ...[defaultStrategy(), defaultSummaryParameters(), defaultAgentConfig(), defaultContextConfig()].map((v) => JSON.stringify(v))];
  return {
    label: "raw PGlite INSERT (own embedded db in the bench process)",
    ids: { tenantId, userId },
    op: () => pg.query(INSERT, params),
    close: async () => {
      await pg.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function measureCreate(
  ctx: Ctx,
  target: Target,
  makeRaw: (concurrency: number) => Promise<RawInsert>,
): Promise<{ figures: CreateFigures[]; rawLabel: string }> {
  const { createOps, createRounds, concurrency } = ctx.sizes;
  const figures: CreateFigures[] = [];
  let rawLabel = "";
  for (const c of concurrency) {
    const plain = Array.from({ length: c }, () => plainTrpc(target));
    const parleyOp = (w: number) => () => plain[w]!.mutate("session.create", {});
    const clients = Array.from({ length: c }, () => createParleyClient({ url: target.instance.url, apiKey: target.apiKey }));
    const sdkOp = (w: number) => () => clients[w]!.session.create.mutate({});
    const raw = await makeRaw(c);
    rawLabel = raw.label;
    // Warm-up: connections, JIT, plan caches.
    await closedLoop(c, Math.max(300, c * 10), parleyOp);
    await closedLoop(c, Math.max(300, c * 10), sdkOp);
    await closedLoop(c, Math.max(300, c * 10), () => raw.op);
    const rates: number[] = [];
    const sdkRates: number[] = [];
    const rawRates: number[] = [];
    const lat: number[] = [];
    const rawLat: number[] = [];
    for (let r = 0; r < createRounds; r++) {
      const p = await closedLoop(c, createOps, parleyOp);
      rates.push(p.rate);
      lat.push(...p.latencies);
      sdkRates.push((await closedLoop(c, createOps, sdkOp)).rate);
      const b = await closedLoop(c, createOps, () => raw.op);
      rawRates.push(b.rate);
      rawLat.push(...b.latencies);
    }
    await raw.close();
    // The framework's floor: the same loop, a tRPC call that stops at the auth middleware (no database, no Redis).
    const anonymous = Array.from({ length: c }, () => plainTrpc(target, { anonymous: true }));
    const floorOp = (w: number) => async () => {
      const { status } = await anonymous[w]!.query("auth.me");
      if (status !== 401) throw new Error(`auth.me without a key: ${status}`);
    };
    await closedLoop(c, Math.max(300, c * 10), floorOp);
    const floorRates: number[] = [];
    for (let r = 0; r < createRounds; r++) floorRates.push((await closedLoop(c, createOps, floorOp)).rate);
    for (const p of [...plain, ...anonymous]) p.close();
    figures.push({ concurrency: c, floorRate: rateSummary(floorRates), rate: rateSummary(rates), latency: summarize(lat), sdkRate: rateSummary(sdkRates), rawRate: rateSummary(rawRates), rawLatency: summarize(rawLat) });
    ctx.log(`  s4 ${target.kind} c=${c}: parley ${rateSummary(rates).p50.toFixed(0)} ops/s (through the SDK ${rateSummary(sdkRates).p50.toFixed(0)}), raw ${rateSummary(rawRates).p50.toFixed(0)} ops/s`);
  }
  return { figures, rawLabel };
}

export function createRows(figures: CreateFigures[], besides?: Map<number, { rate?: Summary; latency?: Summary; floor?: Summary }>): Row[] {
  return figures.flatMap((f) => [
    rateRow(`c=${f.concurrency} floor: unauthenticated call (401), no db`, "ops/s", f.floorRate ?? null, f.rawRate, { text: "" }, {
      ...(besides ? { beside: besides.get(f.concurrency)?.floor ?? null } : {}),
      note: "Next + tRPC alone (the auth middleware answers UNAUTHORIZED before any query): the ceiling any procedure on this stack can reach here",
    }),
    rateRow(`c=${f.concurrency} throughput`, "ops/s", f.rate, f.rawRate, { text: "≥ 40 % of raw", minRatio: 0.4 }, besides ? { beside: besides.get(f.concurrency)?.rate ?? null } : {}),
    latencyRow(`c=${f.concurrency} latency`, f.latency, f.rawLatency, { text: "" }, besides ? { beside: besides.get(f.concurrency)?.latency ?? null } : {}),
    rateRow(`c=${f.concurrency} throughput through @parley/sdk`, "ops/s", f.sdkRate, f.rawRate, { text: "" }, {
      note: "the same calls through the SDK's tRPC client, whose fetch (undici) spends about 1 ms of CPU a call on the cores the server uses",
    }),
  ]);
}

export async function run(ctx: Ctx): Promise<ScenarioResult> {
  const me = await ctx.target.client().auth.me.query();
  const { figures, rawLabel } = await measureCreate(ctx, ctx.target, (c) => rawPostgresInsert(ctx.databaseUrl, me.tenant.id, me.user.id, c));
  for (const f of figures) {
    ctx.figures.set(`s4.servers.c${f.concurrency}.rate`, f.rate);
    ctx.figures.set(`s4.servers.c${f.concurrency}.latency`, f.latency);
    if (f.floorRate) ctx.figures.set(`s4.servers.c${f.concurrency}.floor`, f.floorRate);
  }
  const { createOps, createRounds } = ctx.sizes;
  return {
    id: "s4",
    title: "4. session.create over HTTP vs raw INSERT",
    method: `
Closed loops: N workers (N = concurrency), each with its own keep-alive connection (so concurrent calls are N HTTP requests,
not one batch), call \`session.create\` with \`{}\` (defaults applied by Parley) until ${createOps} calls are done; ${createRounds} rounds per
concurrency after a warm-up. The calls are tRPC's own requests (\`POST /api/trpc/session.create\`, \`{"json":{}}\`, the key in a
header) sent with Node's http, so the figure counts the server and not a client: the SDK's tRPC client (undici's fetch) spends
about 1 ms of CPU a call on the same two cores, which the "through @parley/sdk" rows show. Baseline: ${rawLabel} of the same row (tenant, user, the default config objects as jsonb,
\`RETURNING\` the same 14 columns), same N workers, pool of min(N, ${PARLEY_POOL}) connections like Parley's pool of ${PARLEY_POOL}.
Parley's call also authenticates the API key (one SELECT joining api_keys, users, tenants) before its INSERT.
The "floor" rows run the same loop against a tRPC call without a key (\`GET /api/trpc/auth.me\`, answered UNAUTHORIZED by the
auth middleware before any query): what the HTTP server + tRPC alone can serve on this machine, next to the raw INSERT rate.`,
    rows: createRows(figures),
  };
}
