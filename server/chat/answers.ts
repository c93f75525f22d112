import { randomUUID } from "node:crypto";
import { and, eq, inArray, ne, or, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import type { Db } from "../../db";
import { messages, sessions } from "../../db/schema";
import type { AnswerRunner } from "./runner";
import { acquire, forAnswer, forSwitch, isHeldBy, release, type Lease } from "./lease";
import { terminalEventOf, type FollowedAnswer } from "./streams";
import { liveAnswerFromStore, recordAnswerAccess, type AnswerAccessDeps } from "./answerAccess";
import type { Caller } from "../auth/accounts";
import { AppError, badInput, notFound, rateLimited } from "../platform/errors";
import { generateAnswer, type AnswerOptions, type GenerateDeps } from "./generate";
import { allBasesOfTenant } from "../knowledge/repository";
import {
  appendToPath,
  branchPoint,
  firstQuestion,
  lockActiveLeaf,
  messageColumns,
  moveActivePath,
  roomForSibling,
  switchActivePath,
  toMessage,
  type BranchPoint,
  type Message,
  type MessageRow,
  type NewMessage,
} from "../sessions/messages";
import { countTokens } from "../platform/models/text";
import type { ChatModel } from "../platform/models/types";
import type { Metrics } from "../platform/metrics";
import { limitSubject, type RateLimits } from "../auth/rateLimits";
import { interruptDeadAnswers, type RecoveryDeps } from "./recovery";
import { getSession, setTitle, visibleWhere, type Access, type Session } from "../sessions/sessions";
import { publishSignal } from "../platform/signals";
import type { Keys } from "../platform/store/keys";
import { generateTitle } from "./titles";
import { attachmentSources } from "../sessions/attachments";

/**
 * The answers' request API: read an answer, send a question (its answer is generated detached, see
 * generate.ts), stop an answer wherever it runs, and title a session from its first question.
 */

/** The row of an answer with what its terminal event needs. */
export const answerColumns = { ...messageColumns, durationMs: messages.durationMs, error: messages.error };
export type AnswerRow = Message & { durationMs: number | null; error: string | null };
const toAnswerRow = (row: Parameters<typeof toMessage>[0] & Pick<AnswerRow, "durationMs" | "error">): AnswerRow => ({ ...toMessage(row), durationMs: row.durationMs, error: row.error });

/** What sending and stopping need: the pipeline's and recovery's parts, this instance and its runner. */
export type AnswerDeps = GenerateDeps &
  RecoveryDeps & {
    instanceId: string;
    keys: Pick<Keys, "answerLock" | "signalChannel" | "answerAccess">;
    runner: Pick<AnswerRunner, "reserve" | "abort" | "has">;
    limits: Pick<RateLimits, "answerStarted" | "answerNotStarted">;
    metrics: Pick<Metrics, "rateLimited">;
  };

/** How long `chat.stop` waits for the answer to end before it answers anyway. */
const STOP_WAIT_MS = 5000;
/** How long a send refused for a full queue is asked to wait. */
const QUEUE_FULL_RETRY_AFTER_SECONDS = 5;

/** A question and the answer being written to it (for a regenerate, the question is the one it answers again). */
export interface Turn {
  requestId: string;
  userMessage: Message;
  assistantMessage: Message;
}

/**
 * What starts an answer: a new question after the active leaf (`send`), a new version of a
 * question (`edit`, a sibling of `messageId`), or a new answer to a question (`regenerate`, a
 * sibling of the answer `messageId`).
 */
export type AnswerRequest = { sessionId: string; requestId?: string } & (
  | { kind: "send"; query: string }
  | { kind: "edit"; messageId: string; query: string }
  | { kind: "regenerate"; messageId: string }
);

/** The turn a requestId already started in the session: its answer and the question it answers. */
async function findTurn(db: Db, sessionId: string, requestId: string): Promise<(Turn & { asked: boolean }) | null> {
  const answered = alias(messages, "answered");
  const rows = await db
    .select(messageColumns)
    .from(messages)
    .where(
      and(
        eq(messages.sessionId, sessionId),
        or(
          eq(messages.requestId, requestId),
          // A regenerated answer's question is its parent, of another request.
          inArray(
            messages.id,
            db
              .select({ id: sql`${answered.parentId}` })
              .from(answered)
              .where(and(eq(answered.sessionId, sessionId), eq(answered.requestId, requestId), eq(answered.role, "assistant"))),
          ),
        ),
      ),
    );
  const answer = rows.find((m) => m.role === "assistant" && m.requestId === requestId);
  const question = rows.find((m) => m.role === "user" && m.requestId === requestId) ?? rows.find((m) => m.id === answer?.parentId);
  if (!answer || !question) return null;
  return { requestId, userMessage: toMessage(question), assistantMessage: toMessage(answer), asked: question.requestId === requestId };
}

/** The repeat of a request returns its first turn; another request under the same requestId is CONFLICT. */
function repeatOf(earlier: Turn & { asked: boolean }, request: AnswerRequest, target: BranchPoint | null): Turn {
  const same =
    request.kind === "regenerate"
      ? !earlier.asked && earlier.userMessage.id === target?.parent?.id
      : earlier.asked &&
        earlier.userMessage.content === request.query &&
        (request.kind === "send" || earlier.userMessage.parentId === (target?.parent?.id ?? null));
  if (!same) throw new AppError("conflict", "This requestId was used for another request; send a new one");
  const { asked: _asked, ...turn } = earlier;
  return turn;
}

/** The message a regenerate or edit branches from, checked: an answer to a question, or a question. */
async function checkedBranchPoint(db: Db, sessionId: string, request: AnswerRequest): Promise<BranchPoint | null> {
  if (request.kind === "send") return null;
  const target = await branchPoint(db, sessionId, request.messageId);
  if (request.kind === "regenerate" && (target.role !== "assistant" || target.parent?.role !== "user")) {
    throw badInput("messageId", "Only an answer to a question can be regenerated");
  }
  if (request.kind === "edit" && target.role !== "user") throw badInput("messageId", "Only a question can be edited");
  return target;
}

/** An assistant message of a session the caller may reach (as `getSession` decides). */
export async function getAnswer(deps: { db: Db }, caller: Caller, sessionId: string, messageId: string, access: Access): Promise<AnswerRow> {
  // One query on the hot path (every resume); only a miss asks which part was missing.
  const [row] = await deps.db
    .select(answerColumns)
    .from(messages)
    .innerJoin(sessions, eq(sessions.id, messages.sessionId))
    .where(and(eq(messages.id, messageId), eq(messages.sessionId, sessionId), eq(messages.role, "assistant"), visibleWhere(caller, access)));
  if (row) return toAnswerRow(row);
  await getSession(deps.db, caller, sessionId, access);
  throw notFound("Message");
}

/**
 * Answer `messageId`'s row once it has ended; null while its lease is held (it runs) or its row is
 * `streaming` (it runs, or its dead instance's sweeper has yet to end it).
 */
export async function endedAnswer(deps: { db: Db } & Pick<AnswerAccessDeps, "store" | "keys">, sessionId: string, messageId: string): Promise<AnswerRow | null> {
  if (await isHeldBy(deps, sessionId, messageId)) return null;
  const [row] = await deps.db
    .select(answerColumns)
    .from(messages)
    .where(and(eq(messages.id, messageId), eq(messages.sessionId, sessionId), ne(messages.status, "streaming")));
  return row ? toAnswerRow(row) : null;
}

/**
 * The answer a follower reads (`chat.stream`, REST `continue-stream`), checked as `getAnswer`
 * checks it: a live answer from what the store holds about it (answerAccess.ts), without Postgres;
 * anything else, a finished answer included (its terminal event comes from its row), from Postgres.
 */
export async function answerToFollow(
  deps: { db: Db } & AnswerAccessDeps,
  caller: Caller,
  { sessionId, messageId, lastEventId }: { sessionId: string; messageId: string; lastEventId: string | null },
  access: Access,
): Promise<FollowedAnswer> {
  return (await liveAnswerFromStore(deps, caller, { sessionId, messageId }, access, lastEventId)) ?? getAnswer(deps, caller, sessionId, messageId, access);
}

const unavailable = () => new AppError("unavailable", "The stream store is unreachable; try again shortly");
const busy = () => new AppError("conflict", "An answer is already streaming in this session: wait for it or stop it");

/**
 * Takes the session's answer lease for `lease`; false when it is held (an answer streams).
 * The send limit travels alongside the lease's SET NX, adding no round trip of its own.
 */
async function acquireLease(deps: AnswerDeps, lease: Lease, limitAs: string | null): Promise<boolean> {
  const [lock, limit] = await Promise.allSettled([acquire(deps, lease), limitAs ? deps.limits.answerStarted(limitAs) : null]);
  if (limit.status === "rejected") {
    if (lock.status === "fulfilled" && lock.value) await release(deps, lease).catch(() => undefined);
    throw limit.reason;
  }
  if (lock.status === "rejected") throw unavailable();
  if (!lock.value && limitAs) await deps.limits.answerNotStarted(limitAs).catch(() => undefined);
  return lock.value;
}

/**
 * Starts an answer (`chat.send`, `chat.edit`, `chat.regenerate`): stores the new messages (the
 * question, or none for a regenerate, and an empty `streaming` answer) on the active path, which
 * now ends at the answer, starts the answer on this instance and returns at once. One answer per
 * session (the session's answer lock); the same requestId again returns the first turn. Refused as
 * `rate_limited`, before anything is written, when the caller has used up its answers (`limitAs`:
 * whom it counts against, its key by default) or this instance's queue is full.
 */
/** How an answer starts: generation options, whose limits it counts against, and the channel its messages record (`api` when unsaid). */
export type StartOptions = AnswerOptions & { limitAs?: string; channel?: string };

export async function startAnswer(deps: AnswerDeps, caller: Caller, request: AnswerRequest, options: StartOptions = {}): Promise<Turn> {
  if (request.kind !== "regenerate" && request.query.trim() === "") throw badInput("query", "The question is empty");
  const session = await getSession(deps.db, caller, request.sessionId, "own");
  if (!(await allBasesOfTenant(deps.db, caller.tenant.id, options.knowledgeBaseIds ?? []))) {
    throw badInput("knowledgeBaseIds", "There is no knowledge base with this id in your tenant");
  }
  const attachments = await attachmentSources(deps.db, session.id, options.attachmentIds ?? []);
  const target = await checkedBranchPoint(deps.db, session.id, request);
  const requestId = request.requestId ?? randomUUID();
  const earlier = await findTurn(deps.db, session.id, requestId);
  if (earlier) return repeatOf(earlier, request, target);

  const place = deps.runner.reserve();
  if (!place) {
    deps.metrics.rateLimited.inc({ limit: "queue" });
    throw rateLimited("Too many answers are waiting on this server; try again shortly", QUEUE_FULL_RETRY_AFTER_SECONDS);
  }
  try {
    const limitAs = options.limitAs ?? limitSubject(caller, "key");
    const messageId = randomUUID();
    const lease = forAnswer({ sessionId: session.id, messageId, instanceId: deps.instanceId });
    if (!(await acquireLease(deps, lease, limitAs))) {
      // A retry of a request still being stored elsewhere is the same turn, not a conflict.
      await new Promise((r) => setTimeout(r, 150));
      const raced = await findTurn(deps.db, session.id, requestId);
      if (raced) return repeatOf(raced, request, target);
      throw busy();
    }

    let turn: Turn;
    const ids = { sessionId: session.id, messageId };
    try {
      // Holding the lock means no live answer exists here: a `streaming` row is a dead instance's.
      // Who may follow the answer is in the store before its row exists, so a deletion that finds
      // the row deletes the key too. Without it, followers are checked in Postgres.
      await Promise.all([
        interruptDeadAnswers(deps, eq(messages.sessionId, session.id), { ignoreRecency: true }),
        recordAnswerAccess(deps, ids, { tenantId: session.tenantId, userId: session.userId, requestId }).catch(() => undefined),
      ]);
      turn = await deps.db.transaction((tx) => storeTurn(tx, session, request, target, { requestId, messageId, model: deps.models.chat.name, channel: options.channel ?? "api" }));
    } catch (error) {
      await Promise.all([release(deps, lease), deps.store.del(deps.keys.answerAccess(ids.sessionId, ids.messageId))]).catch(() => undefined);
      const raced = (error as { code?: string }).code === "23505" ? await findTurn(deps.db, session.id, requestId) : null;
      if (raced) return repeatOf(raced, request, target);
      throw error;
    }

    const question = turn.userMessage.content;
    const questionTokens = countTokens(question);
    const controller = new AbortController();
    place.enqueue({
      tenantId: session.tenantId,
      sessionId: session.id,
      messageId,
      lease,
      controller,
      run: (signal, releaseLease) =>
        generateAnswer(
          deps,
          { session, requestId, messageId, question, questionTokens, knowledgeBaseIds: options.knowledgeBaseIds, disableTitle: options.disableTitle, attachments },
          signal,
          releaseLease,
        ),
    });
    return turn;
  } finally {
    place.release();
  }
}

/** `chat.send`: a new question after the session's active leaf. */
export const sendChat = (deps: AnswerDeps, caller: Caller, input: { sessionId: string; query: string; requestId?: string }, options: StartOptions = {}) =>
  startAnswer(deps, caller, { ...input, kind: "send" }, options);

/**
 * Stores a turn's new messages in `tx`: the question (unless regenerating) and the `streaming`
 * answer, on the active path, which first ends where they branch off (for a send, at the leaf);
 * then the session's leaf is the answer. All of it or nothing.
 */
async function storeTurn(
  tx: Db,
  session: Session,
  request: AnswerRequest,
  target: BranchPoint | null,
  ids: { requestId: string; messageId: string; model: string; channel: string },
): Promise<Turn> {
  const leaf = await lockActiveLeaf(tx, session.id);
  const answer = { id: ids.messageId, requestId: ids.requestId, role: "assistant" as const, status: "streaming" as const, model: ids.model, channel: ids.channel };
  if (request.kind === "send") {
    const [question, answerRow] = await appendToPath(tx, session, leaf, [questionOf(ids.requestId, request.query, ids.channel), answer]);
    return turnOf(ids.requestId, toMessage({ ...question!, siblings: [leaf.children + 1, leaf.children + 1] }), answerRow!, [1, 1]);
  }
  // A new sibling: the path first ends where it branches off (for an edit, above the question; for a regenerate, at the question).
  const parent = target!.parent; // checkedBranchPoint gives a branch point for edit and regenerate
  const before = await roomForSibling(tx, session.id, parent?.id ?? null);
  await moveActivePath(tx, session.id, parent?.id ?? null);
  const above = { id: parent?.id ?? null, createdAt: parent?.createdAt ?? null };
  if (request.kind === "edit") {
    const [question, answerRow] = await appendToPath(tx, session, above, [questionOf(ids.requestId, request.query, ids.channel), answer]);
    return turnOf(ids.requestId, toMessage({ ...question!, siblings: [before + 1, before + 1] }), answerRow!, [1, 1]);
  }
  const [answerRow] = await appendToPath(tx, session, above, [answer]);
  const [question] = await tx.select(messageColumns).from(messages).where(eq(messages.id, parent!.id)); // regenerate: the parent is a question
  return turnOf(ids.requestId, toMessage(question!), answerRow!, [before + 1, before + 1]);
}

const questionOf = (requestId: string, query: string, channel: string): NewMessage => ({ requestId, role: "user", content: query, tokenCount: countTokens(query), status: "completed", channel });
const turnOf = (requestId: string, userMessage: Message, answer: MessageRow, siblings: [number, number]): Turn => ({
  requestId,
  userMessage,
  assistantMessage: toMessage({ ...answer, siblings }),
});

/**
 * `message.switchBranch`: the active path goes through `messageId` and on down each fork's latest
 * choice. Refused (CONFLICT) while an answer streams in the session: it holds the answer lock
 * for the switch, as an answer would.
 */
export async function switchBranch(deps: AnswerDeps, caller: Caller, input: { sessionId: string; messageId: string }): Promise<Session> {
  const session = await getSession(deps.db, caller, input.sessionId, "own");
  const lease = forSwitch({ sessionId: session.id, instanceId: deps.instanceId });
  if (!(await acquireLease(deps, lease, null))) throw busy();
  try {
    return await deps.db.transaction((tx) => switchActivePath(tx, session.id, input.messageId));
  } finally {
    await release(deps, lease).catch(() => undefined);
  }
}

/**
 * Asks whichever instance runs the answer to stop it, and waits (briefly) for its terminal event:
 * its producer makes the row final and frees the session before writing it, so the caller may
 * send again at once.
 */
export async function stopChat(deps: AnswerDeps, caller: Caller, sessionId: string, messageId: string) {
  const answer = await getAnswer(deps, caller, sessionId, messageId, "own");
  if (answer.status !== "streaming") return { status: "already_completed" as const };
  if (!deps.runner.abort(messageId, "user")) {
    await publishSignal(deps, { messageId }).catch(() => {
      throw unavailable();
    });
  }
  let completed: boolean;
  try {
    const terminal = await terminalEventOf(deps, sessionId, messageId, AbortSignal.timeout(STOP_WAIT_MS));
    completed = terminal?.type === "complete";
  } catch {
    // The stream store is unreachable: the answer's row, the record, says whether it completed before the stop.
    const [row] = await deps.db.select({ status: messages.status }).from(messages).where(eq(messages.id, messageId));
    completed = row?.status === "completed";
  }
  return { status: completed ? ("already_completed" as const) : ("stopped" as const) };
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
