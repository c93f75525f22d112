import { Redis } from "ioredis";
import { followStream, type FollowerQueue, type LiveFeed } from "./memory";
import type { Store, StreamEntry } from "./types";
import { rootLogger } from "../log";

/** How long a new connection may take to become ready before we give up. */
const CONNECT_TIMEOUT_MS = 3_000;
/** Keys per SCAN step (and so per UNLINK) in `delPattern`. */
const SCAN_COUNT = 500;
/** Upper bound on one XREAD reply when a shared reader has fallen behind. */
const XREAD_COUNT = 500;
/** Pause before retrying a read that failed on a healthy connection (e.g. WRONGTYPE), instead of spinning. */
const READ_ERROR_PAUSE_MS = 1_000;


const RENEW_LUA = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("PEXPIRE", KEYS[1], ARGV[2]) end return 0`;
const RELEASE_LUA = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`;

interface LockCommands {
  renewLock(key: string, owner: string, ttlMs: number): Promise<number>;
  releaseLock(key: string, owner: string): Promise<number>;
}

/** One blocking XREAD connection per stream key, fanning entries out to this instance's followers. */
interface Hub {
  followers: Set<FollowerQueue>;
  /** Settles once the reader knows where the stream ends (rejects if it never connects). */
  ready: Promise<string>;
  close(error?: unknown): void;
}

/**
 * A client that fails fast while Redis is unreachable (no offline queue, one retry per command) yet
 * keeps reconnecting in the background. Its errors are logged once per outage, not once per retry.
 */
function createClient(url: string, connectionName: string) {
  const client = new Redis(url, {
    connectionName,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    connectTimeout: CONNECT_TIMEOUT_MS,
    retryStrategy: (attempt) => Math.min(attempt * 100, 1_000),
  });
  let quiet = false;
  const logError = (error: unknown) => {
    if (quiet) return;
    quiet = true;
    rootLogger().error({ connection: connectionName, err: error }, "redis unreachable");
  };
  client.on("error", logError);
  client.on("ready", () => (quiet = false));
  return { client, logError };
}

/**
 * Resolves when `client` is ready. Rejects when it is closed, and, if `timeoutMs` is given, on its
 * first error or after `timeoutMs` (commands sent before "ready" would fail without an offline queue).
 */
function whenReady(client: Redis, timeoutMs?: number): Promise<void> {
  if (client.status === "ready") return Promise.resolve();
  if (client.status === "end") return Promise.reject(new Error("Connection is closed."));
  return new Promise((resolve, reject) => {
    const failFast = timeoutMs !== undefined;
    const timer = failFast
      ? setTimeout(() => settle(new Error(`Redis not ready within ${timeoutMs} ms`)), timeoutMs)
      : undefined;
    const onReady = () => settle();
    const onEnd = () => settle(new Error("Connection is closed."));
    const onError = (error: Error) => settle(error);
    const settle = (error?: Error) => {
      clearTimeout(timer);
      client.off("ready", onReady).off("end", onEnd).off("error", onError);
      if (error) reject(error);
      else resolve();
    };
    client.on("ready", onReady).on("end", onEnd);
    if (failFast) client.on("error", onError);
  });
}

async function openClient(url: string, connectionName: string): Promise<Redis> {
  const { client } = createClient(url, connectionName);
  try {
    await whenReady(client, CONNECT_TIMEOUT_MS);
  } catch (error) {
    client.disconnect();
    throw error;
  }
  return client;
}

function toEntry([id, fields]: [id: string, fields: string[]]): StreamEntry {
  return { id, data: JSON.parse(fields[fields.indexOf("data") + 1]) };
}

/**
 * The store on Redis, shared by any number of instances. Rejects within ~3 s when Redis is unreachable.
 * Its connections show in CLIENT LIST as `<name>` (commands), `<name>-sub` and `<name>-follow`.
 */
export async function createRedisStore(url: string, { name = "parley" }: { name?: string } = {}): Promise<Store> {
  const redis = (await openClient(url, name)) as Redis & LockCommands;
  redis.defineCommand("renewLock", { numberOfKeys: 1, lua: RENEW_LUA });
  redis.defineCommand("releaseLock", { numberOfKeys: 1, lua: RELEASE_LUA });

  const hubs = new Map<string, Hub>();
  let subscriber: Promise<Redis> | null = null;
  const channels = new Map<string, { handlers: Set<(message: string) => void>; subscribed: Promise<unknown> }>();
  let closed = false;

  function openHub(key: string): Hub {
    const { client, logError } = createClient(url, `${name}-follow`);
    const followers = new Set<FollowerQueue>();
    let hubClosed = false;

    const close = (error?: unknown) => {
      if (hubClosed) return;
      hubClosed = true;
      if (hubs.get(key) === hub) hubs.delete(key);
      for (const queue of followers) queue.end(error);
      followers.clear();
      // Also aborts a pending XREAD BLOCK.
      client.disconnect();
    };

    const ready = (async () => {
      await whenReady(client, CONNECT_TIMEOUT_MS);
      // Read from the stream's current end: followers replay everything up to here themselves.
      const [last] = await client.xrevrange(key, "+", "-", "COUNT", 1);
      return last?.[0] ?? "0-0";
    })();

    const read = async (cursor: string) => {
      while (!hubClosed) {
        try {
          const reply = await client.xread("COUNT", XREAD_COUNT, "BLOCK", 0, "STREAMS", key, cursor);
          for (const [, items] of reply ?? []) {
            for (const item of items) {
              // Advance first: an entry that fails to parse must not wedge the reader on itself.
              cursor = item[0];
              const entry = toEntry(item);
              for (const queue of followers) queue.push(entry);
            }
          }
        } catch (error) {
          if (hubClosed) return;
          logError(error);
          // The client reconnects by itself; carry on from `cursor` (nothing lost, nothing repeated).
          await (client.status === "ready"
            ? new Promise((resolve) => setTimeout(resolve, READ_ERROR_PAUSE_MS))
            : whenReady(client).catch(() => {}));
        }
      }
    };

    const hub: Hub = { followers, ready, close };
    ready.then(read, close);
    return hub;
  }

  function joinHub(key: string, queue: FollowerQueue): LiveFeed {
    if (closed) throw new Error("Store closed");
    let hub = hubs.get(key);
    if (!hub) hubs.set(key, (hub = openHub(key)));
    hub.followers.add(queue);
    const joined = hub;
    return {
      ready: joined.ready,
      leave() {
        if (joined.followers.delete(queue) && joined.followers.size === 0) joined.close();
      },
    };
  }

  function getSubscriber(): Promise<Redis> {
    if (subscriber) return subscriber;
    const opening = openClient(url, `${name}-sub`).then((client) => {
      client.on("message", (channel: string, message: string) => {
        for (const handler of [...(channels.get(channel)?.handlers ?? [])]) {
          try {
            handler(message);
          } catch (error) {
            rootLogger().error({ channel, err: error }, "signal handler failed");
          }
        }
      });
      return client;
    });
    // A failed attempt is not cached: the next subscribe tries again.
    opening.catch(() => {
      if (subscriber === opening) subscriber = null;
    });
    return (subscriber = opening);
  }

  async function range(key: string, afterId: string | null, count?: number): Promise<StreamEntry[]> {
    const start = afterId === null ? "-" : `(${afterId}`;
    const reply =
      count === undefined ? await redis.xrange(key, start, "+") : await redis.xrange(key, start, "+", "COUNT", count);
    return reply.map(toEntry);
  }

  return {
    kind: "redis",

    async append(key, entries, ttlSeconds) {
      const tx = redis.multi();
      for (const entry of entries) tx.xadd(key, "*", "data", JSON.stringify(entry));
      tx.expire(key, ttlSeconds);
      const results = (await tx.exec()) ?? [];
      for (const [error] of results) if (error) throw error;
      return results.slice(0, entries.length).map(([, id]) => id as string);
    },

    range,

    follow(key, afterId, signal) {
      return followStream(afterId, signal, (queue) => joinHub(key, queue), (after, count) => range(key, after, count));
    },

    async get(key) {
      return redis.get(key);
    },

    async set(key, value, ttlSeconds) {
      await redis.set(key, value, "EX", ttlSeconds);
    },

    async del(...keys) {
      return keys.length === 0 ? 0 : redis.del(...keys);
    },

    async pttl(key) {
      return redis.pttl(key);
    },

    async delPattern(pattern) {
      // Only `*` is a wildcard (as in the memory store); Redis' other glob characters match literally.
      const match = pattern.replace(/[?[\]\\]/g, "\\$&");
      let cursor = "0";
      let deleted = 0;
      do {
        const [next, keys] = await redis.scan(cursor, "MATCH", match, "COUNT", SCAN_COUNT);
        cursor = next;
        if (keys.length > 0) deleted += await redis.unlink(...keys);
      } while (cursor !== "0");
      return deleted;
    },

    async acquire(key, owner, ttlMs) {
      return (await redis.set(key, owner, "PX", ttlMs, "NX")) === "OK";
    },

    async renew(key, owner, ttlMs) {
      return (await redis.renewLock(key, owner, ttlMs)) === 1;
    },

    async release(key, owner) {
      return (await redis.releaseLock(key, owner)) === 1;
    },

    async publish(channel, message) {
      await redis.publish(channel, message);
    },

    async subscribe(channel, onMessage) {
      const client = await getSubscriber();
      // A wrapper per subscription, so subscribing the same function twice needs two unsubscribes.
      const handler = (message: string) => onMessage(message);
      let entry = channels.get(channel);
      if (!entry) {
        const created = { handlers: new Set<(message: string) => void>(), subscribed: client.subscribe(channel) };
        created.subscribed.catch(() => {
          if (channels.get(channel) === created) channels.delete(channel);
        });
        channels.set(channel, (entry = created));
      }
      entry.handlers.add(handler);
      const joined = entry;
      try {
        // Later subscribers of the channel wait for the first one's SUBSCRIBE as well.
        await joined.subscribed;
      } catch (error) {
        joined.handlers.delete(handler);
        throw error;
      }
      return async () => {
        if (!joined.handlers.delete(handler) || joined.handlers.size > 0) return;
        channels.delete(channel);
        // A failed UNSUBSCRIBE only leaves a channel whose messages no handler receives.
        await client.unsubscribe(channel).catch(() => {});
      };
    },

    async ping() {
      await redis.ping();
    },

    async close() {
      if (closed) return;
      closed = true;
      for (const hub of [...hubs.values()]) hub.close(new Error("Store closed"));
      const sub = await subscriber?.catch(() => null);
      await Promise.all(
        [redis, sub].map((client) => client?.quit().catch(() => client.disconnect())),
      );
    },
  };
}
