import { broadcast, type App } from "./app";
import type { Caller } from "./auth";
import { clearMessages, deleteSessions, getSession } from "./sessions";

/**
 * For sessions that were deleted or cleared: stops answers still running in them (one signal to
 * every instance), then removes what Redis (or the in-process store) holds for them, their LLM
 * context and answer streams. Postgres is the record; this is only cleanup, so a failure is
 * logged and left for the keys' TTLs.
 */
export async function forgetSessions(app: App, sessionIds: string[]): Promise<void> {
  if (sessionIds.length === 0) return;
  try {
    await broadcast(app, { sessionIds, reason: "deleted" });
    await Promise.all(
      sessionIds.flatMap((id) => [app.store.del(app.keys.context(id)), app.store.delPattern(app.keys.sessionStreams(id))]),
    );
  } catch (error) {
    console.error("[parley] could not remove stream/context keys, their TTL will:", (error as Error).message);
  }
}

// Deleting or clearing sessions: the rows go in Postgres, then what the store holds for them.

/** Deletes one session the caller may reach (NOT_FOUND otherwise) and forgets its keys. */
export async function removeSession(app: App, caller: Caller, id: string): Promise<string> {
  const [deleted] = await deleteSessions(app.db, caller, { ids: [id] }, "tenant");
  if (!deleted) await getSession(app.db, caller, id, "tenant"); // throws NOT_FOUND
  await forgetSessions(app, [deleted]);
  return deleted;
}

/** Deletes the listed sessions the caller may reach, or all of the caller's own; returns how many. */
export async function removeSessions(app: App, caller: Caller, target: { ids: string[] } | { all: true }): Promise<number> {
  const deleted = await deleteSessions(app.db, caller, "all" in target ? target : { ids: [...new Set(target.ids)] }, "tenant");
  await forgetSessions(app, deleted);
  return deleted.length;
}

/** Deletes every message of the caller's own session (CONFLICT while an answer streams). */
export async function clearSession(app: App, caller: Caller, id: string): Promise<number> {
  const deleted = await clearMessages(app.db, caller, id);
  await forgetSessions(app, [id]);
  return deleted;
}
