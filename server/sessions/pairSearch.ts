import { and, isNull, sql, type SQL } from "drizzle-orm";
import type { Db } from "../../db";
import { messages, pairEmbeddings, sessions } from "../../db/schema";
import { defaultStrategy } from "../../common/settings";
import type { Caller } from "../auth/accounts";
import type { KnowledgeIndex } from "../knowledge/knowledgeIndex";
import { selectRows } from "../knowledge/rows";
import { AppError } from "../platform/errors";
import type { Logger } from "../platform/log";
import { repeat } from "../platform/repeat";
import { toTsQuery, visibleWhere } from "./sessions";

/**
 * Question/answer pairs of the caller's own sessions, searched by their words (Postgres full
 * text, as session search), by their meaning (the configured embedder, the one knowledge chunks
 * use) or both. A pair is an answer with its question; it is embedded after the answer ends,
 * off the request path: a trigger (0010_pair_embeddings) queues every ended answer in
 * `pair_embeddings`, and each instance's indexer embeds the queue in batches, one embedder call
 * per batch, every PAIR_INDEX_INTERVAL_MS.
 */

export type PairSearchMode = "keyword" | "vector" | "hybrid";

export interface PairHit {
  requestId: string;
  sessionId: string;
  sessionTitle: string;
  question: string;
  answer: string;
  /** keyword: the full-text rank; vector: the similarity (0..1); hybrid: the reciprocal-rank fusion of both. */
  score: number;
  /** How the pair was found: by its words, its meaning, or (hybrid search) both. */
  matchedBy: PairSearchMode;
  createdAt: Date;
}

export interface PairSearchDeps {
  db: Db;
  knowledge: KnowledgeIndex;
  log: Pick<Logger, "warn">;
}

/** Reciprocal rank fusion's constant, as WeKnora's message search uses. */
const RRF_K = 60;

/**
 * Pairs of the caller's own sessions (only `sessionIds`, when given) matching `query`, best first,
 * with how many match in all. `keyword` ranks by full-text score, `vector` by similarity to the
 * query (pairs under the default vector threshold left out), `hybrid` by the reciprocal ranks of
 * both; a pair found both ways is `hybrid`. When the embedder fails, hybrid search answers by
 * keyword alone and vector search is unavailable.
 */
export async function searchPairs(
  deps: PairSearchDeps,
  caller: Caller,
  input: { query: string; mode: PairSearchMode; limit: number; sessionIds?: string[] },
): Promise<{ items: PairHit[]; total: number }> {
  const terms = input.mode === "vector" ? null : toTsQuery(input.query);
  const queryVector = input.mode === "keyword" ? null : await embedQuery(deps, input.query, input.mode);
  if (terms === null && queryVector === null) return { items: [], total: 0 };
  const inSessions = (column: SQL | typeof messages.sessionId) =>
    input.sessionIds?.length ? sql`and ${column} in (${sql.join(input.sessionIds.map((id) => sql`${id}::uuid`), sql`, `)})` : sql``;
  const own = ownSearchedSessions(caller);

  const keyword = terms
    ? sql`select ${messages.sessionId} as session_id, ${messages.requestId} as request_id, max(ts_rank(${messages.contentTsv}, to_tsquery('simple', ${terms})))::float8 as score
        from ${messages} join ${sessions} on ${sessions.id} = ${messages.sessionId}
        where ${own} and ${messages.contentTsv} @@ to_tsquery('simple', ${terms}) ${inSessions(messages.sessionId)}
        group by 1, 2`
    : sql`select null::uuid as session_id, null::uuid as request_id, null::float8 as score where false`;

  const { embedder, vectors } = deps.knowledge;
  const threshold = defaultStrategy().vectorThreshold * embedder.fullMatchCosine;
  const vector = queryVector
    ? sql`select session_id, request_id, least(1, greatest(0, similarity / ${embedder.fullMatchCosine}))::float8 as score from (
          select answer.session_id, answer.request_id,
            (case when pair_embeddings.embedding_model = ${embedder.id} then ${vectors.similarity(sql`pair_embeddings.embedding`, queryVector)} end)::float8 as similarity
          from ${pairEmbeddings}
          join ${messages} answer on answer.id = pair_embeddings.answer_id
          join ${sessions} on ${sessions.id} = pair_embeddings.session_id
          where ${indexedPairsOf(caller, embedder.id)} and ${own} ${inSessions(sql`pair_embeddings.session_id`)}
        ) scored where similarity >= ${threshold}`
    : sql`select null::uuid as session_id, null::uuid as request_id, null::float8 as score where false`;

  const score =
    input.mode === "keyword"
      ? sql`k.score`
      : input.mode === "vector"
        ? sql`v.score`
        : sql`coalesce(1.0 / (${RRF_K} + k.rank), 0) + coalesce(1.0 / (${RRF_K} + v.rank), 0)`;
  const rows = await selectRows<Omit<PairHit, "createdAt"> & { createdAt: string | Date; total: number }>(
    deps.db,
    sql`
    with keyword as (${keyword}),
    vector as (${vector}),
    k as (select *, row_number() over (order by score desc, session_id, request_id) as rank from keyword),
    v as (select *, row_number() over (order by score desc, session_id, request_id) as rank from vector),
    hits as (
      select coalesce(k.session_id, v.session_id) as session_id, coalesce(k.request_id, v.request_id) as request_id, (${score})::float8 as score,
        case when k.request_id is not null and v.request_id is not null then 'hybrid' when k.request_id is not null then 'keyword' else 'vector' end as matched_by
      from k full join v on k.session_id = v.session_id and k.request_id = v.request_id
    )
    select hits.request_id as "requestId", hits.session_id as "sessionId", sessions.title as "sessionTitle",
      coalesce(question.content, '') as question, coalesce(answer.content, '') as answer, hits.score, hits.matched_by as "matchedBy",
      coalesce(question.created_at, answer.created_at) as "createdAt", (count(*) over ())::int as total
    from hits
    join ${sessions} on sessions.id = hits.session_id
    left join ${messages} answer on answer.session_id = hits.session_id and answer.request_id = hits.request_id and answer.role = 'assistant'
    -- A regenerated answer has a requestId of its own: its question is its parent.
    left join lateral (
      select q.content, q.created_at from ${messages} q
      where q.session_id = hits.session_id and q.role = 'user' and (q.request_id = hits.request_id or q.id = answer.parent_id)
      order by q.request_id = hits.request_id desc limit 1
    ) question on true
    order by hits.score desc, coalesce(question.created_at, answer.created_at) desc, hits.request_id desc
    limit ${input.limit}`,
  );
  return {
    items: rows.map(({ total: _total, ...hit }) => ({ ...hit, score: Number(hit.score), createdAt: new Date(hit.createdAt) })),
    // Every row carries the count of all hits (limit is at least 1, so no rows means no hits).
    total: rows[0]?.total ?? 0,
  };
}

/** The caller's own sessions; temporary chats are never searched. */
const ownSearchedSessions = (caller: Caller) => and(visibleWhere(caller, "own"), isNull(sessions.temporaryLifetime))!;
/** The caller's pairs the embedder has indexed (a row of `pair_embeddings`). */
const indexedPairsOf = (caller: Caller, embedderId: string) =>
  sql`pair_embeddings.tenant_id = ${caller.tenant.id}::uuid and pair_embeddings.user_id = ${caller.user.id}::uuid and pair_embeddings.embedding_model = ${embedderId}`;

/** How many pairs of the caller's own sessions vector search can find: indexed by the configured embedder, with text to match. */
export async function countIndexedPairs(deps: Pick<PairSearchDeps, "db" | "knowledge">, caller: Caller): Promise<number> {
  const [row] = await selectRows<{ count: number }>(
    deps.db,
    sql`select count(*)::int as count from ${pairEmbeddings} join ${sessions} on ${sessions.id} = pair_embeddings.session_id
        where ${indexedPairsOf(caller, deps.knowledge.embedder.id)} and pair_embeddings.embedding is not null and ${ownSearchedSessions(caller)}`,
  );
  return Number(row?.count ?? 0);
}

async function embedQuery(deps: PairSearchDeps, query: string, mode: PairSearchMode): Promise<number[] | null> {
  try {
    const [vector] = await deps.knowledge.embedder.embed([query]);
    return vector ?? null;
  } catch (error) {
    if (mode === "vector") throw new AppError("unavailable", "The embedding model is unavailable; search by keyword meanwhile");
    // Keyword search still answers when the embedding server is down.
    deps.log.warn({ err: error }, "embedding the search query failed, searching pairs by keyword only");
    return null;
  }
}

// --- the indexer ---

/** How often each instance looks for ended answers to embed: a pair is searchable by meaning within about this long. */
export const PAIR_INDEX_INTERVAL_MS = 2_000;
/** Pairs embedded per call to the embedder. */
export const PAIR_BATCH = 64;
/** How long an indexer holds the pairs it took; an indexer that died leaves them to another after it. */
const CLAIM_SECONDS = 60;
/** A pair is embedded as its question and answer, cut to this many characters (embedding models take a few thousand tokens). */
const PAIR_TEXT_MAX_CHARS = 6000;

/** The text a pair is embedded as: its question, then its answer, together at most PAIR_TEXT_MAX_CHARS. */
export function pairText(question: string, answer: string): string {
  return [question.trim(), answer.trim()].filter(Boolean).join("\n\n").slice(0, PAIR_TEXT_MAX_CHARS);
}

/**
 * Embeds up to `batch` queued pairs with one call to the embedder and stores their vectors;
 * returns how many it took. Instances take disjoint batches (`skip locked`, then a claim that
 * lapses after CLAIM_SECONDS, so the pairs of an indexer that died are taken again).
 */
export async function indexQueuedPairs(deps: Pick<PairSearchDeps, "db" | "knowledge">, batch = PAIR_BATCH): Promise<number> {
  const { db, knowledge } = deps;
  const claimed = await selectRows<{ answerId: string }>(
    db,
    sql`update ${pairEmbeddings} set claimed_until = now() + make_interval(secs => ${CLAIM_SECONDS})
        where answer_id in (
          select answer_id from ${pairEmbeddings}
          where embedding_model is null and (claimed_until is null or claimed_until < now())
          order by queued_at limit ${batch} for update skip locked)
        returning answer_id as "answerId"`,
  );
  if (claimed.length === 0) return 0;
  const pairs = await selectRows<{ answerId: string; question: string; answer: string }>(
    db,
    sql`select answer.id as "answerId", answer.content as answer, coalesce(question.content, '') as question
        from ${messages} answer
        left join lateral (
          select q.content from ${messages} q
          where q.session_id = answer.session_id and q.role = 'user' and (q.request_id = answer.request_id or q.id = answer.parent_id)
          order by q.request_id = answer.request_id desc limit 1
        ) question on true
        where answer.id in (${sql.join(claimed.map((c) => sql`${c.answerId}::uuid`), sql`, `)})`,
  );
  const texts = pairs.map((p) => ({ answerId: p.answerId, text: pairText(p.question, p.answer) }));
  const done = sql`embedding_model = ${knowledge.embedder.id}, claimed_until = null`;
  // A pair with no text (an answer that failed before its first word, to an empty question) has nothing to embed.
  const empty = texts.filter((t) => t.text === "");
  if (empty.length > 0) {
    await db.execute(sql`update ${pairEmbeddings} set embedding = null, ${done} where answer_id in (${sql.join(empty.map((t) => sql`${t.answerId}::uuid`), sql`, `)})`);
  }
  const embeddable = texts.filter((t) => t.text !== "");
  if (embeddable.length > 0) {
    const vectors = await knowledge.embedder.embed(embeddable.map((t) => t.text));
    // One vector per text embedded.
    const values = embeddable.map((t, i) => sql`(${t.answerId}::uuid, ${knowledge.vectors.value(vectors[i]!)})`);
    await db.execute(sql`update ${pairEmbeddings} set embedding = pair.embedding, ${done}
      from (values ${sql.join(values, sql`, `)}) as pair(answer_id, embedding)
      where pair_embeddings.answer_id = pair.answer_id`);
  }
  return claimed.length;
}

/** Queues again the pairs another embedder wrote (PARLEY_EMBEDDING_MODEL changed); until redone they are found by keyword only. */
export async function requeueStalePairs(deps: Pick<PairSearchDeps, "db" | "knowledge">): Promise<void> {
  await deps.db.execute(
    sql`update ${pairEmbeddings} set embedding_model = null, embedding = null, claimed_until = null
        where embedding_model is not null and embedding_model <> ${deps.knowledge.embedder.id}`,
  );
}

/**
 * Runs the indexer on this instance: at once, then every PAIR_INDEX_INTERVAL_MS, taking batch
 * after batch while they come full (a backlog is worked through without waiting). Returns the
 * function that stops it and waits for the batch under way.
 */
export function startPairIndexer(deps: Pick<PairSearchDeps, "db" | "knowledge"> & { log: Pick<Logger, "error"> }): () => Promise<void> {
  const drainQueue = async (stopping: () => boolean) => {
    while (!stopping() && (await indexQueuedPairs(deps)) === PAIR_BATCH) {
      // Let requests in between the batches of a backlog.
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  return repeat(drainQueue, {
    everyMs: PAIR_INDEX_INTERVAL_MS,
    onError: (error) => deps.log.error({ err: error }, "embedding question/answer pairs failed"),
    first: requeueStalePairs(deps).catch((error: Error) => deps.log.error({ err: error }, "could not queue the pairs of a previous embedder")),
  });
}
