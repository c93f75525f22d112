import type { Keys } from "./store/keys";
import { broadcast, type SignalDeps } from "./signals";
import { rootLogger } from "./log";

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
