import { broadcast, type App } from "./app";

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
