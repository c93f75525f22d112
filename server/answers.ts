import { randomUUID } from "node:crypto";
import { and, eq } from "drizzle-orm";
import type { Db } from "../db";
import { messages, sessions } from "../db/schema";
import { LEASE_MS, type AnswerRunner } from "./answerRunner";
import type { Caller } from "./auth";
import { AppError, badInput, notFound, rateLimited } from "./errors";
import { generateAnswer, type AnswerOptions, type GenerateDeps } from "./generate";
import { allBasesOfTenant } from "./knowledge/repository";
import { firstQuestion, messageColumns, type Message } from "./messages";
import { countTokens } from "./models/text";
import type { ChatModel } from "./models/types";
import type { Metrics } from "./metrics";
import { limitSubject, type RateLimits } from "./rateLimits";
import { interruptDeadAnswers, type RecoveryDeps } from "./recovery";
import { getSession, setTitle, touchSession, visibleWhere, type Access } from "./sessions";
import { publishSignal } from "./signals";
import type { Keys } from "./store/keys";
import { generateTitle } from "./titles";

/**
 * The answers' request API: read an answer, send a question (its answer is generated detached, see
 * generate.ts), stop an answer wherever it runs, and title a session from its first question.
 */

/** The row of an answer with what its terminal event needs. */
export const answerColumns = { ...messageColumns, durationMs: messages.durationMs, error: messages.error };
export type AnswerRow = Message & { durationMs: number | null; error: string | null };

/** What sending and stopping need: the pipeline's and recovery's parts, this instance and its runner. */
export type AnswerDeps = GenerateDeps &
  RecoveryDeps & {
    instanceId: string;
    keys: Pick<Keys, "answerLock" | "signalChannel">;
    runner: Pick<AnswerRunner, "reserve" | "abort" | "has">;
    limits: Pick<RateLimits, "answerStarted" | "answerNotStarted">;
    metrics: Pick<Metrics, "rateLimited">;
  };

/** How long a send refused for a full queue is asked to wait. */
const QUEUE_FULL_RETRY_AFTER_SECONDS = 5;

export interface Turn {
  requestId: string;
  userMessage: Message;
  assistantMessage: Message;
}

async function findTurn(db: Db, sessionId: string, requestId: string): Promise<Turn | null> {
  const rows = await db
    .select(messageColumns)
    .from(messages)
    .where(and(eq(messages.sessionId, sessionId), eq(messages.requestId, requestId)));
  const userMessage = rows.find((m) => m.role === "user");
  const assistantMessage = rows.find((m) => m.role === "assistant");
  return userMessage && assistantMessage ? { requestId, userMessage, assistantMessage } : null;
}

/** An assistant message of a session the caller may reach (as `getSession` decides). */
export async function getAnswer(deps: { db: Db }, caller: Caller, sessionId: string, messageId: string, access: Access): Promise<AnswerRow> {
  // One query on the hot path (every resume); only a miss asks which part was missing.
  const [row] = await deps.db
    .select(answerColumns)
    .from(messages)
    .innerJoin(sessions, eq(sessions.id, messages.sessionId))
    .where(and(eq(messages.id, messageId), eq(messages.sessionId, sessionId), eq(messages.role, "assistant"), visibleWhere(caller, access)));
  if (row) return row;
  await getSession(deps.db, caller, sessionId, access);
  throw notFound("Message");
}

const unavailable = () => new AppError("unavailable", "The stream store is unreachable; try again shortly");

/**
 * Stores the question and an empty `streaming` answer, starts the answer on this instance and
 * returns at once. One answer per session (the session's answer lock); the same requestId again
 * returns the first turn. Refused as `rate_limited`, before anything is written, when the caller
 * has used up its answers (`limitAs`: whom it counts against, its key by default) or this
 * instance's queue is full.
 */
export async function sendChat(
  deps: AnswerDeps,
  caller: Caller,
  input: { sessionId: string; query: string; requestId?: string },
  options: AnswerOptions & { limitAs?: string } = {},
): Promise<Turn> {
  if (input.query.trim() === "") throw badInput("query", "The question is empty");
  const session = await getSession(deps.db, caller, input.sessionId, "own");
  if (!(await allBasesOfTenant(deps.db, caller.tenant.id, options.knowledgeBaseIds ?? []))) {
    throw badInput("knowledgeBaseIds", "There is no knowledge base with this id in your tenant");
  }
  const requestId = input.requestId ?? randomUUID();
  const earlier = await findTurn(deps.db, session.id, requestId);
  if (earlier) return earlier;

  const place = deps.runner.reserve();
  if (!place) {
    deps.metrics.rateLimited.inc({ limit: "queue" });
    throw rateLimited("Too many answers are waiting on this server; try again shortly", QUEUE_FULL_RETRY_AFTER_SECONDS);
  }
  try {
    const limitAs = options.limitAs ?? limitSubject(caller, "key");
    const messageId = randomUUID();
    const leaseOwner = `${messageId}:${deps.instanceId}`;
    const lockKey = deps.keys.answerLock(session.id);
    // The send limit travels alongside the lock's SET NX, adding no round trip of its own.
    const [lock, limit] = await Promise.allSettled([deps.store.acquire(lockKey, leaseOwner, LEASE_MS), deps.limits.answerStarted(limitAs)]);
    if (limit.status === "rejected") {
      if (lock.status === "fulfilled" && lock.value) await deps.store.release(lockKey, leaseOwner).catch(() => undefined);
      throw limit.reason;
    }
    if (lock.status === "rejected") throw unavailable();
    if (!lock.value) {
      await deps.limits.answerNotStarted(limitAs).catch(() => undefined);
      // A retry of a send still being stored elsewhere is the same turn, not a conflict.
      await new Promise((r) => setTimeout(r, 150));
      const raced = await findTurn(deps.db, session.id, requestId);
      if (raced) return raced;
      throw new AppError("conflict", "An answer is already streaming in this session: wait for it or stop it");
    }

    const questionTokens = countTokens(input.query);
    let turn: Turn;
    try {
      // Holding the lock means no live answer exists here: a `streaming` row is a dead instance's.
      await interruptDeadAnswers(deps, eq(messages.sessionId, session.id), { ignoreRecency: true });
      turn = await deps.db.transaction(async (tx) => {
        const now = new Date();
        const [userMessage] = await tx
          .insert(messages)
          .values({ sessionId: session.id, tenantId: session.tenantId, userId: session.userId, requestId, role: "user", content: input.query, tokenCount: questionTokens, status: "completed", createdAt: now, updatedAt: now })
          .returning(messageColumns);
        // One millisecond later, so the question always sorts before its answer.
        const later = new Date(now.getTime() + 1);
        const [assistantMessage] = await tx
          .insert(messages)
          .values({ id: messageId, sessionId: session.id, tenantId: session.tenantId, userId: session.userId, requestId, role: "assistant", status: "streaming", model: deps.models.chat.name, createdAt: later, updatedAt: later })
          .returning(messageColumns);
        await touchSession(tx, session.id, later);
        // insert … returning gives the one row inserted.
        return { requestId, userMessage: userMessage!, assistantMessage: assistantMessage! };
      });
    } catch (error) {
      await deps.store.release(lockKey, leaseOwner).catch(() => undefined);
      const raced = (error as { code?: string }).code === "23505" ? await findTurn(deps.db, session.id, requestId) : null;
      if (raced) return raced;
      throw error;
    }

    const controller = new AbortController();
    place.enqueue({
      tenantId: session.tenantId,
      sessionId: session.id,
      messageId,
      leaseOwner,
      controller,
      run: (signal, releaseLease) =>
        generateAnswer(
          deps,
          { session, requestId, messageId, question: input.query, questionTokens, knowledgeBaseIds: options.knowledgeBaseIds, disableTitle: options.disableTitle },
          signal,
          releaseLease,
        ),
    });
    return turn;
  } finally {
    place.release();
  }
}

/** Asks whichever instance runs the answer to stop it, and waits (briefly) for it to end. */
export async function stopChat(deps: AnswerDeps, caller: Caller, sessionId: string, messageId: string) {
  const answer = await getAnswer(deps, caller, sessionId, messageId, "own");
  if (answer.status !== "streaming") return { status: "already_completed" as const };
  if (!deps.runner.abort(messageId, "user")) {
    await publishSignal(deps, { messageId }).catch(() => {
      throw unavailable();
    });
  }
  // Return once the answer is final and its session free, so the caller may send again at once.
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    const [row] = await deps.db.select({ status: messages.status }).from(messages).where(eq(messages.id, messageId));
    const holder = await deps.store.get(deps.keys.answerLock(sessionId)).catch(() => null);
    if ((!row || row.status !== "streaming") && !holder?.startsWith(`${messageId}:`)) {
      return { status: row?.status === "completed" ? ("already_completed" as const) : ("stopped" as const) };
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return { status: "stopped" as const };
}

/**
 * `session.generateTitle`: from the session's first question (or from `question` when the caller
 * supplies the conversation, as WeKnora's generate_title does), stored and returned.
 */
export async function generateSessionTitle(
  deps: { db: Db; models: { summary: ChatModel } },
  caller: Caller,
  sessionId: string,
  given?: string,
): Promise<{ title: string }> {
  await getSession(deps.db, caller, sessionId, "own");
  const question = given?.trim() ? given : await firstQuestion(deps.db, sessionId);
  if (question === null) throw new AppError("bad_input", "The session has no question to title yet", "id");
  const title = await generateTitle(deps.models.summary, question);
  await setTitle(deps.db, sessionId, title);
  return { title };
}
