import { and, asc, desc, eq, inArray, lt, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import type { Db } from "../db";
import { messages, sessions } from "../db/schema";
import type { Caller } from "./auth";
import type { Reference } from "./defaults";
import { AppError, notFound } from "./errors";
import type { HistoryMessage } from "./context";
import { bumpContextVersion, lockOwnSession, toTsQuery, visibleWhere, type Session } from "./sessions";
import type { Keys } from "./store/keys";
import type { Store } from "./store/types";

export const messageColumns = {
  id: messages.id,
  sessionId: messages.sessionId,
  requestId: messages.requestId,
  role: messages.role,
  content: messages.content,
  status: messages.status,
  references: messages.references,
  model: messages.model,
  createdAt: messages.createdAt,
  updatedAt: messages.updatedAt,
};
/** A message as callers see it; spelled out (not inferred from the table) for the SDK's declarations. */
export interface Message {
  id: string;
  sessionId: string;
  requestId: string;
  role: "user" | "assistant";
  content: string;
  status: "streaming" | "completed" | "stopped" | "interrupted" | "failed";
  references: Reference[];
  model: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** The page of messages before `before` (or the newest), returned oldest first. */
export async function listMessages(db: Db, sessionId: string, options: { before?: Date; limit: number }) {
  const where = options.before
    ? and(eq(messages.sessionId, sessionId), lt(messages.createdAt, options.before))
    : eq(messages.sessionId, sessionId);
  const rows = await db
    .select(messageColumns)
    .from(messages)
    .where(where)
    .orderBy(desc(messages.createdAt), desc(messages.id))
    .limit(options.limit + 1);
  const hasMore = rows.length > options.limit;
  return { items: rows.slice(0, options.limit).reverse(), hasMore };
}

export async function allMessages(db: Db, sessionId: string): Promise<Message[]> {
  return db.select(messageColumns).from(messages).where(eq(messages.sessionId, sessionId)).orderBy(asc(messages.createdAt), asc(messages.id));
}

/** The stored conversation the LLM context is rebuilt from on a cache miss. */
export async function loadHistory(db: Db, sessionId: string): Promise<HistoryMessage[]> {
  const rows = await db
    .select({ role: messages.role, content: messages.content, tokens: messages.tokenCount })
    .from(messages)
    .where(and(eq(messages.sessionId, sessionId), inArray(messages.status, ["completed", "stopped"])))
    .orderBy(asc(messages.createdAt), asc(messages.id));
  return rows.filter((m) => m.content !== "").map(({ tokens, ...m }) => (tokens === null ? m : { ...m, tokens }));
}

/** The session's context version (see context.ts), or null when there is no such session. */
export async function contextVersion(db: Db, sessionId: string): Promise<number | null> {
  const [row] = await db.select({ version: sessions.contextVersion }).from(sessions).where(eq(sessions.id, sessionId));
  return row?.version ?? null;
}

/** The session's first question, or null before it has one. */
export async function firstQuestion(db: Db, sessionId: string): Promise<string | null> {
  const [first] = await db
    .select({ content: messages.content })
    .from(messages)
    .where(and(eq(messages.sessionId, sessionId), eq(messages.role, "user")))
    .orderBy(asc(messages.createdAt))
    .limit(1);
  return first?.content ?? null;
}

function filenameFor(session: Session, extension: string): string {
  const slug = session.title
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 60);
  return `${slug || "chat"}-${session.id.slice(0, 8)}.${extension}`;
}

/** A session and its messages as a Markdown transcript or as JSON `{ session, messages }`. */
export async function exportSession(db: Db, session: Session, format: "markdown" | "json") {
  const all = await allMessages(db, session.id);
  if (format === "json") {
    return { filename: filenameFor(session, "json"), content: JSON.stringify({ session, messages: all }, null, 2) };
  }
  const lines = [`# ${session.title || "Untitled chat"}`, ""];
  for (const m of all) {
    lines.push(`## ${m.role === "user" ? "User" : "Assistant"}`, "", m.content || "_(no content)_", "");
    m.references.forEach((r, i) => lines.push(`[${i + 1}] ${r.title} — ${r.source}`));
    if (m.references.length) lines.push("");
  }
  return { filename: filenameFor(session, "md"), content: lines.join("\n") };
}

/**
 * Deletes one message of the caller's own session together with its pair (the question and its
 * answer share a requestId), refusing while that answer streams. The session's LLM context is
 * dropped so the next answer rebuilds it from what remains; the answer's stream goes too.
 */
export async function deleteTurn(
  deps: { db: Db; store: Pick<Store, "del">; keys: Pick<Keys, "context" | "stream"> },
  caller: Caller,
  sessionId: string,
  messageId: string,
): Promise<{ deleted: string[] }> {
  const deleted = await deps.db.transaction(async (tx) => {
    await lockOwnSession(tx, caller, sessionId);
    const [target] = await tx
      .select({ requestId: messages.requestId })
      .from(messages)
      .where(and(eq(messages.id, messageId), eq(messages.sessionId, sessionId)));
    if (!target) throw notFound("Message");
    const turn = and(eq(messages.sessionId, sessionId), eq(messages.requestId, target.requestId));
    const pair = await tx.select({ id: messages.id, status: messages.status }).from(messages).where(turn);
    if (pair.some((m) => m.status === "streaming")) throw new AppError("conflict", "This answer is still streaming; stop it first");
    const rows = await tx.delete(messages).where(turn).returning({ id: messages.id });
    await bumpContextVersion(tx, sessionId);
    return rows.map((r) => r.id);
  });
  try {
    await deps.store.del(deps.keys.context(sessionId), ...deleted.map((id) => deps.keys.stream(sessionId, id)));
  } catch (error) {
    // Postgres is the record; a context left behind expires with its TTL.
    console.error("[parley] could not drop the LLM context after deleting a message:", (error as Error).message);
  }
  return { deleted };
}

export interface TurnHit {
  requestId: string;
  sessionId: string;
  sessionTitle: string;
  question: string;
  answer: string;
  score: number;
  createdAt: Date;
}

/**
 * Question/answer pairs of the caller's own sessions whose question or answer matches `query`
 * (the same literal full-text terms as session search), best full-text score first.
 */
export async function searchTurns(
  db: Db,
  caller: Caller,
  input: { query: string; limit: number; sessionIds?: string[] },
): Promise<{ items: TurnHit[]; total: number }> {
  const terms = toTsQuery(input.query);
  if (!terms || input.sessionIds?.length === 0) return { items: [], total: 0 };
  const tsquery = sql`to_tsquery('simple', ${terms})`;
  const hits = db.$with("hits").as(
    db
      .select({
        sessionId: messages.sessionId,
        requestId: messages.requestId,
        score: sql<number>`max(ts_rank(${messages.contentTsv}, ${tsquery}))`.as("score"),
      })
      .from(messages)
      .innerJoin(sessions, eq(sessions.id, messages.sessionId))
      .where(
        and(
          visibleWhere(caller, "own"),
          sql`${messages.contentTsv} @@ ${tsquery}`,
          input.sessionIds ? inArray(messages.sessionId, input.sessionIds) : undefined,
        ),
      )
      .groupBy(messages.sessionId, messages.requestId),
  );
  const question = alias(messages, "question");
  const answer = alias(messages, "answer");
  const sameTurn = (m: typeof question | typeof answer, role: "user" | "assistant") =>
    and(eq(m.sessionId, hits.sessionId), eq(m.requestId, hits.requestId), eq(m.role, role));
  const rows = await db
    .with(hits)
    .select({
      requestId: hits.requestId,
      sessionId: hits.sessionId,
      sessionTitle: sessions.title,
      question: sql<string>`coalesce(${question.content}, '')`,
      answer: sql<string>`coalesce(${answer.content}, '')`,
      score: hits.score,
      createdAt: sql<Date>`coalesce(${question.createdAt}, ${answer.createdAt})`.mapWith(question.createdAt),
      total: sql<number>`count(*) over ()`.mapWith(Number),
    })
    .from(hits)
    .innerJoin(sessions, eq(sessions.id, hits.sessionId))
    .leftJoin(question, sameTurn(question, "user"))
    .leftJoin(answer, sameTurn(answer, "assistant"))
    .orderBy(desc(hits.score), desc(sql`coalesce(${question.createdAt}, ${answer.createdAt})`), desc(hits.requestId))
    .limit(input.limit);
  return {
    items: rows.map(({ total: _total, score, ...hit }) => ({ ...hit, score: Number(score) })),
    // Every row carries the count of all hits (limit is at least 1, so no rows means no hits).
    total: rows[0]?.total ?? 0,
  };
}
