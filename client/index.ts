import { createTRPCClient, httpBatchLink, httpSubscriptionLink, splitLink } from "@trpc/client";
import { MAX_BATCH_CALLS } from "../common/limits";
import { EventSource } from "eventsource";
import superjson from "superjson";
// Types only: the package's bundled declarations inline them, and its JavaScript holds no server code.
import type { StreamEvent as ServerStreamEvent } from "../server/chat/events";
import type { Message as ServerMessage } from "../server/sessions/messages";
import type { AppRouter as ServerAppRouter } from "../server/http/trpc/routers/_app";
import type { Session as ServerSession } from "../server/sessions/sessions";

// Aliases rather than re-exports, so the declaration emitter keeps naming the server's modules (which
// the bundle inlines) instead of routing the router's types through this entry.
export type AppRouter = ServerAppRouter;
export type Session = ServerSession;
export type Message = ServerMessage;
export type StreamEvent = ServerStreamEvent;

export interface ParleyClientOptions {
  /** Where Parley runs, e.g. "http://localhost:3000". */
  url: string;
  apiKey: string;
}

/** The typed tRPC client for Parley: batching on, subscriptions over SSE (Node included). */
export function createParleyClient({ url, apiKey }: ParleyClientOptions) {
  const endpoint = new URL("/api/trpc", url).toString();
  const auth = { authorization: `Bearer ${apiKey}` };
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === "subscription",
        true: httpSubscriptionLink({
          url: endpoint,
          transformer: superjson,
          // Node has no global EventSource; this one lets us send the key as a header.
          EventSource,
          eventSourceOptions: () => ({
            fetch: (input: string | URL | Request, init?: RequestInit) =>
              fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), ...auth } }),
          }),
        }),
        false: httpBatchLink({ url: endpoint, transformer: superjson, headers: auth, maxItems: MAX_BATCH_CALLS }),
      }),
    ],
  });
}
export type ParleyClient = ReturnType<typeof createParleyClient>;

type SessionListInput = { limit?: number; search?: string };

/** Codes after which retrying cannot help. */
const FINAL_CODES = new Set(["BAD_REQUEST", "UNAUTHORIZED", "FORBIDDEN", "NOT_FOUND"]);
/**
 * How long `ask` keeps sending its question while the service is unavailable: longer than a load
 * balancer's pause on instances it saw fail (nginx: 10 s) and than an answer lease (15 s), which a
 * send that died half-way may have left holding the session.
 */
const SEND_RETRY_MS = 30_000;

/**
 * Whether a call failed on its way rather than being answered by Parley: the instance it reached
 * was draining or lost its stores (SERVICE_UNAVAILABLE), or it died and a proxy answered for it (a
 * 502 page) or the connection was reset (no tRPC error at all). Such a call may be sent again.
 */
function failedInTransit(error: unknown): boolean {
  const code = (error as { data?: { code?: string } }).data?.code;
  return code === undefined || code === "SERVICE_UNAVAILABLE";
}

/**
 * Follows one answer's events until its terminal event. A dropped connection is resumed from the
 * last event received, so nothing is lost or repeated.
 */
export async function* followAnswer(
  client: ParleyClient,
  input: { sessionId: string; messageId: string; lastEventId?: string },
  signal?: AbortSignal,
): AsyncGenerator<StreamEvent & { eventId: string }> {
  let lastEventId = input.lastEventId;
  let failures = 0;
  while (!signal?.aborted) {
    const queue: Array<{ id: string; data: StreamEvent } | { error: unknown } | { done: true }> = [];
    let wake: (() => void) | null = null;
    const push = (item: (typeof queue)[number]) => {
      queue.push(item);
      wake?.();
    };
    const sub = client.chat.stream.subscribe(
      { sessionId: input.sessionId, messageId: input.messageId, lastEventId },
      { onData: (d) => push(d), onError: (error) => push({ error }), onComplete: () => push({ done: true }) },
    );
    const onAbort = () => push({ done: true });
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      for (;;) {
        if (queue.length === 0) await new Promise<void>((r) => (wake = r));
        wake = null;
        const item = queue.shift()!;
        if ("done" in item && signal?.aborted) return;
        // An error, or the stream closed before the answer's end (its instance shut down): resume.
        if ("done" in item || "error" in item) {
          const error = "error" in item ? item.error : new Error("The answer's stream kept closing before its end");
          const code = (error as { data?: { code?: string } }).data?.code;
          if ((code && FINAL_CODES.has(code)) || ++failures > 10) throw error;
          await new Promise((r) => setTimeout(r, Math.min(200 * failures, 2000)));
          break;
        }
        failures = 0;
        lastEventId = item.id;
        yield { ...item.data, eventId: item.id };
        if (item.data.type === "complete" || item.data.type === "stop" || item.data.type === "error") return;
      }
    } finally {
      sub.unsubscribe();
      signal?.removeEventListener("abort", onAbort);
    }
  }
}

interface AnswerOptions {
  signal?: AbortSignal;
  requestId?: string;
  onRetry?: (error: unknown) => void;
}

/** Parley's SDK for other apps: the typed client plus `ask`, `regenerate`, `edit` and `sessions` helpers. */
export function createParley(options: ParleyClientOptions) {
  const client = createParleyClient(options);

  /**
   * Starts an answer and yields its events as they stream; resumes by itself. A start that fails on
   * its way (see failedInTransit) is sent again with the same requestId, so that however often it
   * is sent, it is one answer. `onRetry` hears of each such failure.
   */
  async function* answer(sessionId: string, start: (requestId: string, signal?: AbortSignal) => Promise<{ assistantMessage: { id: string } }>, opts: AnswerOptions) {
    const requestId = opts.requestId ?? crypto.randomUUID();
    const deadline = Date.now() + SEND_RETRY_MS;
    let started;
    for (let attempt = 1; ; attempt++) {
      try {
        started = await start(requestId, opts.signal);
        break;
      } catch (error) {
        // After a failed attempt, CONFLICT may be that attempt's own hold on the session.
        const retry = failedInTransit(error) || (attempt > 1 && (error as { data?: { code?: string } }).data?.code === "CONFLICT");
        if (opts.signal?.aborted || !retry || Date.now() > deadline) throw error;
        opts.onRetry?.(error);
        await new Promise((r) => setTimeout(r, Math.min(300 * attempt, 2500)));
      }
    }
    yield* followAnswer(client, { sessionId, messageId: started.assistantMessage.id }, opts.signal);
  }

  return {
    client,
    /** Asks a question after the session's active leaf and yields the answer's events as they stream. */
    ask: (sessionId: string, query: string, opts: AnswerOptions = {}) =>
      answer(sessionId, (requestId, signal) => client.chat.send.mutate({ sessionId, query, requestId }, { signal }), opts),
    /** A new answer to the question `messageId` (an answer) answers, streamed as `ask`'s: the session continues from it. */
    regenerate: (sessionId: string, messageId: string, opts: AnswerOptions = {}) =>
      answer(sessionId, (requestId, signal) => client.chat.regenerate.mutate({ sessionId, messageId, requestId }, { signal }), opts),
    /** A new version of the question `messageId`, and its answer streamed as `ask`'s; what followed the old one stays in its branch. */
    edit: (sessionId: string, messageId: string, query: string, opts: AnswerOptions = {}) =>
      answer(sessionId, (requestId, signal) => client.chat.edit.mutate({ sessionId, messageId, query, requestId }, { signal }), opts),
    /** Every session of the caller, page after page. */
    async *sessions(input: SessionListInput = {}) {
      let cursor: string | undefined;
      do {
        const page = await client.session.list.query({ limit: input.limit ?? 100, search: input.search, cursor });
        yield* page.items;
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
    },
  };
}
