/**
 * Scenario 12 — one retention sweep of 10,000 expired sessions (issue 24; `--quick`: 2,000), run
 * by an instance that keeps serving: how long the sweep takes, and what that instance's callers
 * saw meanwhile (`session.list` over HTTP, whole answers through `chat.send` + `chat.stream`, the
 * event loop's delay) beside the same calls just before it. Each expired session is what a used one
 * leaves: a question and an answer (one in five rated), one in ten shared, and in Redis its LLM
 * context and its answer's stream, so the sweep does every step of a real deletion.
 * Runs in this process, no build: an App (as the server builds it) on a fresh Postgres database
 * and Redis prefix, behind Parley's own HTTP server.
 */
import type { AddressInfo } from "node:net";
import { monitorEventLoopDelay } from "node:perf_hooks";
import postgres from "postgres";
import { createApp, type App } from "../../server/boot/app";
import { readyHost } from "../../server/boot/host";
import { createTenant } from "../../server/auth/accounts";
import type { StreamEvent } from "../../server/chat/events";
import { apiRoutes } from "../../server/http/routes";
import { createHttpServer } from "../../server/http/server";
import { appRouter } from "../../server/http/trpc/routers/_app";
import { createContext, fetchExchange } from "../../server/http/trpc/trpc";
import { parseEnv } from "../../server/platform/env";
import { createLogger } from "../../server/platform/log";
import { sweepExpiredSessions } from "../../server/sessions/retention";
import { defaultAgentConfig, defaultContextConfig, defaultStrategy, defaultSummaryParameters } from "../../common/settings";
import type { Ctx } from "../lib/context";
import { latencyRow, type Row, type ScenarioResult } from "../lib/report";
import { BENCH_LIMITS, cleanupRedisPrefix, createDatabase, newPrefix, REDIS_URL } from "../lib/servers";
import { now, sleep, summarize, type Summary } from "../lib/stats";

const IDLE_DAYS = 30;
const RETENTION_DAYS = 7;
/** How long the calls are measured before the sweep, as the baseline. */
const BASELINE_MS = 5000;

/** Seeds `n` sessions idle for IDLE_DAYS, each with a question and an answer; returns their ids and answers' ids. */
async function seedExpired(sql: postgres.Sql, owner: { tenantId: string; userId: string }, n: number) {
  const json = (v: unknown) => sql.json(v as never);
  const rows = await sql<{ id: string; answer: string }[]>`
    with s as (
      insert into sessions (tenant_id, user_id, title, description, strategy, summary_parameters, agent_config, context_config, created_at, updated_at)
      select ${owner.tenantId}, ${owner.userId}, 'Expired ' || i, '', ${json(defaultStrategy())}, ${json(defaultSummaryParameters())}, ${json(defaultAgentConfig())}, ${json(defaultContextConfig())},
             now() - ${IDLE_DAYS + 1} * interval '1 day', now() - ${IDLE_DAYS} * interval '1 day'
      from generate_series(1, ${n}) i
      returning id
    ),
    q as (
      insert into messages (session_id, tenant_id, user_id, request_id, role, content, status, on_active_path, created_at, updated_at)
      select id, ${owner.tenantId}, ${owner.userId}, gen_random_uuid(), 'user', 'How long does Parley keep my sessions?', 'completed', true,
             now() - ${IDLE_DAYS} * interval '1 day', now() - ${IDLE_DAYS} * interval '1 day' from s
      returning id, session_id, request_id
    )
    insert into messages (session_id, tenant_id, user_id, request_id, role, content, status, parent_id, on_active_path, rating, created_at, updated_at)
    select q.session_id, ${owner.tenantId}, ${owner.userId}, q.request_id, 'assistant', ${"Sessions idle longer than the tenant's retention are deleted with everything they own. ".repeat(6)}, 'completed', q.id, true,
           case when random() < 0.2 then 'down'::message_rating end, now() - ${IDLE_DAYS} * interval '1 day' + interval '1 second', now() - ${IDLE_DAYS} * interval '1 day' + interval '1 second'
    from q
    returning session_id as id, id as answer`;
  await sql`update sessions s set active_leaf_id = m.id from messages m where m.session_id = s.id and m.role = 'assistant' and s.tenant_id = ${owner.tenantId}`;
  await sql`
    insert into shares (tenant_id, user_id, session_id, token_hash, title, messages, message_count)
    select ${owner.tenantId}, ${owner.userId}, id, encode(sha256(id::text::bytea), 'hex'), title, '[]'::jsonb, 2
    from sessions where tenant_id = ${owner.tenantId} and random() < 0.1`;
  return rows;
}

/** Puts each session's LLM context and its answer's stream in the store, as a used session leaves them. */
async function seedKeys(app: App, sessions: { id: string; answer: string }[]) {
  for (let i = 0; i < sessions.length; i += 200) {
    await Promise.all(
      sessions.slice(i, i + 200).flatMap(({ id, answer }) => [
        app.store.set(app.keys.context(id), JSON.stringify({ version: 0, messages: [] }), 86_400),
        app.store.append(
          app.keys.stream(id, answer),
          [
            { type: "start", requestId: answer, sessionId: id, messageId: answer },
            { type: "answer", delta: "Sessions idle longer than the tenant's retention are deleted." },
            { type: "complete", content: "Sessions idle longer than the tenant's retention are deleted.", durationMs: 10 },
          ],
          3600,
        ),
      ]),
    );
  }
}

/** Calls the instance's callers make, in turn, until `until` resolves: their latencies and failures. */
async function traffic(url: string, apiKey: string, app: App, sessionIds: string[], until: Promise<unknown>) {
  let done = false;
  void until.finally(() => (done = true));
  const list: number[] = [];
  const answers: number[] = [];
  let errors = 0;
  const lists = (async () => {
    const input = encodeURIComponent(JSON.stringify({ json: { limit: 20 } }));
    while (!done) {
      const t0 = now();
      const res = await fetch(`${url}/api/trpc/session.list?input=${input}`, { headers: { authorization: `Bearer ${apiKey}` } }).catch(() => null);
      if (res?.status === 200) list.push(now() - t0);
      else errors++;
      await res?.arrayBuffer();
      await sleep(20);
    }
  })();
  const api = appRouter.createCaller(() => createContext(app, fetchExchange(new Headers({ authorization: `Bearer ${apiKey}` }), new Headers())));
  const asking = (async () => {
    for (let i = 0; !done; i++) {
      const sessionId = sessionIds[i % sessionIds.length]!;
      const t0 = now();
      try {
        const turn = await api.chat.send({ sessionId, query: "How long does Parley keep my sessions?" });
        let last: StreamEvent | undefined;
        for await (const [, event] of (await api.chat.stream({ sessionId, messageId: turn.assistantMessage.id })) as AsyncIterable<[string, StreamEvent]>) last = event;
        if (last?.type === "complete") answers.push(now() - t0);
        else errors++;
      } catch {
        errors++;
      }
      await sleep(100);
    }
  })();
  await Promise.all([lists, asking, until]);
  return { list: summarize(list), answers: summarize(answers), errors };
}

/** The event loop's delay while `run` runs (ms): p50, p99, max. */
async function loopDelayDuring<T>(run: () => Promise<T>): Promise<{ result: T; delay: Summary }> {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  try {
    const result = await run();
    const ms = (ns: number) => ns / 1e6;
    return { result, delay: { n: histogram.count, p50: ms(histogram.percentile(50)), p99: ms(histogram.percentile(99)), mean: ms(histogram.mean), min: ms(histogram.min), max: ms(histogram.max) } };
  } finally {
    histogram.disable();
  }
}

const single = (value: number): Summary => ({ n: 1, p50: value, p99: value, mean: value, min: value, max: value });

export async function run(ctx: Pick<Ctx, "quick" | "log">): Promise<ScenarioResult> {
  const n = ctx.quick ? 2000 : 10_000;
  const db = await createDatabase();
  const prefix = newPrefix("bench");
  cleanupRedisPrefix(prefix);
  const env = parseEnv({
    DATABASE_URL: db.url,
    REDIS_URL,
    PARLEY_REDIS_PREFIX: prefix,
    PARLEY_OFFLINE_TOKEN_DELAY_MS: "0",
    // The sweep is started here, once; the App's own timer never fires during the run.
    PARLEY_RETENTION_SWEEP_SECONDS: "86400",
    ...BENCH_LIMITS,
  });
  const app = await createApp(env, { quiet: true, log: createLogger({ level: "warn" }) });
  const host = readyHost(app);
  const server = createHttpServer({ host, routes: apiRoutes(host), pages: (_req, res) => void res.end() });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const sql = postgres(db.url, { max: 2, onnotice: () => {} });
  try {
    const { tenant, owner, apiKey } = await createTenant(app.db, `retention-bench-${Date.now()}`);
    const seeded = await seedExpired(sql, { tenantId: tenant.id, userId: owner.id }, n);
    await seedKeys(app, seeded);
    const api = appRouter.createCaller(() => createContext(app, fetchExchange(new Headers({ authorization: `Bearer ${apiKey}` }), new Headers())));
    const live = await Promise.all(Array.from({ length: 8 }, (_, i) => api.session.create({ title: `live ${i}` })));
    await sql.unsafe("vacuum analyze sessions, messages, shares");
    const counts = (await sql<{ sessions: number; messages: number; shares: number }[]>`
      select (select count(*)::int from sessions where tenant_id = ${tenant.id}) as sessions,
             (select count(*)::int from messages where tenant_id = ${tenant.id}) as messages,
             (select count(*)::int from shares where tenant_id = ${tenant.id}) as shares`)[0]!;
    ctx.log(`  s12 seeded ${counts.sessions} sessions (${n} expired), ${counts.messages} messages, ${counts.shares} shares, ${2 * n} Redis keys`);
    await api.admin.tenant.update({ retentionDays: RETENTION_DAYS });

    const liveIds = live.map((s) => s.id);
    const before = await loopDelayDuring(() => traffic(url, apiKey, app, liveIds, sleep(BASELINE_MS)));
    const started = now();
    const during = await loopDelayDuring(async () => {
      const sweep = sweepExpiredSessions(app);
      const [result, calls] = await Promise.all([sweep, traffic(url, apiKey, app, liveIds, sweep)]);
      return { sweep: result, seconds: (now() - started) / 1000, calls };
    });
    const { sweep, seconds, calls } = during.result;
    if (!sweep || sweep.retention !== n) throw new Error(`the sweep deleted ${sweep?.retention ?? "nothing (lock held)"}, not ${n}`);
    const left = (await sql<{ sessions: number; messages: number; shares: number }[]>`
      select (select count(*)::int from sessions where tenant_id = ${tenant.id}) as sessions,
             (select count(*)::int from messages where tenant_id = ${tenant.id} and session_id::text <> all(${sql.array(liveIds)})) as messages,
             (select count(*)::int from shares where tenant_id = ${tenant.id}) as shares`)[0]!;
    const keysLeft = (await Promise.all(seeded.flatMap(({ id, answer }) => [app.store.pttl(app.keys.context(id)), app.store.pttl(app.keys.stream(id, answer))]))).filter((ttl) => ttl !== -2).length;
    ctx.log(`  s12 swept ${sweep.retention} sessions in ${seconds.toFixed(1)} s (${sweep.batches} batches); left: ${left.sessions - live.length} sessions, ${left.messages} messages, ${left.shares} shares, ${keysLeft} keys`);

    const rows: Row[] = [
      { metric: `one sweep of ${n.toLocaleString("en-US")} expired sessions (${sweep.batches} batches)`, unit: "s", parley: single(seconds), baseline: null, ratio: null, target: "", met: null, note: `${Math.round(n / seconds)} sessions/s; left behind: ${left.sessions - live.length} sessions, ${left.messages} messages, ${left.shares} shares, ${keysLeft} of ${2 * n} keys` },
      latencyRow("session.list over HTTP, during the sweep (baseline: before it)", calls.list, before.result.list, { text: "answered throughout" }, { met: calls.list.n > 0 }),
      latencyRow("a whole answer (chat.send → complete), during the sweep (baseline: before it)", calls.answers, before.result.answers, { text: "answered throughout" }, { met: calls.answers.n > 0 && calls.errors === 0 }),
      latencyRow("event-loop delay, during the sweep (baseline: before it)", during.delay, before.delay),
    ];
    return {
      id: "s12",
      title: "Scenario 12 — one retention sweep of expired sessions, while the instance serves",
      method: [
        `${n.toLocaleString("en-US")} sessions idle ${IDLE_DAYS} days in a tenant with \`retentionDays: ${RETENTION_DAYS}\`, each with a question and an answer (one in five rated), one in ten shared, and in Redis its LLM context and its answer's stream (${(2 * n).toLocaleString("en-US")} keys); Postgres and one Redis on this machine.`,
        "One `sweepExpiredSessions` in the process of an App that serves meanwhile, behind Parley's HTTP server: `session.list` over HTTP every 20 ms and whole answers (`chat.send` then `chat.stream` to `complete`, offline model at full speed) every 100 ms, in 8 live sessions of the same tenant; the same calls for 5 s just before the sweep are the baseline.",
        `Errors during the sweep: ${calls.errors}. Afterwards no row (sessions, messages, shares) and no key of the expired sessions is left (checked by name).`,
      ].join(" "),
      columns: { subject: "during the sweep", baseline: "before it" },
      rows,
    };
  } finally {
    await sql.end();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await app.close();
  }
}
