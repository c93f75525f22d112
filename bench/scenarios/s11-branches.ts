/**
 * Scenario 11 — `message.list` of a conversation's active path (issue 23): a 1,000-message session
 * with 10 forks against a linear 1,000-message session (what `message.list` listed before branches),
 * first page and a page 450 messages back. Seeded straight into Postgres in the shape Parley writes.
 */
import postgres from "postgres";
import { defaultAgentConfig, defaultContextConfig, defaultStrategy, defaultSummaryParameters } from "../../common/settings";
import type { Ctx } from "../lib/context";
import { latencyRow, type ScenarioResult } from "../lib/report";
import { measurePaired, type Summary } from "../lib/stats";
import { seededUuid } from "./s5-list";

const MESSAGES = 1000;
const FORKS = 10;
/** Messages in each fork's other branch (a regenerated answer and what followed it there). */
const BRANCH = 10;
const PAGE = 20;
/** The deep page starts this many messages before the active leaf. */
const DEEP = 450;

const COLUMNS = `id, session_id, request_id, role, content, status, "references", model, created_at, updated_at`;
/** message.list before branches (server/sessions/messages.ts at ab06272): the session's newest messages by time. */
const todaySql = (before: boolean) =>
  `select ${COLUMNS} from messages where session_id = $1 ${before ? "and created_at < $2" : ""} order by created_at desc, id desc limit ${PAGE + 1}`;
/** message.list now (server/sessions/messages.ts listMessages with siblingsColumn), written out. */
const activePathSql = (before: boolean) => `select ${COLUMNS}, parent_id, rating, feedback_reason,
    (select json_build_array(count(*) filter (where (s.created_at, s.id) <= (messages.created_at, messages.id)), count(*)) from (
      select s.created_at, s.id from messages s where messages.parent_id is not null and s.session_id = messages.session_id and s.parent_id = messages.parent_id
      union all
      select s.created_at, s.id from messages s where messages.parent_id is null and s.session_id = messages.session_id and s.parent_id is null) s) as siblings
  from messages where session_id = $1 and on_active_path ${before ? "and created_at < $2" : ""} order by created_at desc, id desc limit ${PAGE + 1}`;

const ANSWER = "Parley keeps every answer in Postgres and streams it through Redis, so a reload, another instance or a crash loses nothing. ".repeat(4);

/**
 * A session of `path` messages in one chain (questions and answers in turn, all on the active path,
 * its leaf the last), plus `forks` other versions of answers spread along it, each with `BRANCH`
 * messages of its own branch (created later, then left for the main path again).
 */
async function seedSession(sql: postgres.Sql, tag: string, owner: { tenantId: string; userId: string }, path: number, forks: number): Promise<{ id: string; at: (i: number) => Date }> {
  const id = (await sql<{ id: string }[]>`select ${sql.unsafe(seededUuid(`'bench-branches-session-${tag}'`))} as id`)[0]!.id;
  const json = (v: unknown) => sql.json(v as never);
  await sql`
    insert into sessions (id, tenant_id, user_id, title, description, strategy, summary_parameters, agent_config, context_config)
    values (${id}, ${owner.tenantId}, ${owner.userId}, ${`Branches ${tag}`}, '', ${json(defaultStrategy())}, ${json(defaultSummaryParameters())}, ${json(defaultAgentConfig())}, ${json(defaultContextConfig())})`;
  const uuid = (expr: string) => seededUuid(`'bench-branches-${tag}-' || ${expr}`);
  const base = "(now() - interval '1 day')";
  await sql.unsafe(`
    insert into messages (id, session_id, tenant_id, user_id, request_id, role, content, status, parent_id, on_active_path, chosen_at, created_at, updated_at)
    select ${uuid("i")}, $1, $2, $3, ${uuid("'r' || ((i + 1) / 2)")}, case when i % 2 = 1 then 'user'::message_role else 'assistant'::message_role end,
           case when i % 2 = 1 then 'How do I keep answer ' || i || ' when an instance crashes?' else $4 end, 'completed',
           case when i = 1 then null else ${uuid("(i - 1)")} end, true, ${base} + interval '1 hour', ${base} + i * interval '1 millisecond', ${base} + i * interval '1 millisecond'
    from generate_series(1, ${path}) i`, [id, owner.tenantId, owner.userId, ANSWER]);
  if (forks > 0) {
    // Fork k: another answer to the question before path answer p(k), then its own questions and answers.
    const p = `(2 * ((${path} / 2) * k / (${forks} + 1)))`;
    await sql.unsafe(`
      insert into messages (id, session_id, tenant_id, user_id, request_id, role, content, status, parent_id, on_active_path, chosen_at, created_at, updated_at)
      select ${uuid("'f' || k || '-' || j")}, $1, $2, $3, ${uuid("'fr' || k || '-' || (j / 2)")},
             case when j % 2 = 1 then 'assistant'::message_role else 'user'::message_role end,
             case when j % 2 = 1 then $4 else 'And in another branch, question ' || j || '?' end, 'completed',
             case when j = 1 then ${uuid(`(${p} - 1)`)} else ${uuid("'f' || k || '-' || (j - 1)")} end, false,
             ${base} + interval '1 minute' + (k * ${BRANCH} + j) * interval '1 millisecond',
             ${base} + interval '1 minute' + (k * ${BRANCH} + j) * interval '1 millisecond', ${base} + interval '1 minute'
      from generate_series(1, ${forks}) k, generate_series(1, ${BRANCH}) j`, [id, owner.tenantId, owner.userId, ANSWER]);
  }
  await sql`update sessions set active_leaf_id = ${sql.unsafe(uuid(String(path)))} where id = ${id}`;
  const times = await sql<{ created_at: Date }[]>`select created_at from messages where session_id = ${id} and on_active_path order by created_at`;
  return { id, at: (i: number) => times[i - 1]!.created_at };
}

export async function run(ctx: Ctx): Promise<ScenarioResult> {
  const client = ctx.target.client();
  const me = await client.auth.me.query();
  const owner = { tenantId: me.tenant.id, userId: me.user.id };
  const sql = postgres(ctx.databaseUrl, { max: 2, onnotice: () => {} });
  const samples = ctx.sizes.listSamples;
  try {
    const forkedPath = MESSAGES - FORKS * BRANCH;
    const linear = await seedSession(sql, "linear", owner, MESSAGES, 0);
    const forked = await seedSession(sql, "forked", owner, forkedPath, FORKS);
    await sql.unsafe("vacuum analyze messages");
    const count = async (id: string) => (await sql<{ n: number }[]>`select count(*)::int as n from messages where session_id = ${id}`)[0]!.n;
    const forks = (await sql<{ n: number }[]>`select count(*)::int as n from (select parent_id from messages where session_id = ${forked.id} group by parent_id having count(*) > 1) f`)[0]!.n;
    ctx.log(`  s11 seeded a linear session of ${await count(linear.id)} messages and one of ${await count(forked.id)} with ${forks} forks`);

    const deepLinear = linear.at(MESSAGES - DEEP);
    const deepForked = forked.at(forkedPath - DEEP);
    // Correctness first: the forked session's pages are its active path, with the fork counts.
    const firstPage = await client.message.list.query({ sessionId: forked.id, limit: PAGE });
    if (firstPage.items.length !== PAGE || firstPage.items.some((m) => !m.id) || !firstPage.hasMore) throw new Error("the first page is not a full page of the path");
    const deepPage = await client.message.list.query({ sessionId: forked.id, limit: PAGE, before: deepForked });
    if (deepPage.items.at(-1)!.createdAt.getTime() >= deepForked.getTime() || deepPage.items.length !== PAGE) throw new Error("the deep page is not the page before its time");
    const versions = (await client.message.list.query({ sessionId: forked.id, limit: 100, before: forked.at(forkedPath - 300) })).items.filter((m) => m.siblings.count > 1);
    if (versions.length === 0) throw new Error("no fork on the pages checked");

    const measure = (parleyCall: () => Promise<unknown>, rawCall: () => Promise<unknown>) => measurePaired(samples, parleyCall, rawCall);
    const list = (sessionId: string, before?: Date) => () => client.message.list.query({ sessionId, limit: PAGE, ...(before && { before }) });
    const raw = (text: string, params: (string | Date)[]) => () => sql.unsafe(text, params as never[]);

    const linearFirst = await measure(list(linear.id), raw(todaySql(false), [linear.id]));
    const forkedFirst = await measure(list(forked.id), raw(todaySql(false), [linear.id]));
    const linearDeep = await measure(list(linear.id, deepLinear), raw(todaySql(true), [linear.id, deepLinear]));
    const forkedDeep = await measure(list(forked.id, deepForked), raw(todaySql(true), [linear.id, deepLinear]));
    const sqlFirst = await measure(raw(activePathSql(false), [forked.id]), raw(todaySql(false), [linear.id]));
    const sqlDeep = await measure(raw(activePathSql(true), [forked.id, deepForked]), raw(todaySql(true), [linear.id, deepLinear]));

    const plans: string[] = [];
    const planOf = async (name: string, text: string, params: (string | Date)[]) => {
      const rows = await sql.unsafe(`explain (analyze, buffers) ${text}`, params as never[]);
      plans.push(`**${name}**`, "```", ...rows.map((r) => r["QUERY PLAN"] as string), "```");
    };
    await planOf("active path, first page (forked session)", activePathSql(false), [forked.id]);
    await planOf(`active path, ${DEEP} back (forked session)`, activePathSql(true), [forked.id, deepForked]);
    await planOf("before branches, first page (linear session)", todaySql(false), [linear.id]);

    const within = (mine: Summary, linearOnes: Summary) => ({
      met: mine.p50 <= 1.5 * linearOnes.p50,
      note: `÷ linear message.list p50: ${(mine.p50 / linearOnes.p50).toFixed(2)}`,
    });
    return {
      id: "s11",
      title: `11. message.list of the active path: ${MESSAGES.toLocaleString("en-US")} messages with ${FORKS} forks`,
      method: `
Two sessions seeded straight into Postgres in the shape Parley writes (parent chain, active-path flags, leaf): a linear one of
${MESSAGES.toLocaleString("en-US")} messages (question and ~80-word answer in turn: what \`message.list\` listed before branches) and one of
${MESSAGES.toLocaleString("en-US")} messages with ${forks} forks (an active path of ${forkedPath}, and ${FORKS} other versions of answers spread along it, each
with a branch of ${BRANCH} messages). \`message.list\` (limit ${PAGE}) through the real tRPC client: the first page, and the page ${DEEP} messages
before the leaf (\`before\`). Each row's baseline is the query \`message.list\` ran before branches (server/sessions/messages.ts at ab06272), raw through
postgres-js on the linear session; the target compares the forked session's call with the same call on the linear session. The last two rows
compare the SQL alone: the active-path page (with each message's version count) against the query before branches. ${samples} samples each
after 5 warm-up calls, alternating. Query plans below.`,
      rows: [
        latencyRow("linear session, first page (message.list)", linearFirst.p, linearFirst.b),
        latencyRow(`${FORKS} forks, first page of the active path (message.list)`, forkedFirst.p, forkedFirst.b, { text: "p50 ≤ 1.5 × linear" }, within(forkedFirst.p, linearFirst.p)),
        latencyRow(`linear session, page ${DEEP} back`, linearDeep.p, linearDeep.b),
        latencyRow(`${FORKS} forks, active path ${DEEP} back`, forkedDeep.p, forkedDeep.b, { text: "p50 ≤ 1.5 × linear" }, within(forkedDeep.p, linearDeep.p)),
        latencyRow("SQL: active-path page vs the list before branches, first page", sqlFirst.p, sqlFirst.b),
        latencyRow(`SQL: active-path page vs the list before branches, ${DEEP} back`, sqlDeep.p, sqlDeep.b),
      ],
      appendix: `<details><summary>Query plans</summary>\n\n${plans.join("\n")}\n\n</details>`,
    };
  } finally {
    await sql.end();
  }
}
