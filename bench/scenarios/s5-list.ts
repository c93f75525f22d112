/**
 * Scenario 5 — `session.list` in a tenant of 1,000,000 sessions (seeded with one INSERT … SELECT
 * generate_series, not through the API): first page vs a page 500,000 rows deep by cursor, and
 * `search` on words of message content over 100,000 messages. Baseline: the same SQL, raw.
 */
import postgres from "postgres";
import { defaultAgentConfig, defaultContextConfig, defaultStrategy, defaultSummaryParameters } from "../../common/settings";
import type { Ctx } from "../lib/context";
import { latencyRow, type ScenarioResult } from "../lib/report";
import { measurePaired, now, type Summary } from "../lib/stats";

const COLUMNS = `id, tenant_id, user_id, title, description, knowledge_base_id, pinned, pinned_at, strategy, summary_parameters, agent_config, context_config, created_at, updated_at, sort_at`;
const ORDER = `order by pinned desc, sort_at desc, id desc limit 21`;
const VOCAB = [
  "answer", "stream", "session", "redis", "postgres", "cursor", "page", "tenant", "owner", "message", "title", "model",
  "context", "window", "summary", "token", "latency", "resume", "replay", "event", "search", "index", "vector", "keyword",
  "document", "chunk", "upload", "export", "markdown", "import", "cluster", "instance", "lease", "sweeper", "signal", "stop",
  "retry", "timeout", "budget", "quota", "invoice", "billing", "report", "deploy", "release", "schema", "migration", "backup",
  "restore", "audit",
];
/** Search words and the share of seeded messages that contain them. */
const WORDS = [
  { word: "zephyrine", every: 100, label: "1 % of messages" },
  { word: "quixotical", every: 1000, label: "0.1 % of messages" },
  { word: "lanternfish", every: 10, label: "10 % of messages" },
];

/**
 * Parley's search page (server/sessions/sessions.ts, searchPageIds), written out: the hits from both GIN
 * indexes; the list index walked in order against them (8 sessions per hit at most); the hits
 * sorted instead when that walk did not fill the page.
 */
function searchSql(scope: string, q: string) {
  const match = (column: string) => `${column} @@ to_tsquery('simple', ${q})`;
  const order = "order by pinned desc, sort_at desc, id desc";
  return `select ${COLUMNS} from sessions where ${scope} and id in (
    with hits as materialized (select id from sessions where ${scope} and ${match("title_tsv")} union all select session_id from messages where ${scope} and ${match("content_tsv")}),
    walked as materialized (
      select w.id from (select id, pinned, sort_at from sessions where ${scope} ${order} limit (select count(*) * 8 from hits)) w
      where (w.id in (select id from hits)) is true ${order.replace(/(\w+) desc/g, "w.$1 desc")} limit 21)
    select id from walked where (select count(*) from walked) = 21
    union all
    (select id from sessions where ${scope} and id in (select id from hits) and (select count(*) from walked) < 21 ${order} limit 21)
  ) ${ORDER}`;
}

/** A deterministic RFC 9562 uuid (version 4, variant 8) from a seed: Parley's inputs take no other shape. */
export const seededUuid = (seedText: string) => `overlay(overlay(md5(${seedText}) placing '4' from 13) placing '8' from 17)::uuid`;

export async function seed(sql: postgres.Sql, tenantId: string, userId: string, sessions: number, messages: number) {
  const json = (v: unknown) => sql.json(v as never);
  await sql`
    insert into sessions (id, tenant_id, user_id, title, description, strategy, summary_parameters, agent_config, context_config, created_at, updated_at)
    select ${sql.unsafe(seededUuid("'bench-session-' || i"))}, ${tenantId}, ${userId}, 'Seeded session ' || i, '',
           ${json(defaultStrategy())}, ${json(defaultSummaryParameters())}, ${json(defaultAgentConfig())}, ${json(defaultContextConfig())},
           now() - interval '1 day' - i * interval '1 second', now() - interval '1 day' - i * interval '1 second'
    from generate_series(1, ${sessions}::int) i`;
  const step = Math.max(1, Math.floor(sessions / messages));
  const vocab = `array[${VOCAB.map((w) => `'${w}'`).join(",")}]`;
  const extra = WORDS.map((w) => `case when j % ${w.every} = 0 then ' ${w.word}' else '' end`).join(" || ");
  await sql.unsafe(`
    insert into messages (session_id, tenant_id, user_id, request_id, role, content, status, created_at, updated_at)
    select ${seededUuid(`'bench-session-' || (j * ${step})`)}, '${tenantId}', '${userId}', ${seededUuid("'bench-request-' || j")}, 'user',
           'How do I ' || (select string_agg((${vocab})[1 + ((j * 31 + k * 17 + k * k) % ${VOCAB.length})], ' ') from generate_series(1, 14) k) || ${extra} || '?',
           'completed', now() - interval '1 day', now() - interval '1 day'
    from generate_series(1, ${messages}) j`);
  await sql.unsafe(`vacuum analyze sessions`);
  await sql.unsafe(`vacuum analyze messages`);
}

export async function run(ctx: Ctx): Promise<ScenarioResult> {
  const { listSessions, listMessages, listSamples } = ctx.sizes;
  const client = ctx.target.client();
  const me = await client.auth.me.query();
  const tenantId = me.tenant.id;
  const userId = me.user.id;
  const sql = postgres(ctx.databaseUrl, { max: 2, onnotice: () => {} });
  try {
    const t0 = now();
    await seed(sql, tenantId, userId, listSessions, listMessages);
    const seedSeconds = (now() - t0) / 1000;
    ctx.log(`  s5 seeded ${listSessions} sessions + ${listMessages} messages in ${seedSeconds.toFixed(0)} s`);
    const { n: total } = (await sql<{ n: number }[]>`select count(*)::int as n from sessions where tenant_id = ${tenantId} and user_id = ${userId}`)[0]!;
    const depth = Math.floor(listSessions / 2);
    const deepRow = (await sql<{ pinned: boolean; sort_at: Date; id: string }[]>`
      select pinned, sort_at, id from sessions where tenant_id = ${tenantId} and user_id = ${userId}
      order by pinned desc, sort_at desc, id desc offset ${depth - 1} limit 1`)[0]!;
    // The cursor a client holds after paging `depth` rows (Parley's nextCursor format: [pinned, sortAt ms, id], base64url JSON).
    const cursor = Buffer.from(JSON.stringify([deepRow.pinned ? 1 : 0, deepRow.sort_at.getTime(), deepRow.id])).toString("base64url");
    const expectedDeep = (await sql`
      select id from sessions where tenant_id = ${tenantId} and user_id = ${userId}
      order by pinned desc, sort_at desc, id desc offset ${depth} limit 1`)[0]!;

    const scope = sql`tenant_id = ${tenantId} and user_id = ${userId}`;
    const raw = {
      first: () => sql`select ${sql.unsafe(COLUMNS)} from sessions where ${scope} ${sql.unsafe(ORDER)}`,
      deep: () =>
        sql`select ${sql.unsafe(COLUMNS)} from sessions where ${scope}
            and (pinned, sort_at, id) < (${deepRow.pinned}::boolean, ${deepRow.sort_at.toISOString()}::timestamptz, ${deepRow.id}::uuid) ${sql.unsafe(ORDER)}`,
      // Parley's toTsQuery: the (last) word as a prefix.
      search: (word: string) => sql.unsafe(searchSql(`tenant_id = $1 and user_id = $2`, "$3"), [tenantId, userId, `${word}:*`]),
    };

    // Correctness first: the deep page starts right after the cursor row.
    const deepPage = await client.session.list.query({ limit: 20, cursor });
    if (deepPage.items[0]?.id !== expectedDeep.id) throw new Error(`deep page starts at ${deepPage.items[0]?.id}, expected ${expectedDeep.id}`);
    const searchCheck = await client.session.list.query({ limit: 20, search: WORDS[0]!.word });
    if (searchCheck.items.length === 0) throw new Error("search found nothing");

    const measure = (parleyCall: () => Promise<unknown>, rawCall: () => Promise<unknown>) => measurePaired(listSamples, parleyCall, rawCall);
    const first = await measure(() => client.session.list.query({ limit: 20 }), raw.first);
    const deep = await measure(() => client.session.list.query({ limit: 20, cursor }), raw.deep);
    const searches: Array<{ word: string; label: string; p: Summary; b: Summary; hits: number }> = [];
    for (const w of WORDS) {
      const r = await measure(() => client.session.list.query({ limit: 20, search: w.word }), () => raw.search(w.word));
      const { n } = (await sql<{ n: number }[]>`select count(distinct session_id)::int as n from messages where content_tsv @@ to_tsquery('simple', ${w.word + ":*"})`)[0]!;
      searches.push({ ...w, ...r, hits: n });
    }

    const plans: string[] = [];
    const planOf = async (name: string, text: string) => {
      const rows = await sql.unsafe(`explain (analyze, buffers) ${text}`);
      plans.push(`**${name}**`, "```", ...rows.map((r) => r["QUERY PLAN"] as string), "```");
    };
    const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;
    const scopeText = `tenant_id = ${lit(tenantId)} and user_id = ${lit(userId)}`;
    await planOf("first page", `select ${COLUMNS} from sessions where ${scopeText} ${ORDER}`);
    await planOf(
      `page ${depth.toLocaleString("en-US")} rows deep`,
      `select ${COLUMNS} from sessions where ${scopeText} and (pinned, sort_at, id) < (${deepRow.pinned}, ${lit(deepRow.sort_at.toISOString())}::timestamptz, ${lit(deepRow.id)}::uuid) ${ORDER}`,
    );
    for (const w of WORDS) {
      const q = lit(`${w.word}:*`);
      await planOf(`search "${w.word}" (${w.label})`, searchSql(scopeText, q));
    }

    ctx.figures.set("s5.first", first.p);
    const deepRatio = deep.p.p50 / first.p.p50;
    return {
      id: "s5",
      title: `5. session.list in a tenant of ${listSessions.toLocaleString("en-US")} sessions`,
      method: `
Seeded straight into Postgres (not through the API) for the bench's own user: ${listSessions.toLocaleString("en-US")} sessions with one
\`INSERT … SELECT … FROM generate_series\` and ${listMessages.toLocaleString("en-US")} messages (one per ${Math.max(1, Math.floor(listSessions / listMessages))} sessions, spread over the whole list, 14
words each plus search words in a known share of them) with a second one, then \`VACUUM ANALYZE\`; ${seedSeconds.toFixed(0)} s.
The user has ${total.toLocaleString("en-US")} sessions in all (the earlier scenarios' included). \`session.list\` through the real tRPC client, limit 20:
the first page; a page ${depth.toLocaleString("en-US")} rows deep by cursor (the cursor a client would hold there, built from the row at that
position; the page is checked to start at the next row); and \`search\` on words found in 1 %, 0.1 % and 10 % of the
messages. ${listSamples} samples each after 5 warm-up calls, alternating with the baseline: the same SQL (Parley's query, written out) through raw
postgres-js. Query plans (\`EXPLAIN (ANALYZE, BUFFERS)\` of the baseline SQL) below.`,
      rows: [
        latencyRow("first page", first.p, first.b),
        latencyRow(`page ${depth.toLocaleString("en-US")} deep (cursor)`, deep.p, deep.b, { text: "p50 ≤ 1.5 × first page" }, {
          met: deepRatio <= 1.5,
          note: `deep ÷ first page p50: ${deepRatio.toFixed(2)}`,
        }),
        ...searches.map((s) =>
          latencyRow(`search "${s.word}" (${s.label}, ${s.hits.toLocaleString("en-US")} sessions)`, s.p, s.b, { text: "p50 ≤ 50 ms", check: (x) => x.p50 <= 50 }),
        ),
      ],
      appendix: `<details><summary>Query plans</summary>\n\n${plans.join("\n")}\n\n</details>`,
    };
  } finally {
    await sql.end();
  }
}
