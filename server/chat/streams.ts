import type { Env } from "../platform/env";
import { isTerminal, streamedText, type StreamEvent, type TerminalEvent } from "./events";
import type { Logger } from "../platform/log";
import type { Message } from "../sessions/messages";
import { compareStreamIds, resumeAfter } from "../platform/store/follow";
import type { Metrics } from "../platform/metrics";
import type { Keys } from "../platform/store/keys";
import type { Store, StreamEntry } from "../platform/store/types";
import { DONE, rejection, STOPPED } from "../platform/iterables";

/** What a reader of answer streams needs: the store, its keys, the subscriber gauge it moves, ended answers' rows, the log. */
export type StreamReadDeps = Pick<StreamDeps, "store" | "keys"> & {
  metrics: Pick<Metrics, "streamSubscribers">;
  log: Logger;
  /**
   * An answer's row once it has ended; null while it runs. Asked by a live follower that has heard
   * nothing for a while (`followLive`).
   */
  endedAnswer(sessionId: string, messageId: string): Promise<AnswerRecord | null>;
};

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
  let discarded = false;
  /** When the stream's TTL was last set (0: not yet, or its write failed). */
  let ttlSetAt = 0;
  const ttlMs = deps.env.STREAM_TTL_SECONDS * 1000;
  /**
   * The TTL goes with the first batch, the last (a terminal event: the stream then lives its full
   * TTL after the answer) and, for a long answer, once half of it has passed; not with every delta.
   */
  const ttlFor = (batch: StreamEvent[]) => {
    const now = Date.now();
    if (ttlSetAt !== 0 && now - ttlSetAt < ttlMs / 2 && !batch.some(isTerminal)) return undefined;
    ttlSetAt = now;
    return deps.env.STREAM_TTL_SECONDS;
  };

  const push = (event: StreamEvent) => {
    const last = pending.at(-1);
    if (event.type === "answer" && last?.type === "answer") pending[pending.length - 1] = { type: "answer", delta: last.delta + event.delta };
    else pending.push(event);
  };

  // Made once, not per batch: an answer writes a batch per delta at a slow model's pace.
  const written = () => {
    if (failing) deps.log.warn("stream store reachable again");
    failing = false;
    next();
  };
  const failed = (error: Error) => {
    if (!failing) deps.log.error({ err: error }, "stream store unreachable, the answer continues in Postgres");
    failing = true;
    ttlSetAt = 0; // the next batch that gets through sets it
    next();
  };
  const next = () => {
    inFlight = null;
    if (pending.length) void flush();
  };
  const flush = (): Promise<void> => {
    if (inFlight || pending.length === 0) return inFlight ?? Promise.resolve();
    const batch = pending;
    pending = [];
    inFlight = deps.store.append(key, batch, ttlFor(batch)).then(written, failed);
    return inFlight;
  };

  return {
    /** Queues an event and starts a write if none is in flight. */
    emit(event: StreamEvent) {
      if (discarded) return;
      push(event);
      void flush();
    },
    /**
     * Drops what is not written yet, and whatever comes later (a late title): the answer was ended
     * by someone else (its session deleted or cleared), who wrote its stream's end and removes it.
     */
    discard() {
      discarded = true;
      pending = [];
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

/** An answer's row, with what its terminal event needs. */
export type AnswerRecord = Message & { durationMs?: number | null; error?: string | null };
/**
 * A live answer known from the store, not its row (chat/answerAccess.ts): what following its stream
 * needs, and the stream's first entries after the resume id, read with it (taken by its follower).
 */
export type LiveAnswer = Pick<Message, "id" | "sessionId" | "requestId"> & { status: "streaming"; firstPage?: StreamEntry[] };
/** An answer to follow: its row, or, while it is live, what the store knows of it. */
export type FollowedAnswer = AnswerRecord | LiveAnswer;

/** The terminal event a finished message's stream ended with, rebuilt from its row. */
function terminalFromRow(message: AnswerRecord): StreamEvent {
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

/** An event as delivered to a subscriber, with the stream id it resumes after. */
export interface DeliveredEvent {
  id: string;
  event: StreamEvent;
}

/**
 * Joins each run of consecutive `answer` events into one: their deltas joined, carrying the id of
 * the last (contract, "Answers"), so a burst or a replay costs a few messages, not one per token.
 * Every other event passes as it was written. `entries` are events a subscriber has not received.
 */
export function mergeAnswers(entries: readonly StreamEntry[]): DeliveredEvent[] {
  // A live follower's usual batch: one event, nothing to merge.
  if (entries.length === 1) return [{ id: entries[0]!.id, event: entries[0]!.data as StreamEvent }];
  const delivered: DeliveredEvent[] = [];
  let run: { id: string; deltas: string[] } | null = null;
  const endRun = () => {
    if (run) delivered.push({ id: run.id, event: { type: "answer", delta: run.deltas.join("") } });
    run = null;
  };
  for (const { id, data } of entries) {
    const event = data as StreamEvent;
    if (event.type !== "answer") {
      endRun();
      delivered.push({ id, event });
    } else if (run) {
      run.id = id;
      run.deltas.push(event.delta);
    } else {
      run = { id, deltas: [event.delta] };
    }
  }
  endRun();
  return delivered;
}

/**
 * Every event of an answer after `lastEventId`, then the live ones, ending after the terminal
 * event; answer deltas that arrive together are merged (`mergeAnswers`). A finished answer whose
 * stream has expired is served from its row as `snapshot` + its terminal event (ids "0-1" and
 * "0-2", so a resume after either still works).
 */
export function readAnswerStream(deps: StreamReadDeps, message: FollowedAnswer, lastEventId: string | null, signal: AbortSignal): AsyncIterableIterator<DeliveredEvent, undefined> {
  return message.status === "streaming" ? followLive(deps, message, lastEventId, signal) : readEndedCounted(deps, message, lastEventId, signal);
}

async function* readEndedCounted(deps: StreamReadDeps, message: AnswerRecord, lastEventId: string | null, signal: AbortSignal): AsyncGenerator<DeliveredEvent, undefined> {
  deps.metrics.streamSubscribers.inc();
  try {
    yield* readEnded(deps, message, lastEventId, signal);
  } finally {
    deps.metrics.streamSubscribers.dec();
  }
}

/**
 * The first page a live answer was read with, handed on once: whoever holds the answer while it is
 * followed (a route, a closure) then holds no copy of entries already replayed.
 */
function takeFirstPage(message: FollowedAnswer): StreamEntry[] | undefined {
  if (!("firstPage" in message)) return undefined;
  const page = message.firstPage;
  delete message.firstPage;
  return page;
}

/** A live follower asks whether its answer has ended after this long without an event… */
const SILENCE_CHECK_FIRST_MS = 5_000;
/** …and again at twice the last interval, up to this one. */
const SILENCE_CHECK_MAX_MS = 60_000;

/**
 * Follows a live answer's stream up to its terminal event. That event is written after the row,
 * so an instance that dies between the two (or cannot reach the store then) leaves a final row and
 * a stream that never ends; no sweeper looks at final rows. So a follower that has heard nothing
 * for a while asks whether the answer has ended (`endedAnswer`), and when it has, stops following
 * and finishes from the row (`readEnded`).
 * An iterator by hand, not an async generator: once live, a delta costs one `then` on the stream's
 * batch here, where a generator's `for await` and `yield` cost several promise hops per delta.
 * Nothing starts (no follower, no timer, no count) until the first `next()`. One call at a time,
 * as `for await` makes them (see `Store.follow`).
 */
function followLive(deps: StreamReadDeps, message: FollowedAnswer, lastEventId: string | null, signal: AbortSignal): AsyncIterableIterator<DeliveredEvent, undefined> {
  // Following stops when the subscriber goes or the answer is found ended. One controller linked
  // by a listener, not AbortSignal.any, whose weak references and finalization entries held 1 to
  // 2 KiB more of heap per follower (bench s6).
  const following = new AbortController();
  const stopFollowing = () => following.abort(STOPPED);
  let state: "new" | "following" | "ending" | "done" = "new";
  let batches: AsyncIterator<StreamEntry[], undefined> | null = null;
  /** readEnded, once the answer was found ended without its stream's end. */
  let tail: AsyncIterator<DeliveredEvent, undefined> | null = null;
  /** A batch's events not handed out yet. */
  let pending: DeliveredEvent[] = [];
  let ended = null as AnswerRecord | null; // set by `check`, outside the calls' control flow
  let lastId = lastEventId;
  let heardAt = Date.now();
  let interval = SILENCE_CHECK_FIRST_MS;
  let timer: NodeJS.Timeout | undefined;
  // One timer per follower, re-armed from its own callback: a delivery only notes the time.
  const arm = (ms: number) => {
    if (!following.signal.aborted) timer = setTimeout(() => void check(), ms).unref();
  };
  const check = async () => {
    const silentMs = Date.now() - heardAt;
    if (silentMs < interval) return arm(interval - silentMs);
    ended = await deps.endedAnswer(message.sessionId, message.id).catch(() => null); // unknown now: ask again later
    if (!ended) {
      interval = Math.min(interval * 2, SILENCE_CHECK_MAX_MS);
      return arm(interval);
    }
    deps.log.warn({ sessionId: message.sessionId, messageId: message.id, silentMs }, "an answer ended without its stream's end; its follower ends from the row");
    following.abort(STOPPED);
  };
  /** Stops following the stream (the answer may go on from its row). */
  const leave = () => {
    following.abort(STOPPED);
    signal.removeEventListener("abort", stopFollowing);
    clearTimeout(timer);
    void batches?.return?.()?.catch(() => undefined);
  };
  const finish = () => {
    if (state === "done") return;
    if (state !== "new") deps.metrics.streamSubscribers.dec();
    state = "done";
    pending = [];
    leave();
    void tail?.return?.()?.catch(() => undefined);
  };
  const failed = (error: unknown): Promise<never> => {
    finish();
    return rejection(error);
  };
  /** The next pending event; after the terminal one, nothing more. */
  const handOut = (): IteratorResult<DeliveredEvent, undefined> => {
    const delivered = pending.shift()!;
    if (isTerminal(delivered.event)) {
      pending = [];
      state = "ending";
      leave();
    } else {
      lastId = delivered.id;
    }
    return { value: delivered, done: false };
  };
  const onBatch = (result: IteratorResult<StreamEntry[], undefined>): IteratorResult<DeliveredEvent, undefined> | Promise<IteratorResult<DeliveredEvent, undefined>> => {
    if (state !== "following") return DONE;
    // Whatever throws here (an entry that is no event) fails the call and ends the reader, as a
    // generator's `finally` would: a `for await` does not call `return()` after a rejection.
    try {
      if (result.done) {
        leave();
        if (!ended || signal.aborted) {
          finish();
          return DONE;
        }
        tail = readEnded(deps, ended, lastId, signal);
        return tail.next().then(onTail, failed);
      }
      heardAt = Date.now();
      interval = SILENCE_CHECK_FIRST_MS;
      pending = mergeAnswers(result.value);
      return handOut();
    } catch (error) {
      return failed(error);
    }
  };
  const onTail = (result: IteratorResult<DeliveredEvent, undefined>) => {
    if (result.done) finish();
    return result;
  };
  const follower = {
    next(): Promise<IteratorResult<DeliveredEvent, undefined>> {
      if (state === "new") {
        state = "following";
        deps.metrics.streamSubscribers.inc();
        signal.addEventListener("abort", stopFollowing, { once: true });
        if (signal.aborted) following.abort(STOPPED);
        arm(interval);
        try {
          batches = deps.store.follow(deps.keys.stream(message.sessionId, message.id), lastEventId, following.signal, takeFirstPage(message))[Symbol.asyncIterator]();
        } catch (error) {
          return failed(error);
        }
      }
      if (state === "ending" || state === "done") {
        finish();
        return Promise.resolve(DONE);
      }
      if (pending.length > 0) return Promise.resolve(handOut());
      if (tail) return tail.next().then(onTail, failed);
      return batches!.next().then(onBatch, failed);
    },
    return(): Promise<IteratorResult<DeliveredEvent, undefined>> {
      finish();
      return Promise.resolve(DONE);
    },
    [Symbol.asyncIterator]() {
      return follower;
    },
  };
  return follower;
}

/**
 * An ended answer's events after `lastEventId`. One read tells whether its stream has expired
 * (nothing left, or the client is resuming the snapshot it was served) and otherwise gives every
 * event to replay. Its terminal event is written just after the row: what is there is replayed,
 * the rest waited for a moment, and the row's own terminal event given if it never comes (the
 * store was unreachable when the answer ended, or its instance died). A resume id beyond the
 * stream's end resumes at its last entry, as a live follower does (`resumeAfter`).
 */
async function* readEnded({ store, keys }: StreamReadDeps, message: AnswerRecord, lastEventId: string | null, signal: AbortSignal): AsyncGenerator<DeliveredEvent> {
  const key = keys.stream(message.sessionId, message.id);
  const entries = lastEventId?.startsWith("0-") ? [] : await store.range(key, null);
  if (entries.length === 0) {
    if (!lastEventId || lastEventId === "0-0") {
      yield { id: "0-1", event: { type: "snapshot", content: message.content, references: message.references } };
    }
    if (lastEventId !== "0-2") yield { id: "0-2", event: terminalFromRow(message) };
    return;
  }
  const after = resumeAfter(lastEventId, entries.at(-1)!.id);
  yield* mergeAnswers(after ? entries.filter((entry) => compareStreamIds(entry.id, after) > 0) : entries);
  if (entries.some((e) => isTerminal(e.data as StreamEvent))) return;
  let last = entries.at(-1)!.id;
  const events = entries.map((entry) => entry.data as StreamEvent);
  const wait = AbortSignal.any([signal, AbortSignal.timeout(TERMINAL_WAIT_MS)]);
  try {
    for await (const batch of store.follow(key, last, wait)) {
      for (const delivered of mergeAnswers(batch)) {
        yield delivered;
        if (isTerminal(delivered.event)) return;
        last = delivered.id;
        events.push(delivered.event);
      }
    }
  } catch (error) {
    if (!wait.aborted) throw error;
  }
  if (signal.aborted) return;
  // The stream may lack the answer's last words too (its writer's last batch went with the
  // instance): what the row holds beyond the streamed text comes as one more delta.
  const streamed = streamedText(events) ?? "";
  if (message.content.length > streamed.length && message.content.startsWith(streamed)) {
    last = nextStreamId(last);
    yield { id: last, event: { type: "answer", delta: message.content.slice(streamed.length) } };
  }
  yield { id: nextStreamId(last), event: terminalFromRow(message) };
}

/**
 * The terminal event of an answer's stream, already written or still to come; null when `signal`
 * aborts first. Throws when the store cannot be read.
 */
export async function terminalEventOf(deps: Pick<StreamDeps, "store" | "keys">, sessionId: string, messageId: string, signal: AbortSignal): Promise<TerminalEvent | null> {
  // Followed from the first event: the terminal event may be written already.
  for await (const batch of deps.store.follow(deps.keys.stream(sessionId, messageId), null, signal)) {
    const terminal = batch.map((entry) => entry.data as StreamEvent).find(isTerminal);
    if (terminal) return terminal;
  }
  return null;
}

/** The id right after `id`, for an event Parley adds that the stream itself never carried. */
function nextStreamId(id: string): string {
  const [ms, seq] = id.split("-");
  return `${ms}-${Number(seq) + 1}`;
}
