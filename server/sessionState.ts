import type { Db } from "../db";
import type { Caller } from "./auth";
import { clearMessages, deleteSessions, getSession } from "./sessions";
import type { Keys } from "./store/keys";
import { broadcast, type SignalDeps } from "./signals";
import { rootLogger } from "./log";
import { notFound } from "./errors";

export interface SessionStateDeps extends SignalDeps {
  keys: Pick<Keys, "signalChannel" | "context" | "sessionStreams">;
}

/**
 * For sessions that were deleted or cleared: stops answers still running in them (one signal to
 * every instance), then removes what Redis (or the in-process store) holds for them, their LLM
 * context and answer streams. Postgres is the record; this is only cleanup, so a failure is
 * logged and left for the keys' TTLs.
 */
export async function forgetSessions(deps: SessionStateDeps, sessionIds: string[]): Promise<void> {
  if (sessionIds.length === 0) return;
  try {
    await broadcast(deps, { sessionIds, reason: "deleted" });
    await Promise.all(
      sessionIds.flatMap((id) => [deps.store.del(deps.keys.context(id)), deps.store.delPattern(deps.keys.sessionStreams(id))]),
    );
  } catch (error) {
    rootLogger().warn({ err: error }, "could not remove stream/context keys, their TTL will");
  }
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
  return deleted;
}

/** Deletes the listed sessions the caller may reach, or all of the caller's own; returns how many. */
export async function removeSessions(deps: RemovalDeps, caller: Caller, target: { ids: string[] } | { all: true }): Promise<number> {
  const deleted = await deleteSessions(deps.db, caller, "all" in target ? target : { ids: [...new Set(target.ids)] }, "tenant");
  await forgetSessions(deps, deleted);
  return deleted.length;
}

/** Deletes every message of the caller's own session (CONFLICT while an answer streams). */
export async function clearSession(deps: RemovalDeps, caller: Caller, id: string): Promise<number> {
  const deleted = await clearMessages(deps.db, caller, id);
  await forgetSessions(deps, [id]);
  return deleted;
}
