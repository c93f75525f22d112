import type { App } from "../boot/app";

/**
 * Test support for deletion suites: a session's keys in the store named one by one (never found by
 * scanning): its LLM context, its answer lock and each answer's stream and access key.
 */
export function keysOf(app: App, sessionId: string, answerIds: string[]): string[] {
  return [app.keys.context(sessionId), app.keys.answerLock(sessionId), ...answerIds.flatMap((id) => [app.keys.stream(sessionId, id), app.keys.answerAccess(sessionId, id)])];
}

/** Those of `keys` that exist. */
export async function existingKeys(app: App, keys: string[]): Promise<string[]> {
  const ttls = await Promise.all(keys.map((key) => app.store.pttl(key)));
  return keys.filter((_, i) => ttls[i] !== -2);
}
