import { setTimeout as sleep } from "node:timers/promises";
import type { Db } from "../../db";
import type { Caller } from "../auth/accounts";
import { answersOf, clearMessages, deleteMarked, getSession, markForDeletion, stopStreamingAnswers, type SessionAnswer } from "./sessions";
import type { Keys } from "../platform/store/keys";
import { broadcast, type SignalDeps } from "../platform/signals";
import type { Logger } from "../platform/log";
import { notFound } from "../platform/errors";
import { isHeldBy } from "../chat/lease";

/**
 * Deleting sessions, one path for every way a session goes: `session.delete`, `deleteMany`, a
 * temporary chat's expiry and retention (the last two through the sweep, retention.ts). Clearing a
 * session's messages shares its first two steps.
 *
 * A deletion starts by marking the sessions (sessions.ts `markForDeletion`, `markExpired`): from
 * then on nobody sees them, no message is added to them, and their share links read as unknown.
 * Then, per batch:
 *   1. running answers are stopped: their followers get `stop` (reason `deleted`), every instance
 *      aborts them, each producer lets go of its session, and their rows are final;
 *   2. the session's keys in the store go (LLM context, answer lock, each answer's stream and
 *      access key, named from Postgres, never found by scanning), done once a delete finds none
 *      of them left;
 *   3. the rows go, and by foreign key in the same statement everything they own in Postgres:
 *      messages with their feedback, shares. (Sessions own no knowledge of their own: knowledge
 *      bases belong to the tenant.)
 * Each step is retried until it is done; one that still fails leaves the sessions marked, and the
 * next sweep (or run) finishes them from step 1, every step being safe to repeat.
 */

export interface SessionStateDeps extends SignalDeps {
  db: Db;
  keys: Pick<Keys, "signalChannel" | "context" | "stream" | "answerAccess" | "answerLock">;
  log: Logger;
}

/** Sessions finished together: one statement per step for their rows. */
export const DELETE_BATCH = 200;
/** Sessions whose keys are deleted at once (each in its own slot-bound commands). */
const SESSIONS_AT_ONCE = 50;
/** How long a stopped answer's `stop` event is kept should the deletion stop before its keys go. */
const TOMBSTONE_SECONDS = 30;
/** How long a step waits for the producers of stopped answers to let go of their sessions. */
const PRODUCER_WAIT_MS = 5000;
/** How long live followers get to read a stopped answer's `stop` before its stream goes. */
const FOLLOWER_GRACE_MS = 1000;
const STEP_ATTEMPTS = 3;

/** A step that did not get done after its attempts; its sessions stay marked for the next run. */
export class DeletionStepFailed extends Error {
  constructor(step: string, cause: unknown) {
    super(`${step}: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    this.name = "DeletionStepFailed";
  }
}

/** Runs `step` until it reports done, a little later each time, STEP_ATTEMPTS times at most. */
async function retried(name: string, step: () => Promise<boolean>): Promise<void> {
  let failure: unknown = new Error("not done");
  for (let attempt = 1; attempt <= STEP_ATTEMPTS; attempt++) {
    try {
      if (await step()) return;
      failure = new Error("not done");
    } catch (error) {
      failure = error;
    }
    if (attempt < STEP_ATTEMPTS) await sleep(100 * 2 ** attempt);
  }
  throw new DeletionStepFailed(name, failure);
}

/**
 * Stops the answers of `running` (still streaming when the deletion or clear read them): their
 * access keys go at once, so a follower who comes now is checked in Postgres, which refuses him
 * (chat/answerAccess.ts); each stream gets its `stop` (reason `deleted`), so its followers end
 * whatever happens next, and every instance aborts them. Safe to repeat.
 */
async function stopAnswers(deps: SessionStateDeps, running: SessionAnswer[]): Promise<boolean> {
  await Promise.all(running.map((a) => deps.store.del(deps.keys.answerAccess(a.sessionId, a.id))));
  await Promise.all(running.map((a) => deps.store.append(deps.keys.stream(a.sessionId, a.id), [{ type: "stop", reason: "deleted", content: a.content }], TOMBSTONE_SECONDS)));
  await broadcast(deps, { sessionIds: [...new Set(running.map((a) => a.sessionId))], reason: "deleted" });
  return true;
}

/**
 * Waits (at most PRODUCER_WAIT_MS) for the producers of stopped answers to let go of their
 * sessions (their answer locks), then gives their last writes and live followers a moment, so
 * nothing a producer does lands after the keys are deleted. A producer that still holds on (its
 * instance died: its lease lapses within seconds) fails the step, and the next run takes it up.
 */
async function producersGone(deps: SessionStateDeps, running: SessionAnswer[]): Promise<void> {
  const deadline = Date.now() + PRODUCER_WAIT_MS;
  for (;;) {
    const held = await Promise.all(running.map((a) => isHeldBy(deps, a.sessionId, a.id)));
    if (!held.includes(true)) break;
    if (Date.now() > deadline) throw new DeletionStepFailed("stop answers", new Error("a stopped answer's producer still holds its session"));
    await sleep(50);
  }
  await sleep(FOLLOWER_GRACE_MS);
}

/**
 * Stops the running answers of a batch, when it has any: their streams end, their producers stop
 * and let go; then an answer whose producer was gone already (its instance died) is made final
 * here. Until that last write, a run cut short finds them streaming and starts over.
 */
async function stopRunning(deps: SessionStateDeps, answers: SessionAnswer[]): Promise<void> {
  const running = answers.filter((a) => a.streaming);
  if (running.length === 0) return;
  await retried("stop answers", () => stopAnswers(deps, running));
  await producersGone(deps, running);
  await retried("stop answers", async () => {
    await stopStreamingAnswers(
      deps.db,
      running.map((a) => a.id),
    );
    return true;
  });
}

/**
 * Deletes the keys the store holds for these sessions: the LLM context, each answer's stream and
 * access key and (for sessions that go) the answer lock. Done for a session once a delete finds
 * none of its keys.
 */
async function forgetKeys(deps: SessionStateDeps, sessionIds: string[], answers: SessionAnswer[], withLock: boolean): Promise<void> {
  const ofAnswers = new Map(sessionIds.map((id) => [id, [] as string[]]));
  for (const a of answers) ofAnswers.get(a.sessionId)?.push(deps.keys.stream(a.sessionId, a.id), deps.keys.answerAccess(a.sessionId, a.id));
  const keysOf = (id: string) => [deps.keys.context(id), ...(withLock ? [deps.keys.answerLock(id)] : []), ...ofAnswers.get(id)!];
  for (let i = 0; i < sessionIds.length; i += SESSIONS_AT_ONCE) {
    await Promise.all(
      sessionIds.slice(i, i + SESSIONS_AT_ONCE).map((id) =>
        retried("delete keys", async () => {
          // A second delete that finds nothing proves the first left none behind.
          for (let pass = 0; pass < 3; pass++) if ((await deps.store.delInSlot(keysOf(id))) === 0) return true;
          return false;
        }),
      ),
    );
  }
}

/**
 * Finishes deleting sessions that are marked for deletion, in batches, each step retried until
 * done (see above). Throws DeletionStepFailed when a step still fails: what is left stays marked.
 */
export async function finishDeletions(deps: SessionStateDeps, sessionIds: string[]): Promise<void> {
  for (let i = 0; i < sessionIds.length; i += DELETE_BATCH) {
    const batch = sessionIds.slice(i, i + DELETE_BATCH);
    const answers = await answersOf(deps.db, batch);
    await stopRunning(deps, answers);
    await forgetKeys(deps, batch, answers, true);
    await retried("delete rows", async () => {
      await deleteMarked(deps.db, batch);
      return true;
    });
  }
}

/** The caller's deletion is done for them once the sessions are marked: a step that fails now is left to the sweep. */
async function finishOrLeave(deps: SessionStateDeps, sessionIds: string[]): Promise<void> {
  try {
    await finishDeletions(deps, sessionIds);
  } catch (error) {
    deps.log.warn({ err: error, sessions: sessionIds.length }, "deleting sessions stopped short; the retention sweep finishes it");
  }
}

/** Deletes one session the caller may reach (NOT_FOUND otherwise). */
export async function removeSession(deps: SessionStateDeps, caller: Caller, id: string): Promise<string> {
  const [marked] = await markForDeletion(deps.db, caller, { ids: [id] }, "tenant");
  if (!marked) {
    await getSession(deps.db, caller, id, "tenant"); // throws NOT_FOUND
    throw notFound("Session"); // it was there but went before it was marked here
  }
  await finishOrLeave(deps, [marked]);
  return marked;
}

/** Deletes the listed sessions the caller may reach, or all of the caller's own; returns how many. */
export async function removeSessions(deps: SessionStateDeps, caller: Caller, target: { ids: string[] } | { all: true }): Promise<number> {
  const marked = await markForDeletion(deps.db, caller, "all" in target ? target : { ids: [...new Set(target.ids)] }, "tenant");
  await finishOrLeave(deps, marked);
  return marked.length;
}

/**
 * Deletes every message of the caller's own session, stopping an answer still streaming in it,
 * and the keys of its context and answers (the session, and its answer lock, stay). If the store
 * misses this, the stale context is never used (the clear moved its version) and the streams expire.
 */
export async function clearSession(deps: SessionStateDeps, caller: Caller, id: string): Promise<number> {
  const { deleted, answers } = await clearMessages(deps.db, caller, id);
  try {
    await stopRunning(deps, answers);
    await forgetKeys(deps, [id], answers, false);
  } catch (error) {
    deps.log.warn({ err: error, sessionId: id }, "could not remove a cleared session's stream/context keys, their TTLs will");
  }
  return deleted;
}
