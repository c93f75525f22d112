import { and, eq } from "drizzle-orm";
import type { Db } from "../../db";
import { messages } from "../../db/schema";
import type { AnswerRunner } from "./runner";
import { isHeldBy, LEASE_MS } from "./lease";
import type { Env } from "../platform/env";
import { streamedText, type StreamEvent } from "./events";
import type { Logger } from "../platform/log";
import type { Metrics } from "../platform/metrics";
import type { Keys } from "../platform/store/keys";
import type { Store } from "../platform/store/types";

/**
 * Crash recovery: answers left `streaming` by an instance that died are marked `interrupted`,
 * keeping every word their stream carried, and their streams end with an `error` event.
 */

/** How often every instance looks for answers of dead instances. */
export const SWEEP_INTERVAL_MS = 10_000;

export interface RecoveryDeps {
  db: Db;
  store: Store;
  keys: Pick<Keys, "answerLock" | "stream">;
  env: Pick<Env, "STREAM_TTL_SECONDS">;
  /** Answers this instance runs are alive, whatever their lease says. */
  runner: Pick<AnswerRunner, "has">;
  metrics: Pick<Metrics, "answersTotal">;
  log: Logger;
}

/**
 * Marks `streaming` answers whose lease is gone as `interrupted`, keeping every word their stream
 * carried, and ends their streams with an `error` event. `where` narrows the candidates; answers
 * this instance runs are never touched, nor rows written to within the lease (a live answer whose
 * lease blipped keeps writing).
 */
export async function interruptDeadAnswers(deps: RecoveryDeps, where?: ReturnType<typeof eq>, options: { ignoreRecency?: boolean } = {}): Promise<number> {
  const candidates = await deps.db
    .select({ id: messages.id, sessionId: messages.sessionId, content: messages.content, updatedAt: messages.updatedAt })
    .from(messages)
    .where(where ? and(eq(messages.status, "streaming"), where) : eq(messages.status, "streaming"));
  let interrupted = 0;
  for (const c of candidates) {
    if (deps.runner.has(c.id)) continue;
    if (!options.ignoreRecency && Date.now() - c.updatedAt.getTime() < LEASE_MS) continue;
    if (await isHeldBy(deps, c.sessionId, c.id)) continue;
    const streamKey = deps.keys.stream(c.sessionId, c.id);
    const entries = await deps.store.range(streamKey, null);
    const streamed = streamedText(entries.map((e) => e.data as StreamEvent));
    const content = streamed !== null && streamed.length >= c.content.length ? streamed : c.content;
    const message = "The server answering this question stopped; the answer is incomplete";
    const [row] = await deps.db
      .update(messages)
      .set({ status: "interrupted", content, error: message, updatedAt: new Date() })
      .where(and(eq(messages.id, c.id), eq(messages.status, "streaming")))
      .returning({ id: messages.id });
    if (!row) continue;
    interrupted++;
    deps.metrics.answersTotal.inc({ status: "interrupted" });
    deps.log.warn({ sessionId: c.sessionId, messageId: c.id }, "marked an answer of a stopped instance interrupted");
    await deps.store.append(streamKey, [{ type: "error", stage: "instance", message } satisfies StreamEvent], deps.env.STREAM_TTL_SECONDS).catch(() => undefined);
  }
  return interrupted;
}

/**
 * Sweeps for answers of dead instances at start (without Redis nothing else can be running them,
 * so recency is ignored), then every SWEEP_INTERVAL_MS. Returns the function that stops it.
 */
export async function startSweeper(deps: RecoveryDeps): Promise<() => void> {
  const logError = (error: Error) => logSweepError(deps.log, error);
  await interruptDeadAnswers(deps, undefined, { ignoreRecency: deps.store.kind === "memory" }).catch(logError);
  const timer = setInterval(() => void interruptDeadAnswers(deps).catch(logError), SWEEP_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}

function logSweepError(log: Logger, error: Error) {
  log.error({ err: error }, "could not check for interrupted answers");
}
