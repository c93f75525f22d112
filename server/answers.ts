import { randomUUID } from "node:crypto";
import { and, asc, eq, inArray } from "drizzle-orm";
import type { Db } from "../db";
import { messages, sessions } from "../db/schema";
import type { App, InstanceSignal } from "./app";
import { LEASE_MS } from "./answerRunner";
import type { Caller } from "./auth";
import type { Reference, Usage } from "./defaults";
import { AppError, badInput, isInfrastructureError, notFound } from "./errors";
import type { StreamEvent } from "./events";
import { messageColumns, type Message } from "./messages";
import { basesOfTenant } from "./knowledge/repository";
import type { ChatMessage } from "./models/types";
import { getSession, setTitle, visibleWhere, type Access, type Session } from "./sessions";
import { createStreamWriter, type StreamWriter } from "./streams";

/** The row of an answer with what its terminal event needs. */
export const answerColumns = { ...messageColumns, durationMs: messages.durationMs, error: messages.error };
export type AnswerRow = Message & { durationMs: number | null; error: string | null };

/** How often a growing answer is written to its row: bounded, whatever the model's pace. */
const PROGRESS_WRITE_MS = 500;
const TITLE_WAIT_MS = 10_000;

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
export async function getAnswer(app: App, caller: Caller, sessionId: string, messageId: string, access: Access): Promise<AnswerRow> {
  // One query on the hot path (every resume); only a miss asks which part was missing.
  const [row] = await app.db
    .select(answerColumns)
    .from(messages)
    .innerJoin(sessions, eq(sessions.id, messages.sessionId))
    .where(and(eq(messages.id, messageId), eq(messages.sessionId, sessionId), eq(messages.role, "assistant"), visibleWhere(caller, access)));
  if (row) return row;
  await getSession(app.db, caller, sessionId, access);
  throw notFound("Message");
}

const unavailable = () => new AppError("unavailable", "The stream store is unreachable; try again shortly");

/**
 * Stores the question and an empty `streaming` answer, starts the answer on this instance and
 * returns at once. One answer per session (the session's answer lock); the same requestId again
 * returns the first turn.
 */
export async function sendChat(
  app: App,
  caller: Caller,
  input: { sessionId: string; query: string; requestId?: string },
  options: AnswerOptions = {},
): Promise<Turn> {
  if (input.query.trim() === "") throw badInput("query", "The question is empty");
  const session = await getSession(app.db, caller, input.sessionId, "own");
  const answerSession = await withAnswerKnowledge(app.db, caller, session, options.knowledgeBaseIds);
  const requestId = input.requestId ?? randomUUID();
  const earlier = await findTurn(app.db, session.id, requestId);
  if (earlier) return earlier;

  const messageId = randomUUID();
  const leaseOwner = `${messageId}:${app.instanceId}`;
  const lockKey = app.keys.answerLock(session.id);
  const acquired = await app.store.acquire(lockKey, leaseOwner, LEASE_MS).catch(() => {
    throw unavailable();
  });
  if (!acquired) {
    // A retry of a send still being stored elsewhere is the same turn, not a conflict.
    await new Promise((r) => setTimeout(r, 150));
    const raced = await findTurn(app.db, session.id, requestId);
    if (raced) return raced;
    throw new AppError("conflict", "An answer is already streaming in this session: wait for it or stop it");
  }

  let turn: Turn;
  try {
    // Holding the lock means no live answer exists here: a `streaming` row is a dead instance's.
    await interruptDeadAnswers(app, eq(messages.sessionId, session.id), { ignoreRecency: true });
    turn = await app.db.transaction(async (tx) => {
      const now = new Date();
      const [userMessage] = await tx
        .insert(messages)
        .values({ sessionId: session.id, requestId, role: "user", content: input.query, status: "completed", createdAt: now, updatedAt: now })
        .returning(messageColumns);
      // One millisecond later, so the question always sorts before its answer.
      const later = new Date(now.getTime() + 1);
      const [assistantMessage] = await tx
        .insert(messages)
        .values({ id: messageId, sessionId: session.id, requestId, role: "assistant", status: "streaming", model: app.models.chat.name, createdAt: later, updatedAt: later })
        .returning(messageColumns);
      await tx.update(sessions).set({ updatedAt: later }).where(eq(sessions.id, session.id));
      return { requestId, userMessage, assistantMessage };
    });
  } catch (error) {
    await app.store.release(lockKey, leaseOwner).catch(() => undefined);
    const raced = (error as { code?: string }).code === "23505" ? await findTurn(app.db, session.id, requestId) : null;
    if (raced) return raced;
    throw error;
  }

  const controller = new AbortController();
  app.runner.enqueue({
    sessionId: session.id,
    messageId,
    leaseOwner,
    controller,
    run: (signal, releaseLease) =>
      generateAnswer(app, { session: answerSession, requestId, messageId, question: input.query, disableTitle: options.disableTitle }, signal, releaseLease),
  });
  return turn;
}

/**
 * Per-answer options (WeKnora's knowledge-chat): `knowledgeBaseIds` (bases of the caller's tenant)
 * replace the session's bases for this answer only; `disableTitle` makes no title.
 */
export interface AnswerOptions {
  knowledgeBaseIds?: string[];
  disableTitle?: boolean;
}

/** The session as this answer sees it: with `knowledgeBaseIds` as its only bases, when given. */
async function withAnswerKnowledge(db: Db, caller: Caller, session: Session, knowledgeBaseIds: string[] | undefined): Promise<Session> {
  if (!knowledgeBaseIds || knowledgeBaseIds.length === 0) return session;
  const known = await basesOfTenant(db, caller.tenant.id, knowledgeBaseIds);
  if (known.length !== new Set(knowledgeBaseIds).size) throw badInput("knowledgeBaseIds", "There is no knowledge base with this id in your tenant");
  return { ...session, knowledgeBaseId: null, agentConfig: { ...session.agentConfig, knowledgeBases: known } };
}

/** Asks whichever instance runs the answer to stop it, and waits (briefly) for it to end. */
export async function stopChat(app: App, caller: Caller, sessionId: string, messageId: string) {
  const answer = await getAnswer(app, caller, sessionId, messageId, "own");
  if (answer.status !== "streaming") return { status: "already_completed" as const };
  if (!app.runner.abort(messageId, "user")) {
    await app.store.publish(app.keys.signalChannel(), JSON.stringify({ messageId } satisfies InstanceSignal)).catch(() => {
      throw unavailable();
    });
  }
  // Return once the answer is final and its session free, so the caller may send again at once.
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    const [row] = await app.db.select({ status: messages.status }).from(messages).where(eq(messages.id, messageId));
    const holder = await app.store.get(app.keys.answerLock(sessionId)).catch(() => null);
    if ((!row || row.status !== "streaming") && !holder?.startsWith(`${messageId}:`)) {
      return { status: row?.status === "completed" ? ("already_completed" as const) : ("stopped" as const) };
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return { status: "stopped" as const };
}

/** The stored conversation the LLM context is rebuilt from on a cache miss. */
export async function loadHistory(db: Db, sessionId: string): Promise<ChatMessage[]> {
  const rows = await db
    .select({ role: messages.role, content: messages.content })
    .from(messages)
    .where(and(eq(messages.sessionId, sessionId), inArray(messages.status, ["completed", "stopped"])))
    .orderBy(asc(messages.createdAt), asc(messages.id));
  return rows.filter((m) => m.content !== "");
}

function systemPromptFor(session: Session, references: Reference[]): string {
  const custom = session.summaryParameters.prompt.trim();
  const base = custom || "You are Parley's knowledge assistant. Answer the user's question clearly and concisely.";
  if (references.length === 0) {
    return `${base}\nNo source in the knowledge base matched this question: say so plainly, then answer as well as you can.`;
  }
  const sources = references.map((r, i) => `[${i + 1}] ${r.title}\n${r.content}`).join("\n\n");
  const template = session.summaryParameters.contextTemplate.trim();
  const context = template ? template.replaceAll("{{contexts}}", sources).replaceAll("{{query}}", "the user's question") : `Sources:\n${sources}`;
  return `${base}\nAnswer from the sources below and cite them inline as [1], [2].\n\n${context}`;
}

interface AnswerInput {
  session: Session;
  requestId: string;
  messageId: string;
  question: string;
  disableTitle?: boolean;
}

/** Writes the growing answer to its row at a bounded rate, one write in flight at a time. */
function createProgressWriter(db: Db, messageId: string) {
  let lastWrite = 0;
  let inFlight: Promise<unknown> | null = null;
  return (content: string) => {
    if (inFlight || Date.now() - lastWrite < PROGRESS_WRITE_MS) return;
    lastWrite = Date.now();
    inFlight = db
      .update(messages)
      .set({ content, updatedAt: new Date() })
      .where(and(eq(messages.id, messageId), eq(messages.status, "streaming")))
      .catch((error: Error) => console.error(`[parley] progress write failed for ${messageId}: ${error.message}`))
      .finally(() => (inFlight = null));
  };
}

/** The answer's life on its instance: start → references → answer deltas (→ title) → terminal. */
async function generateAnswer(app: App, input: AnswerInput, signal: AbortSignal, releaseLease: () => Promise<void>): Promise<void> {
  const { session, messageId, question } = input;
  const writer = createStreamWriter(app, session.id, messageId);
  const model = app.models.chat;
  const startedAt = Date.now();
  const writeProgress = createProgressWriter(app.db, messageId);
  let content = "";
  let references: Reference[] = [];
  let usage: Usage | undefined;
  let titleTask: Promise<void> | null = null;

  try {
    signal.throwIfAborted();
    writer.emit({ type: "start", requestId: input.requestId, sessionId: session.id, messageId, model: model.name });
    if (session.title === "" && !input.disableTitle) titleTask = titleFirstAnswer(app, session.id, question, writer);
    references = await app.retrieve(question, session, { requestId: input.requestId, signal });
    if (references.length > 0) writer.emit({ type: "references", references });

    const emitDelta = (text: string) => {
      content += text;
      writer.emit({ type: "answer", delta: text });
      writeProgress(content);
    };
    if (references.length === 0 && session.strategy.fallbackStrategy === "fixed") {
      emitDelta(session.strategy.fallbackResponse);
    } else {
      const context = await app.context.build(session.id, {
        systemPrompt: systemPromptFor(session, references),
        question,
        strategy: session.strategy,
        contextConfig: session.contextConfig,
      });
      const p = session.summaryParameters;
      for await (const chunk of model.stream({
        messages: context.messages,
        references,
        temperature: p.temperature,
        maxTokens: p.maxCompletionTokens,
        topP: p.topP,
        frequencyPenalty: p.frequencyPenalty,
        presencePenalty: p.presencePenalty,
        seed: p.seed,
        signal,
      })) {
        if (chunk.type === "delta") emitDelta(chunk.text);
        else usage = chunk.usage;
      }
    }
    signal.throwIfAborted();
    if (titleTask) await withTimeout(titleTask, TITLE_WAIT_MS);
    const durationMs = Date.now() - startedAt;
    if (await finish(app.db, messageId, { status: "completed", content, references, durationMs, usage: usage ?? null })) {
      await app.context.record(session.id, question, content).catch(() => undefined);
      await releaseLease();
      writer.emit({ type: "complete", content, durationMs, model: model.name, ...(usage && { usage }) });
    }
  } catch (error) {
    const durationMs = Date.now() - startedAt;
    if (signal.aborted && signal.reason !== "shutdown") {
      if (await finish(app.db, messageId, { status: "stopped", content, references, durationMs, usage: null })) {
        if (content) await app.context.record(session.id, question, content).catch(() => undefined);
        await releaseLease();
        writer.emit({ type: "stop", reason: String(signal.reason ?? "user"), content });
      }
    } else {
      const interrupted = signal.aborted;
      const message = interrupted ? "The server answering stopped before the answer was complete" : publicMessage(error);
      if (!interrupted) console.error(`[parley] answer ${messageId} failed:`, error);
      if (await finish(app.db, messageId, { status: interrupted ? "interrupted" : "failed", content, references, durationMs, usage: null, error: message })) {
        await releaseLease();
        writer.emit({ type: "error", stage: interrupted ? "instance" : "generation", message });
      }
    }
  } finally {
    await writer.drain();
  }
}

function publicMessage(error: unknown): string {
  if (isInfrastructureError(error)) return "A backing service became unavailable while answering";
  const status = (error as { status?: number }).status;
  if (status) return `The model server answered with HTTP ${status}`;
  return `The model failed: ${(error as Error).message ?? "unknown error"}`.slice(0, 500);
}

/** Finalises an answer's row unless something else (a sweeper, a delete) already did. */
async function finish(
  db: Db,
  messageId: string,
  values: { status: "completed" | "stopped" | "failed" | "interrupted"; content: string; references: Reference[]; durationMs: number; usage: Usage | null; error?: string },
): Promise<boolean> {
  for (let attempt = 0; ; attempt++) {
    try {
      const rows = await db
        .update(messages)
        .set({ ...values, updatedAt: new Date() })
        .where(and(eq(messages.id, messageId), eq(messages.status, "streaming")))
        .returning({ id: messages.id });
      return rows.length > 0;
    } catch (error) {
      // Postgres blipped: the answer is done, so keep trying to record it for a while.
      if (attempt >= 20) throw error;
      await new Promise((r) => setTimeout(r, 250 * (attempt + 1)));
    }
  }
}

async function titleFirstAnswer(app: App, sessionId: string, question: string, writer: StreamWriter) {
  try {
    const title = await app.titles(question);
    const [row] = await app.db
      .update(sessions)
      .set({ title })
      .where(and(eq(sessions.id, sessionId), eq(sessions.title, "")))
      .returning({ id: sessions.id });
    if (row) writer.emit({ type: "title", title });
  } catch (error) {
    console.error(`[parley] title for ${sessionId} failed: ${(error as Error).message}`);
  }
}

/**
 * `session.generateTitle`: from the session's first question (or from `question` when the caller
 * supplies the conversation, as WeKnora's generate_title does), stored and returned.
 */
export async function generateSessionTitle(app: App, caller: Caller, sessionId: string, question?: string): Promise<{ title: string }> {
  await getSession(app.db, caller, sessionId, "own");
  if (question !== undefined && question.trim() !== "") return storeTitle(app, sessionId, question);
  const [first] = await app.db
    .select({ content: messages.content })
    .from(messages)
    .where(and(eq(messages.sessionId, sessionId), eq(messages.role, "user")))
    .orderBy(asc(messages.createdAt))
    .limit(1);
  if (!first) throw new AppError("bad_input", "The session has no question to title yet", "id");
  return storeTitle(app, sessionId, first.content);
}

async function storeTitle(app: App, sessionId: string, question: string): Promise<{ title: string }> {
  const title = await app.titles(question);
  await setTitle(app.db, sessionId, title);
  return { title };
}

function withTimeout(task: Promise<unknown>, ms: number): Promise<unknown> {
  let timer: NodeJS.Timeout;
  return Promise.race([task, new Promise((r) => (timer = setTimeout(r, ms)))]).finally(() => clearTimeout(timer));
}

/** What a stream's events say the answer was, word for word: the text its subscribers saw. */
function contentFromEvents(events: StreamEvent[]): string | null {
  let content: string | null = null;
  for (const event of events) {
    if (event.type === "start") content = "";
    else if (event.type === "answer") content = (content ?? "") + event.delta;
    else if (event.type === "snapshot") content = event.content;
  }
  return content;
}

/**
 * Marks `streaming` answers whose lease is gone as `interrupted`, keeping every word their stream
 * carried, and ends their streams with an `error` event. `where` narrows the candidates; answers
 * this instance runs are never touched, nor rows written to within the lease (a live answer whose
 * lease blipped keeps writing).
 */
export async function interruptDeadAnswers(app: App, where?: ReturnType<typeof eq>, options: { ignoreRecency?: boolean } = {}): Promise<number> {
  const candidates = await app.db
    .select({ id: messages.id, sessionId: messages.sessionId, content: messages.content, updatedAt: messages.updatedAt })
    .from(messages)
    .where(where ? and(eq(messages.status, "streaming"), where) : eq(messages.status, "streaming"));
  let interrupted = 0;
  for (const c of candidates) {
    if (app.runner.has(c.id)) continue;
    if (!options.ignoreRecency && Date.now() - c.updatedAt.getTime() < LEASE_MS) continue;
    const holder = await app.store.get(app.keys.answerLock(c.sessionId));
    if (holder?.startsWith(`${c.id}:`)) continue;
    const streamKey = app.keys.stream(c.sessionId, c.id);
    const entries = await app.store.range(streamKey, null);
    const streamed = contentFromEvents(entries.map((e) => e.data as StreamEvent));
    const content = streamed !== null && streamed.length >= c.content.length ? streamed : c.content;
    const message = "The server answering this question stopped; the answer is incomplete";
    const [row] = await app.db
      .update(messages)
      .set({ status: "interrupted", content, error: message, updatedAt: new Date() })
      .where(and(eq(messages.id, c.id), eq(messages.status, "streaming")))
      .returning({ id: messages.id });
    if (!row) continue;
    interrupted++;
    await app.store.append(streamKey, [{ type: "error", stage: "instance", message } satisfies StreamEvent], app.env.STREAM_TTL_SECONDS).catch(() => undefined);
  }
  return interrupted;
}
