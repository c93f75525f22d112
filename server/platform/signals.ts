import type { Keys } from "./store/keys";
import type { Store } from "./store/types";
import { rootLogger } from "./log";

/**
 * What one instance tells all: stop one answer (chat.stop), stop a session's answers (deleted),
 * forget a revoked API key and end its streams, or end the streams of a browser that signed out.
 * Every instance listens on one channel and acts on what it holds.
 */
export type InstanceSignal =
  | { messageId: string }
  | { sessionIds: string[]; reason: string }
  | { revokedApiKeyId: string }
  | { signedOutWebSessionId: string };

/** Where signals travel. */
export interface SignalChannelDeps {
  store: Store;
  keys: Pick<Keys, "signalChannel">;
}

/**
 * Where signals travel, and what on this instance acts on them: the answer runner, the cache of
 * resolved API keys and the open answer streams (written out here so the platform layer names no feature).
 */
export interface SignalDeps extends SignalChannelDeps {
  runner: { abort(messageId: string, reason: string): unknown; abortSessions(sessionIds: string[], reason: string): unknown };
  callers: { forgetKey(apiKeyId: string): unknown };
  openStreams: { endKey(apiKeyId: string): unknown; endWebSession(webSessionId: string): unknown };
}

function applySignal(deps: SignalDeps, raw: string) {
  try {
    const signal = JSON.parse(raw) as InstanceSignal;
    if ("messageId" in signal) deps.runner.abort(signal.messageId, "user");
    else if ("sessionIds" in signal) deps.runner.abortSessions(signal.sessionIds, signal.reason);
    else if ("revokedApiKeyId" in signal) {
      deps.callers.forgetKey(signal.revokedApiKeyId);
      deps.openStreams.endKey(signal.revokedApiKeyId);
    } else deps.openStreams.endWebSession(signal.signedOutWebSessionId);
  } catch {
    rootLogger().warn({ signal: raw.slice(0, 100) }, "ignored a malformed signal");
  }
}

/** Acts on every signal any instance sends, until the returned function is called. */
export function listenForSignals(deps: SignalDeps): Promise<() => Promise<void>> {
  return deps.store.subscribe(deps.keys.signalChannel(), (raw) => applySignal(deps, raw));
}

/** Tells every instance listening (this one too, if it listens). */
export async function publishSignal(deps: SignalChannelDeps, signal: InstanceSignal): Promise<void> {
  await deps.store.publish(deps.keys.signalChannel(), JSON.stringify(signal));
}

/** Acts on a signal here at once, and tells every other instance. */
export async function broadcast(deps: SignalDeps, signal: InstanceSignal): Promise<void> {
  applySignal(deps, JSON.stringify(signal));
  await publishSignal(deps, signal);
}
