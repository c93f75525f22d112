import type { Db } from "../../db";
import type { Caller } from "../auth/accounts";
import { clearMessages, deleteSessions, getSession, type DeletedSession } from "./sessions";
import type { Keys } from "../platform/store/keys";
import { broadcast, type SignalDeps } from "../platform/signals";
import { rootLogger } from "../platform/log";
import { notFound } from "../platform/errors";

export interface SessionStateDeps extends SignalDeps {
  keys: Pick<Keys, "signalChannel" | "context" | "stream">;
}

/**
 * How long the stream of an answer that was running when its session went keeps its `stop` event:
 * long enough for every live follower to read it; a new subscriber gets NOT_FOUND anyway.
 */
const TOMBSTONE_SECONDS = 30;
/** Sessions whose keys are deleted at once (each in its own slot-bound commands). */
const SESSIONS_AT_ONCE = 50;

/**
 * For sessions that were deleted or cleared: stops answers still running in them (one signal to
 * every instance), ends their followers with `stop` (reason `deleted`) written to their streams,
 * and removes what Redis (or the in-process store) holds for them: their LLM context and the
 * streams of their answers, named from Postgres (no keyspace scan), each session's keys in its own
 * bounded multi-key deletes (they share one Cluster slot). Postgres is the record; this is only
 * cleanup, so a failure is logged and left for the keys' TTLs.
 */
export async function forgetSessions(deps: SessionStateDeps, deletedSessions: DeletedSession[]): Promise<void> {
  if (deletedSessions.length === 0) return;
  try {
    await broadcast(deps, { sessionIds: deletedSessions.map((s) => s.id), reason: "deleted" });
    for (let i = 0; i < deletedSessions.length; i += SESSIONS_AT_ONCE) {
      await Promise.all(deletedSessions.slice(i, i + SESSIONS_AT_ONCE).map((session) => forgetSession(deps, session)));
    }
  } catch (error) {
    rootLogger().warn({ err: error }, "could not remove stream/context keys, their TTL will");
  }
}

async function forgetSession(deps: SessionStateDeps, { id, answers }: DeletedSession): Promise<void> {
  const running = answers.filter((a) => a.streaming);
  const finished = answers.filter((a) => !a.streaming);
  await Promise.all([
    deps.store.delInSlot([deps.keys.context(id), ...finished.map((a) => deps.keys.stream(id, a.id))]),
    // Its producer stops without a terminal event (its row is gone): this one ends its followers.
    ...running.map((a) => deps.store.append(deps.keys.stream(id, a.id), [{ type: "stop", reason: "deleted", content: a.content }], TOMBSTONE_SECONDS)),
  ]);
}

// Deleting or clearing sessions: the rows go in Postgres, then what the store holds for them.

type RemovalDeps = SessionStateDeps & { db: Db };

/** Deletes one session the caller may reach (NOT_FOUND otherwise) and forgets its keys. */
export async function removeSession(deps: RemovalDeps, caller: Caller, id: string): Promise<string> {
  const [deleted] = await deleteSessions(deps.db, caller, { ids: [id] }, "tenant");
  if (!deleted) {
    await getSession(deps.db, caller, id, "tenant"); // throws NOT_FOUND
    throw notFound("Session"); // it was there but went before it was deleted here
  }
  await forgetSessions(deps, [deleted]);
  return deleted.id;
}

/** Deletes the listed sessions the caller may reach, or all of the caller's own; returns how many. */
export async function removeSessions(deps: RemovalDeps, caller: Caller, target: { ids: string[] } | { all: true }): Promise<number> {
  const deleted = await deleteSessions(deps.db, caller, "all" in target ? target : { ids: [...new Set(target.ids)] }, "tenant");
  await forgetSessions(deps, deleted);
  return deleted.length;
}

/** Deletes every message of the caller's own session, stopping an answer still streaming in it. */
export async function clearSession(deps: RemovalDeps, caller: Caller, id: string): Promise<number> {
  const { deleted, session } = await clearMessages(deps.db, caller, id);
  await forgetSessions(deps, [session]);
  return deleted;
}
