import { and, eq } from "drizzle-orm";
import type { Db } from "../../db";
import { messages } from "../../db/schema";
import type { ContextManager } from "./llmContext";
import type { Reference, Usage } from "../../common/settings";
import type { Env } from "../platform/env";
import { isInfrastructureError } from "../platform/errors";
import { retrieveForSession, type RetrievalDeps } from "../knowledge/sessionKnowledge";
import type { Logger } from "../platform/log";
import type { Metrics } from "../platform/metrics";
import { countTokens } from "../platform/models/text";
import type { ChatModel } from "../platform/models/types";
import { setTitleIfUntitled, type Session } from "../sessions/sessions";
import type { AnswerProgress } from "./progress";
import { createStreamWriter, type StreamDeps } from "./streams";
import { generateTitle } from "./titles";
import { fallbackResponseFor } from "../platform/text/language";
import type { AttachmentSource } from "../sessions/attachments";

/**
 * The generation pipeline: one answer's life on the instance that runs it, from retrieval to its
 * final row and terminal event.
 */

const TITLE_WAIT_MS = 10_000;
/** Deltas between flattenings of an answer's growing text (see emitDelta). */
const FLATTEN_EVERY = 64;

export type GenerateDeps = StreamDeps &
  RetrievalDeps & {
    db: Db;
    models: { chat: ChatModel; summary: ChatModel };
    llmContext: Pick<ContextManager, "build" | "record">;
    log: Logger;
    metrics: Pick<Metrics, "answersTotal" | "firstToken">;
    /** Where the growing text goes to the answer's row (progress.ts). */
    answerProgress: Pick<AnswerProgress, "grow" | "forget">;
    /** How long a model stream may stay silent, and an answer may take at most. */
    env: Pick<Env, "PARLEY_MODEL_IDLE_SECONDS" | "PARLEY_ANSWER_MAX_SECONDS">;
  };

/**
 * Per-answer options (WeKnora's knowledge-chat): `knowledgeBaseIds` (bases of the session's
 * tenant) replace the session's bases for this answer only; `disableTitle` makes no title;
 * `attachmentIds` (files attached to the session: sessions/attachments.ts) are read as sources.
 */
export interface AnswerOptions {
  knowledgeBaseIds?: string[];
  disableTitle?: boolean;
  attachmentIds?: string[];
}

export interface AnswerInput extends Omit<AnswerOptions, "attachmentIds"> {
  session: Session;
  /** The named attachments' text, checked and cut to its budget when the answer was started. */
  attachments?: AttachmentSource[];
  requestId: string;
  messageId: string;
  question: string;
  /** Tokens of `question`, as stored with it. */
  questionTokens: number;
}

/**
 * The attachments an answer reads, as sources numbered after the knowledge base's (the model cites
 * them alike); they are not the answer's references, which stay the knowledge it retrieved.
 */
const attachmentReferences = (attachments: AttachmentSource[]): Reference[] =>
  attachments.map((a) => ({ id: a.id, title: `Attached file: ${a.fileName}`, source: a.fileName, content: a.content, score: 1, fileName: a.fileName }));

function systemPromptFor(session: Session, sourcesRead: Reference[]): string {
  const custom = session.summaryParameters.prompt.trim();
  const base = custom || "You are Parley's knowledge assistant. Answer the user's question clearly and concisely.";
  if (sourcesRead.length === 0) {
    return `${base}\nNo source in the knowledge base matched this question: say so plainly, then answer as well as you can.`;
  }
  const sources = sourcesRead.map((r, i) => `[${i + 1}] ${r.title}\n${r.content}`).join("\n\n");
  const template = session.summaryParameters.contextTemplate.trim();
  const context = template ? template.replaceAll("{{contexts}}", sources).replaceAll("{{query}}", "the user's question") : `Sources:\n${sources}`;
  return `${base}\nAnswer from the sources below and cite them inline as [1], [2].\n\n${context}`;
}

/**
 * The limits of one answer: an overall deadline from its start, and an idle timeout while its model
 * streams (`touch` on every chunk). Either aborts `signal` with the reason the answer fails with.
 */
function answerBounds(env: GenerateDeps["env"]) {
  const controller = new AbortController();
  const fail = (message: string) => controller.abort(new Error(message));
  const deadline = setTimeout(() => fail(`The answer took longer than ${env.PARLEY_ANSWER_MAX_SECONDS} s`), env.PARLEY_ANSWER_MAX_SECONDS * 1000);
  const idleMs = env.PARLEY_MODEL_IDLE_SECONDS * 1000;
  let idle: NodeJS.Timeout | undefined;
  let touchedAt = 0;
  // One timer, re-armed from its own callback for what is left: a chunk only notes the time
  // (re-arming the timer on every chunk cost more than the chunk's own handling).
  const expire = () => {
    const left = touchedAt + idleMs - Date.now();
    if (left > 0) idle = setTimeout(expire, left);
    else fail(`The model sent nothing for ${env.PARLEY_MODEL_IDLE_SECONDS} s`);
  };
  return {
    signal: controller.signal,
    /** Restarts the idle timeout (on every chunk). */
    touch() {
      touchedAt = Date.now();
      idle ??= setTimeout(expire, idleMs);
    },
    idleOff() {
      clearTimeout(idle);
      idle = undefined;
    },
    clear() {
      clearTimeout(deadline);
      clearTimeout(idle);
    },
  };
}

/** The answer's life on its instance: start → references → answer deltas → (title) → terminal. */
export async function generateAnswer(deps: GenerateDeps, input: AnswerInput, signal: AbortSignal, releaseLease: () => Promise<void>): Promise<void> {
  const { session, messageId, question } = input;
  const log = deps.log.child({ tenantId: session.tenantId, userId: session.userId, sessionId: session.id, messageId });
  const writer = createStreamWriter({ ...deps, log }, session.id, messageId);
  const model = deps.models.chat;
  const startedAt = Date.now();
  /** Counts and logs the answer's end, once its row says so (never its text). */
  const ended = (status: "completed" | "stopped" | "failed" | "interrupted", durationMs: number) => {
    deps.metrics.answersTotal.inc({ status });
    log.info({ status, ms: durationMs, chars: content.length, references: references.length }, "answer ended");
  };
  let content = "";
  let references: Reference[] = [];
  let usage: Usage | undefined;
  let titleTask: Promise<void> | null = null;
  let title: string | null = null;
  /**
   * The session's new title goes on the stream just before the terminal event, after every delta,
   * as an event of its own (WeKnora's clients expect it there, each frame under its own id).
   */
  const emitTitle = () => {
    if (title !== null) writer.emit({ type: "title", title });
    title = null;
  };
  const bounds = answerBounds(deps.env);
  /** Stopped (the job's signal) or over a bound: what every step of the answer listens to. */
  const answerSignal = AbortSignal.any([signal, bounds.signal]);

  try {
    signal.throwIfAborted();
    writer.emit({ type: "start", requestId: input.requestId, sessionId: session.id, messageId, model: model.name });
    if (session.title === "" && !input.disableTitle) titleTask = titleFirstAnswer(deps, session.id, question, log).then((made) => void (title = made));
    references = await retrieveForSession(deps, session, question, { requestId: input.requestId, signal: answerSignal, knowledgeBaseIds: input.knowledgeBaseIds });
    if (references.length > 0) writer.emit({ type: "references", references });

    let deltas = 0;
    const emitDelta = (text: string) => {
      if (content === "") deps.metrics.firstToken.observe((Date.now() - startedAt) / 1000);
      content += text;
      // Each `+=` leaves a rope node that lives as long as the answer: at hundreds of live answers
      // those nodes were most of what the collector marked. Reading a character of a rope makes
      // V8 flatten it in place, so every FLATTEN_EVERY deltas the text becomes one piece again.
      if (++deltas % FLATTEN_EVERY === 0) content.charCodeAt(0);
      writer.emit({ type: "answer", delta: text });
      deps.answerProgress.grow(messageId, text, content);
    };
    const sourcesRead = [...references, ...attachmentReferences(input.attachments ?? [])];
    if (sourcesRead.length === 0 && session.strategy.fallbackStrategy === "fixed") {
      emitDelta(fallbackResponseFor(session.strategy.fallbackResponse, question));
    } else {
      const context = await deps.llmContext.build(session.id, {
        systemPrompt: systemPromptFor(session, sourcesRead),
        question,
        strategy: session.strategy,
        contextConfig: session.contextConfig,
      });
      const p = session.summaryParameters;
      bounds.touch();
      const chunks = model.stream({
        messages: context.messages,
        references: sourcesRead,
        temperature: p.temperature,
        maxTokens: p.maxCompletionTokens,
        topP: p.topP,
        frequencyPenalty: p.frequencyPenalty,
        presencePenalty: p.presencePenalty,
        seed: p.seed,
        signal: answerSignal,
      });
      for await (const chunk of chunks) {
        bounds.touch();
        if (chunk.type === "delta") emitDelta(chunk.text);
        else usage = chunk.usage;
      }
      bounds.idleOff();
    }
    signal.throwIfAborted();
    if (titleTask) await withTimeout(titleTask, TITLE_WAIT_MS);
    const durationMs = Date.now() - startedAt;
    const tokenCount = countTokens(content);
    if (await finish(deps.db, messageId, { status: "completed", content, tokenCount, references, durationMs, usage: usage ?? null })) {
      ended("completed", durationMs);
      await deps.llmContext.record(session.id, question, content, { user: input.questionTokens, assistant: tokenCount }).catch(() => undefined);
      await releaseLease();
      emitTitle();
      writer.emit({ type: "complete", content, durationMs, model: model.name, ...(usage && { usage }) });
    }
  } catch (error) {
    const durationMs = Date.now() - startedAt;
    if (signal.aborted && signal.reason !== "shutdown") {
      const tokenCount = countTokens(content);
      if (await finish(deps.db, messageId, { status: "stopped", content, tokenCount, references, durationMs, usage: null })) {
        ended("stopped", durationMs);
        if (content) await deps.llmContext.record(session.id, question, content, { user: input.questionTokens, assistant: tokenCount }).catch(() => undefined);
        await releaseLease();
        emitTitle();
        writer.emit({ type: "stop", reason: String(signal.reason ?? "user"), content });
      } else {
        // Its row is gone or final: whoever did that wrote the stream's end (sessionState.ts).
        writer.discard();
      }
    } else {
      const interrupted = signal.aborted;
      const overBound = !interrupted && bounds.signal.aborted;
      const message = interrupted
        ? "The server answering stopped before the answer was complete"
        : overBound
          ? (bounds.signal.reason as Error).message
          : publicMessage(error);
      if (overBound) log.warn({ reason: message }, "answer over its time bound");
      else if (!interrupted) log.error({ err: error }, "answer failed");
      const status = interrupted ? "interrupted" : "failed";
      if (await finish(deps.db, messageId, { status, content, tokenCount: countTokens(content), references, durationMs, usage: null, error: message })) {
        ended(status, durationMs);
        await releaseLease();
        emitTitle();
        writer.emit({ type: "error", stage: interrupted ? "instance" : "generation", message });
      }
    }
  } finally {
    deps.answerProgress.forget(messageId);
    bounds.clear();
    await writer.drain();
  }
}


function publicMessage(error: unknown): string {
  if (isInfrastructureError(error)) return "A backing service became unavailable while answering";
  const status = (error as { status?: number }).status;
  if (status) return `The model server answered with HTTP ${status}`;
  return `The model failed: ${(error as Error).message ?? "unknown error"}`.slice(0, 500);
}

/**
 * Finalises an answer's row unless something else (a sweeper, a delete) already did. `tokenCount` is
 * counted once by the caller, which records the same count with the session's context.
 */
async function finish(
  db: Db,
  messageId: string,
  values: { status: "completed" | "stopped" | "failed" | "interrupted"; content: string; tokenCount: number; references: Reference[]; durationMs: number; usage: Usage | null; error?: string },
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

/** Titles an untitled session from its first question; the title it stored, or null. */
async function titleFirstAnswer(deps: GenerateDeps, sessionId: string, question: string, log: Logger): Promise<string | null> {
  try {
    const title = await generateTitle(deps.models.summary, question);
    return (await setTitleIfUntitled(deps.db, sessionId, title)) ? title : null;
  } catch (error) {
    log.warn({ err: error }, "titling the session failed");
    return null;
  }
}

function withTimeout(task: Promise<unknown>, ms: number): Promise<unknown> {
  let timer: NodeJS.Timeout;
  return Promise.race([task, new Promise((r) => (timer = setTimeout(r, ms)))]).finally(() => clearTimeout(timer));
}
