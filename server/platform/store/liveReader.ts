import type { FollowerQueue, LiveFeed } from "./follow";
import type { StreamEntry } from "./types";

/*
 * How an instance follows many answers on few connections, on one Redis and on a Cluster alike.
 *
 * A blocking `XREAD BLOCK … STREAMS k1 … kn` can wait on several streams only while they sit in
 * one slot, and on a Cluster every session has a slot of its own: one blocking reader per node
 * would serve one session at a time, and taking the slots in turn would add up to a block
 * timeout of latency per slot. So nothing blocks. Every append publishes a wake-up on its
 * stream's sharded channel (SPUBLISH, in the append's own MULTI: the channel is named like the
 * stream, so it hashes to the same slot and the same node). The instance subscribes (SSUBSCRIBE)
 * to the channel of each stream it follows and, when woken, reads what is new with a
 * non-blocking XRANGE on its command connection. Subscriptions cost nothing per follower and
 * need one connection per server: one on a single Redis, one per master on a Cluster (ioredis'
 * sharded subscribers). Connections grow with nodes, never with subscribers.
 * A wake-up lost while a subscriber connection was down is made good by reading every followed
 * stream again once it is back (`resync`); followers replay from the store themselves, so the
 * reader only has to deliver what is appended after it went live.
 *
 * A wake-up may carry what it announces (`Appended`: the entries, and the id of the entry that
 * preceded them, taken in the same atomic step as the append). When that id is where the feed
 * stands, nothing can lie between, and the entries are handed on without reading the stream back;
 * otherwise (a wake-up missed, another writer in between, a read in flight) the feed reads as above.
 */

/** What one append added, as its wake-up announces it. */
export interface Appended {
  /** The stream's last id before these entries ("0-0": none). */
  previousId: string;
  entries: StreamEntry[];
}

/** Entries per XRANGE when a stream has fallen behind; a longer backlog takes several reads. */
const READ_COUNT = 500;
/** Pause before reading again after a failed read, instead of spinning. */
const READ_ERROR_PAUSE_MS = 1_000;

/** Wake-up subscriptions: one sharded channel per followed stream, named like its key. */
export interface WakeChannels {
  subscribe(channel: string): Promise<unknown>;
  /** Goes out after every subscribe already asked for, so a feed that leaves at once leaves nothing subscribed. */
  unsubscribe(channel: string): Promise<unknown>;
  /** No channel is subscribed any more (another may be soon). */
  idle(): void;
  /** The reader is closed: no channel will be subscribed again. */
  close(): void;
}

/** One read of the entries after `afterId` (at most `count` stored ones, `full` when there were that many). */
export interface ReadResult {
  entries: StreamEntry[];
  /** The last stored id read, also of an entry that could not be parsed (so it is not read again). */
  lastId: string | null;
  full: boolean;
}

interface Feed {
  key: string;
  followers: Set<FollowerQueue>;
  /** The last id handed to followers; the stream's end when the feed went live. */
  cursor: string | null;
  ready: Promise<void>;
  reading: boolean;
  /** Woken while reading (or before the cursor was known): read again. */
  again: boolean;
  closed: boolean;
}

export function createLiveReader(options: {
  read(key: string, afterId: string, count: number): Promise<ReadResult>;
  /** The id of the stream's last entry ("0-0" when it has none). */
  lastId(key: string): Promise<string>;
  /** Opens the wake-up channels; `wake` is called per message, `resync` after a reconnection. */
  openWakeups(handlers: { wake(channel: string, appended: Appended | null): void; resync(): void }): WakeChannels;
  logError(error: unknown): void;
}) {
  const feeds = new Map<string, Feed>();
  let closed = false;
  const wakeups = options.openWakeups({
    wake(channel, appended) {
      const feed = feeds.get(channel);
      if (!feed) return;
      if (appended && !feed.reading && feed.cursor === appended.previousId && appended.entries.length > 0) {
        feed.cursor = appended.entries.at(-1)!.id;
        for (const queue of feed.followers) queue.push(appended.entries);
      } else {
        void pull(feed);
      }
    },
    resync() {
      for (const feed of feeds.values()) void pull(feed);
    },
  });

  async function pull(feed: Feed): Promise<void> {
    if (feed.reading || feed.cursor === null) {
      feed.again = true;
      return;
    }
    feed.reading = true;
    try {
      do {
        feed.again = false;
        try {
          let result: ReadResult;
          do {
            result = await options.read(feed.key, feed.cursor, READ_COUNT);
            if (feed.closed) return;
            if (result.lastId !== null) feed.cursor = result.lastId;
            for (const queue of feed.followers) queue.push(result.entries);
          } while (result.full);
        } catch (error) {
          if (feed.closed) return;
          options.logError(error);
          // Read again from the cursor: nothing lost, nothing repeated.
          await new Promise((resolve) => setTimeout(resolve, READ_ERROR_PAUSE_MS));
          feed.again = true;
        }
      } while (feed.again && !feed.closed);
    } finally {
      feed.reading = false;
    }
  }

  /** Stops a feed: its followers end (with `error` if given) and its channel is unsubscribed. */
  function drop(feed: Feed, error?: unknown) {
    if (feed.closed) return;
    feed.closed = true;
    for (const queue of feed.followers) queue.end(error);
    feed.followers.clear();
    if (feeds.get(feed.key) !== feed) return;
    feeds.delete(feed.key);
    // A failed SUNSUBSCRIBE only leaves wake-ups that no feed listens to.
    wakeups.unsubscribe(feed.key).catch(() => {});
    if (feeds.size === 0) wakeups.idle();
  }

  function open(key: string): Feed {
    const feed: Feed = { key, followers: new Set(), cursor: null, ready: Promise.resolve(), reading: false, again: false, closed: false };
    feed.ready = (async () => {
      await wakeups.subscribe(key);
      // Subscribed first, then the stream's end: whatever is appended later wakes this feed.
      const cursor = await options.lastId(key);
      if (feed.closed) return;
      feed.cursor = cursor;
      if (feed.again) void pull(feed);
    })();
    feed.ready.catch((error) => drop(feed, error));
    return feed;
  }

  return {
    join(key: string, queue: FollowerQueue): LiveFeed {
      if (closed) throw new Error("Store closed");
      let feed = feeds.get(key);
      if (!feed) feeds.set(key, (feed = open(key)));
      feed.followers.add(queue);
      const joined = feed;
      return {
        ready: joined.ready,
        leave() {
          if (joined.followers.delete(queue) && joined.followers.size === 0) drop(joined);
        },
      };
    },
    /** Ends every follower with `error`. */
    close(error: unknown) {
      closed = true;
      for (const feed of [...feeds.values()]) drop(feed, error);
      wakeups.close();
    },
  };
}
