import { DONE, PendingCall, rejection } from "../iterables";
import type { StreamEntry } from "./types";

/** Replay reads the backlog in pages so a long stream never becomes one huge reply. */
export const REPLAY_PAGE = 500;

/** Orders stream ids ("<ms>-<seq>") numerically, as Redis does; a plain string compare breaks at "9" vs "10". */
export function compareStreamIds(a: string, b: string): number {
  const [aMs, aSeq] = parseId(a);
  const [bMs, bSeq] = parseId(b);
  return Math.sign(aMs - bMs || aSeq - bSeq);
}

function parseId(id: string): [number, number] {
  const dash = id.indexOf("-");
  return dash < 0 ? [Number(id), 0] : [Number(id.slice(0, dash)), Number(id.slice(dash + 1))];
}

/** The largest sequence number of a stream id (Redis' is an unsigned 64-bit integer). */
const MAX_SEQ = "18446744073709551615";

/**
 * Where a follower resumes: after `afterId`, unless that lies beyond the stream's last entry
 * (`lastId`, "0-0" when it has none): a client cannot have seen an id the stream never reached (a
 * forged one, one of another stream), and following after it would skip every entry still to come,
 * the stream's end among them. Such a follower resumes at the last entry instead (it gets that
 * entry again, so a finished stream still delivers its terminal entry), or from the start of an
 * empty stream.
 */
export function resumeAfter(afterId: string | null, lastId: string): string | null {
  if (afterId === null || compareStreamIds(afterId, lastId) <= 0) return afterId;
  if (lastId === "0-0") return null;
  const [ms, seq] = parseId(lastId);
  // The id just before the last entry's: nothing lies between them.
  return seq > 0 ? `${ms}-${seq - 1}` : `${ms - 1}-${MAX_SEQ}`;
}

/**
 * Live entries handed from a stream's reader to one follower. The reader pushes without waiting;
 * the follower takes whatever has accumulated, as its iterator's next result. Entries not newer
 * than the last one the follower has (`last`: its replays may have carried them) are dropped.
 * `end()` stops it (with an error: the follower's call rejects).
 */
export class FollowerQueue {
  private items: StreamEntry[] = [];
  private readonly taking = new PendingCall<IteratorResult<StreamEntry[], undefined>>();
  private state: "open" | "ended" | "failed" = "open";
  private error: unknown;
  /** The id of the last entry the follower has; set by its replays, then by what it takes. */
  last: string | null = null;

  /** `ended` is called once, when the queue ends (the follower then lets go of its feed). */
  constructor(private readonly ended: () => void = () => {}) {}

  /** Entries in stream order. */
  push(entries: readonly StreamEntry[]): void {
    if (this.state !== "open" || entries.length === 0) return;
    // A waiting follower gets them at once: no copy into the queue and back.
    if (this.taking.waiting && this.items.length === 0) {
      const fresh = this.fresh(entries);
      if (fresh.length > 0) this.taking.give(this.taken(fresh));
      return;
    }
    this.items.push(...entries);
    if (this.taking.waiting) this.give();
  }

  end(error?: unknown): void {
    if (this.state !== "open") return;
    this.state = error === undefined ? "ended" : "failed";
    this.error = error;
    this.items = [];
    if (error === undefined) this.taking.give(DONE);
    else this.taking.fail(error);
    this.ended();
  }

  /** Why the queue was ended, when it was ended with an error. */
  get failure(): unknown {
    return this.state === "failed" ? this.error : undefined;
  }

  /**
   * Everything pushed since the last call that the follower lacks (waiting for at least one
   * entry), or done once ended. Not an async function: a batch already there costs one settled
   * promise, one pushed later one hop.
   */
  take(): Promise<IteratorResult<StreamEntry[], undefined>> {
    if (this.state === "failed") return rejection(this.error);
    if (this.state === "ended") return Promise.resolve(DONE);
    const wait = this.taking.wait();
    if (this.items.length > 0) this.give();
    return wait;
  }

  /** Gives the waiting call the fresh part of what has accumulated, if any. */
  private give() {
    const fresh = this.fresh(this.items);
    this.items = [];
    if (fresh.length > 0) this.taking.give(this.taken(fresh));
  }

  private taken(entries: StreamEntry[]): IteratorResult<StreamEntry[], undefined> {
    this.last = entries.at(-1)!.id;
    return { value: entries, done: false };
  }

  /** Only the entries newer than `last` (a batch is in stream order). */
  private fresh(batch: readonly StreamEntry[]): StreamEntry[] {
    const last = this.last;
    if (last === null || compareStreamIds(batch[0]!.id, last) > 0) return batch as StreamEntry[];
    const start = batch.findIndex((entry) => compareStreamIds(entry.id, last) > 0);
    return start < 0 ? [] : batch.slice(start);
  }
}

/** A follower's registration with whatever delivers a stream's live entries. */
export interface LiveFeed {
  /** Settles once entries appended from now on are sure to reach the queue (rejects if they never will). */
  ready: Promise<unknown>;
  /** Idempotent. */
  leave(): void;
}

/**
 * `Store.follow` for both stores. The follower joins the live feed BEFORE replaying and replays
 * again once the feed is live, so an entry appended meanwhile is in a replay or in the queue (or
 * both: the queue drops anything not newer than the last entry the follower has). Yields batches:
 * a replay page, or every live entry that arrived since the consumer last took one. An `afterId`
 * beyond the stream's end resumes at its last entry (`resumeAfter`), checked once nothing was
 * replayed and the feed is live, so whatever is appended after that check reaches the queue.
 * A `firstPage` read before the follower joined (`Store.follow`) stands for the first replay's
 * reads: the replay after the feed is live reads on from it, so nothing appended since is missed.
 *
 * An iterator by hand: the catching up is an async generator (it runs once), but once live each
 * `next()` is the queue's own call, one promise per batch, not the several hops of a generator's
 * `await` and `yield` (on a live answer's path they come once per delta).
 */
export function followStream(
  afterId: string | null,
  signal: AbortSignal,
  firstPage: StreamEntry[] | undefined,
  join: (queue: FollowerQueue) => LiveFeed,
  stream: {
    range(afterId: string | null, count: number): Promise<StreamEntry[]>;
    /** The id of the stream's last entry ("0-0" when it has none). */
    lastId(): Promise<string>;
  },
): AsyncIterableIterator<StreamEntry[], undefined> & { return(): Promise<IteratorResult<StreamEntry[], undefined>> } {
  let queue: FollowerQueue | null = null;
  let feed: LiveFeed | null = null;
  let catchingUp: AsyncGenerator<StreamEntry[], void> | null = null;
  let finished = false;
  /** Lets go of the feed and the signal, once: on the end, an abort, a failure or `return()`. */
  const finish = () => {
    if (finished) return;
    finished = true;
    signal.removeEventListener("abort", onAbort);
    feed?.leave();
    queue?.end();
  };
  // Leaving right on abort (not when the consumer next calls) frees the feed's key immediately.
  let aborted!: () => void;
  const abortedWait = new Promise<void>((resolve) => (aborted = resolve));
  function onAbort() {
    finish();
    aborted();
  }

  /** Yields every stored entry after the follower's last one, page by page, starting with `read` when given. */
  async function* replay(live: FollowerQueue, read?: StreamEntry[]) {
    while (!signal.aborted) {
      const page = read ?? (await stream.range(live.last, REPLAY_PAGE));
      read = undefined;
      if (signal.aborted) return;
      if (page.length > 0) {
        live.last = page.at(-1)!.id;
        yield page;
      }
      if (page.length < REPLAY_PAGE) return;
    }
  }
  // Replay while the live feed connects (a resuming client gets its missed entries without
  // waiting for a connection), then catch up on what was appended until the feed was live.
  async function* catchUp(live: FollowerQueue, ready: Promise<unknown>) {
    yield* replay(live, firstPage);
    firstPage = undefined; // held no longer than its replay: a follower may last as long as its answer
    await Promise.race([ready, abortedWait]);
    yield* replay(live);
    if (afterId !== null && live.last === afterId && !signal.aborted) {
      live.last = resumeAfter(afterId, await stream.lastId());
      if (live.last !== afterId) yield* replay(live);
    }
  }

  /** Closing the store ends the queue first and then fails any read in flight: report the why. */
  const failed = (error: unknown): Promise<never> => {
    const why = queue?.failure ?? error;
    finish();
    return rejection(why);
  };
  const caughtUp = (result: IteratorResult<StreamEntry[], void>): IteratorResult<StreamEntry[], undefined> | Promise<IteratorResult<StreamEntry[], undefined>> => {
    if (!result.done) return result;
    catchingUp = null;
    return follower.next();
  };

  const follower = {
    next(): Promise<IteratorResult<StreamEntry[], undefined>> {
      if (finished) return queue?.failure === undefined ? Promise.resolve(DONE) : rejection(queue.failure);
      if (queue === null) {
        if (signal.aborted) {
          finished = true;
          return Promise.resolve(DONE);
        }
        const live = (queue = new FollowerQueue(finish));
        live.last = afterId;
        try {
          feed = join(live);
        } catch (error) {
          return failed(error);
        }
        signal.addEventListener("abort", onAbort, { once: true });
        catchingUp = catchUp(live, feed.ready);
      }
      if (catchingUp) return catchingUp.next().then(caughtUp, failed);
      return queue.take();
    },
    return(): Promise<IteratorResult<StreamEntry[], undefined>> {
      finish();
      void catchingUp?.return();
      return Promise.resolve(DONE);
    },
    [Symbol.asyncIterator]() {
      return follower;
    },
  };
  return follower;
}
