import type { Env } from "./env";
import { isTerminal, type StreamEvent } from "./events";
import type { Logger } from "./log";
import type { Message } from "./messages";
import type { Metrics } from "./metrics";
import type { Keys } from "./store/keys";
import { compareStreamIds } from "./store/memory";
import type { Store } from "./store/types";

/** Where answer streams live and how long they are kept. */
export interface StreamDeps {
  store: Store;
  keys: Pick<Keys, "stream">;
  env: Pick<Env, "STREAM_TTL_SECONDS">;
}

/**
 * Writes one answer's events to its stream. Appends are batched naturally: the first event goes
 * out at once, and whatever arrives while a write is in flight goes out together in the next one
 * (consecutive answer deltas merged), so a fast model costs a round trip per batch, not per token.
 * The stream is a delivery channel; Postgres is the record. When the store is unreachable the
 * answer carries on (the writer logs once and keeps trying with later batches).
 */
export function createStreamWriter(deps: StreamDeps & { log: Logger }, sessionId: string, messageId: string) {
  const key = deps.keys.stream(sessionId, messageId);
  let pending: StreamEvent[] = [];
  let inFlight: Promise<void> | null = null;
  let failing = false;

  const push = (event: StreamEvent) => {
    const last = pending.at(-1);
    if (event.type === "answer" && last?.type === "answer") pending[pending.length - 1] = { type: "answer", delta: last.delta + event.delta };
    else pending.push(event);
  };

  const flush = (): Promise<void> => {
    if (inFlight || pending.length === 0) return inFlight ?? Promise.resolve();
    const batch = pending;
    pending = [];
    inFlight = deps.store
      .append(key, batch, deps.env.STREAM_TTL_SECONDS)
      .then(
        () => {
          if (failing) deps.log.warn("stream store reachable again");
          failing = false;
        },
        (error: Error) => {
          if (!failing) deps.log.error({ err: error }, "stream store unreachable, the answer continues in Postgres");
          failing = true;
        },
      )
      .finally(() => {
        inFlight = null;
        if (pending.length) void flush();
      });
    return inFlight;
  };

  return {
    /** Queues an event and starts a write if none is in flight. */
    emit(event: StreamEvent) {
      push(event);
      void flush();
    },
    /** Resolves once every event emitted so far has been written (or failed to be). */
    async drain() {
      while (inFlight || pending.length) await flush();
    },
  };
}
export type StreamWriter = ReturnType<typeof createStreamWriter>;

const STREAM_ID = /^\d{1,16}-\d{1,16}$/;
/** How long a finished answer's reader waits for the terminal event written after the row. */
const TERMINAL_WAIT_MS = 3000;
export const isStreamId = (id: string) => STREAM_ID.test(id);

/** The terminal event a finished message's stream ended with, rebuilt from its row. */
function terminalFromRow(message: Message & { durationMs?: number | null; error?: string | null }): StreamEvent {
  switch (message.status) {
    case "stopped":
      return { type: "stop", reason: "stopped", content: message.content };
    case "failed":
    case "interrupted":
      return { type: "error", stage: message.status === "failed" ? "generation" : "instance", message: message.error ?? `The answer was ${message.status}` };
    default:
      return { type: "complete", content: message.content, durationMs: message.durationMs ?? 0, model: message.model ?? "" };
  }
}

/**
 * Every event of an answer after `lastEventId`, then the live ones, ending after the terminal
 * event. A finished answer whose stream has expired is served from its row as `snapshot` + its
 * terminal event (ids "0-1" and "0-2", so a resume after either still works).
 */
export async function* readAnswerStream(
  deps: StreamDeps & { metrics: Pick<Metrics, "streamSubscribers"> },
  message: Message & { durationMs?: number | null; error?: string | null },
  lastEventId: string | null,
  signal: AbortSignal,
): AsyncGenerator<{ id: string; event: StreamEvent }> {
  deps.metrics.streamSubscribers.inc();
  try {
    yield* eventsOf(deps, message, lastEventId, signal);
  } finally {
    deps.metrics.streamSubscribers.dec();
  }
}

async function* eventsOf(
  deps: StreamDeps,
  message: Message & { durationMs?: number | null; error?: string | null },
  lastEventId: string | null,
  signal: AbortSignal,
): AsyncGenerator<{ id: string; event: StreamEvent }> {
  const key = deps.keys.stream(message.sessionId, message.id);
  if (message.status === "streaming") {
    for await (const entry of deps.store.follow(key, lastEventId, signal)) {
      yield { id: entry.id, event: entry.data as StreamEvent };
      if (isTerminal(entry.data as StreamEvent)) return;
    }
    return;
  }
  // The row is final. One read tells whether its stream has expired (nothing left, or the client
  // is resuming the snapshot it was served) and otherwise gives every event to replay.
  const entries = lastEventId?.startsWith("0-") ? [] : await deps.store.range(key, null);
  if (entries.length === 0) {
    if (!lastEventId || lastEventId === "0-0") {
      yield { id: "0-1", event: { type: "snapshot", content: message.content, references: message.references } };
    }
    if (lastEventId !== "0-2") yield { id: "0-2", event: terminalFromRow(message) };
    return;
  }
  // Its terminal event is written just after the row: replay what is there, wait a moment for the
  // rest, and fall back to the row's own terminal event if it never comes (the store was
  // unreachable when the answer ended).
  for (const entry of entries) {
    if (!lastEventId || compareStreamIds(entry.id, lastEventId) > 0) yield { id: entry.id, event: entry.data as StreamEvent };
  }
  if (entries.some((e) => isTerminal(e.data as StreamEvent))) return;
  let last = entries.at(-1)!.id;
  const wait = AbortSignal.any([signal, AbortSignal.timeout(TERMINAL_WAIT_MS)]);
  try {
    for await (const entry of deps.store.follow(key, last, wait)) {
      yield { id: entry.id, event: entry.data as StreamEvent };
      if (isTerminal(entry.data as StreamEvent)) return;
      last = entry.id;
    }
  } catch (error) {
    if (!wait.aborted) throw error;
  }
  if (!signal.aborted) yield { id: nextStreamId(last), event: terminalFromRow(message) };
}

/** The id right after `id`, for an event Parley adds that the stream itself never carried. */
function nextStreamId(id: string): string {
  const [ms, seq] = id.split("-");
  return `${ms}-${Number(seq) + 1}`;
}
