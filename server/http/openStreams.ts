import type { Caller } from "../auth/accounts";
import { rateLimited } from "../platform/errors";
import { limitSubject } from "../auth/rateLimits";
import { STOPPED } from "../platform/iterables";

/**
 * The answer streams this instance serves, by who opened them. One API key (or signed-in user)
 * holds at most PARLEY_STREAMS_PER_KEY of them at once, tRPC and REST together, so a single key
 * cannot take the instance's connections and memory; and the streams of a revoked key or of a
 * browser that signed out can be ended (signals.ts calls `endKey` / `endWebSession` on every
 * instance). Each face opens its streams here (trpc/subscriptions.ts, rest/routes/chat.ts); the
 * one SSE writer (http/sse.ts) gives them back when they end.
 */

/** Seconds a refused stream is asked to wait: places free up as answers end, at no set time. */
const RETRY_AFTER_SECONDS = 5;

export interface OpenStream {
  /** Aborted when the stream must end now, writing nothing more: its key was revoked, or its browser signed out. */
  readonly ended: AbortSignal;
  /** Gives its place back (safe to call twice). */
  close(): void;
}

interface Entry {
  apiKeyId: string;
  webSessionId?: string;
  controller: AbortController;
  close: () => void;
}

export function createOpenStreams(options: { perKey: number; onRefused?: () => void }) {
  /** Open streams by whom they count against (`limitSubject`: the key, or the signed-in user). */
  const bySubject = new Map<string, Set<Entry>>();

  const endWhere = (opened: (entry: Entry) => boolean) => {
    for (const entries of [...bySubject.values()]) {
      for (const entry of [...entries]) {
        if (!opened(entry)) continue;
        entry.close();
        entry.controller.abort(STOPPED);
      }
    }
  };

  return {
    /**
     * Counts a stream against its caller, before it writes anything; over the cap it is refused
     * as a rate limit (`rate_limited`, with a Retry-After).
     */
    open(caller: Caller): OpenStream {
      const subject = limitSubject(caller, caller.webSessionId ? "cookie" : "key");
      let entries = bySubject.get(subject);
      if (entries && entries.size >= options.perKey) {
        options.onRefused?.();
        throw rateLimited(`Too many open streams: at most ${options.perKey} per key on this server; close one or retry in ${RETRY_AFTER_SECONDS} s`, RETRY_AFTER_SECONDS);
      }
      if (!entries) bySubject.set(subject, (entries = new Set()));
      const held = entries;
      const entry: Entry = {
        apiKeyId: caller.apiKeyId,
        webSessionId: caller.webSessionId,
        controller: new AbortController(),
        close: () => {
          if (held.delete(entry) && held.size === 0 && bySubject.get(subject) === held) bySubject.delete(subject);
        },
      };
      held.add(entry);
      return { ended: entry.controller.signal, close: entry.close };
    },
    /** Ends every stream opened with this key, or with a browser sign-in made with it (revoked: both are dead). */
    endKey: (apiKeyId: string) => endWhere((entry) => entry.apiKeyId === apiKeyId),
    /** Ends every stream opened with this browser sign-in (signed out). */
    endWebSession: (webSessionId: string) => endWhere((entry) => entry.webSessionId === webSessionId),
  };
}
export type OpenStreams = ReturnType<typeof createOpenStreams>;
