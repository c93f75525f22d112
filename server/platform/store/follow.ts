import { PendingCall, rejection } from "../iterables";
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
 * the follower takes whatever has accumulated. `end()` stops it (with an error: the follower throws).
 */
export class FollowerQueue {
  private items: StreamEntry[] = [];
  private readonly taking = new PendingCall<StreamEntry[] | null>();
  private state: "open" | "ended" | "failed" = "open";
  private error: unknown;

  /** Entries in stream order. */
  push(entries: readonly StreamEntry[]): void {
    if (this.state !== "open" || entries.length === 0) return;
    this.items.push(...entries);
    if (this.taking.waiting) this.taking.give(this.takeItems());
  }

  end(error?: unknown): void {
    if (this.state !== "open") return;
    this.state = error === undefined ? "ended" : "failed";
    this.error = error;
    this.items = [];
    if (error === undefined) this.taking.give(null);
    else this.taking.fail(error);
  }

  /** Why the queue was ended, when it was ended with an error. */
  get failure(): unknown {
    return this.state === "failed" ? this.error : undefined;
  }

  /**
   * Everything pushed since the last call (waiting for at least one entry), or null once ended.
   * Not an async function: a batch already there costs one settled promise, one pushed later one hop.
   */
  take(): Promise<StreamEntry[] | null> {
    if (this.state === "failed") return rejection(this.error);
    if (this.state === "ended") return Promise.resolve(null);
    if (this.items.length > 0) return Promise.resolve(this.takeItems());
    return this.taking.wait();
  }

  private takeItems(): StreamEntry[] {
    const batch = this.items;
    this.items = [];
    return batch;
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
 * both: the id check drops anything not newer than the last entry yielded). Yields batches: a
 * replay page, or every live entry that arrived since the consumer last took one. An `afterId`
 * beyond the stream's end resumes at its last entry (`resumeAfter`), checked once nothing was
 * replayed and the feed is live, so whatever is appended after that check reaches the queue.
 * A `firstPage` read before the follower joined (`Store.follow`) stands for the first replay's
 * reads: the replay after the feed is live reads on from it, so nothing appended since is missed.
 */
export async function* followStream(
  afterId: string | null,
  signal: AbortSignal,
  firstPage: StreamEntry[] | undefined,
  join: (queue: FollowerQueue) => LiveFeed,
  stream: {
    range(afterId: string | null, count: number): Promise<StreamEntry[]>;
    /** The id of the stream's last entry ("0-0" when it has none). */
    lastId(): Promise<string>;
  },
): AsyncGenerator<StreamEntry[]> {
  if (signal.aborted) return;
  const queue = new FollowerQueue();
  const feed = join(queue);
  let onAbort!: () => void;
  /** `signal.aborted`, read per live batch without Node's validation of the signal on every read. */
  let stopped = false;
  // Leaving right on abort (not when the consumer next resumes) frees the feed's key immediately.
  const aborted = new Promise<void>((resolve) => {
    onAbort = () => {
      stopped = true;
      feed.leave();
      queue.end();
      resolve();
    };
  });
  signal.addEventListener("abort", onAbort, { once: true });
  let last = afterId;
  /** Only the entries newer than the last one yielded (a batch is in stream order). */
  const fresh = (batch: StreamEntry[]) => {
    if (last === null || compareStreamIds(batch[0]!.id, last) > 0) return batch;
    const after = last;
    const start = batch.findIndex((entry) => compareStreamIds(entry.id, after) > 0);
    return start < 0 ? [] : batch.slice(start);
  };
  /** Yields every stored entry after `last`, page by page, starting with `read` when given. */
  async function* replay(read?: StreamEntry[]) {
    while (!signal.aborted) {
      const page = read ?? (await stream.range(last, REPLAY_PAGE));
      read = undefined;
      if (signal.aborted) return;
      if (page.length > 0) {
        last = page.at(-1)!.id;
        yield page;
      }
      if (page.length < REPLAY_PAGE) return;
    }
  }
  try {
    // Replay while the live feed connects (a resuming client gets its missed entries without
    // waiting for a connection), then catch up on what was appended until the feed was live.
    yield* replay(firstPage);
    firstPage = undefined; // held no longer than its replay: a follower may last as long as its answer
    await Promise.race([feed.ready, aborted]);
    yield* replay();
    if (afterId !== null && last === afterId && !signal.aborted) {
      last = resumeAfter(afterId, await stream.lastId());
      if (last !== afterId) yield* replay();
    }
    for (;;) {
      const batch = await queue.take();
      if (batch === null || stopped) return;
      const entries = fresh(batch);
      if (entries.length === 0) continue;
      last = entries.at(-1)!.id;
      yield entries;
    }
  } catch (error) {
    // Closing the store ends the queue first and then fails any read in flight: report the why.
    throw queue.failure ?? error;
  } finally {
    signal.removeEventListener("abort", onAbort);
    feed.leave();
  }
}
