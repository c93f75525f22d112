import { Cluster, Redis } from "ioredis";
import { RateLimiterMemory, RateLimiterRedis } from "rate-limiter-flexible";
import { rootLogger } from "../log";
import { followStream } from "./follow";
import { createLiveReader, type Appended, type ReadResult, type WakeChannels } from "./liveReader";
import { DEL_BATCH, type Store, type StreamEntry } from "./types";

/** How long a new connection may take to become ready before we give up. */
const CONNECT_TIMEOUT_MS = 3_000;
/** Keys per SCAN step (and so per UNLINK pipeline) in `delPattern`. */
const SCAN_COUNT = 500;
/**
 * After a Cluster's sharded subscribers are back, followed streams are read at once and again
 * after this long: ioredis resubscribes without telling when the server has confirmed it, so an
 * append in between would only be seen at the stream's next append.
 */
const CLUSTER_RESYNC_AGAIN_MS = 200;
/**
 * How long one server's wake-up connection stays open after its last follower leaves: a client
 * that reconnects (a resume) finds it open instead of waiting for a new connection and paying
 * its handshake, and an instance that stays idle still holds no connection for it.
 */
const FOLLOW_LINGER_MS = 2_000;

const RENEW_LUA = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("PEXPIRE", KEYS[1], ARGV[2]) end return 0`;
const RELEASE_LUA = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`;
/** The largest wake-up that carries its entries; a bigger append wakes followers to read it instead. */
const WAKE_PAYLOAD_MAX = 64 * 1024;
/** Streams per script call when one turn's appends go together (`batchedAppends`); a busier turn takes several calls. */
const APPEND_BATCH_STREAMS = 256;
/**
 * Appends to each stream of KEYS, in order, atomically: ARGV holds, per stream, its TTL ("" for
 * none), its entry count and the entries. Per stream: its last id before the append, the entries,
 * the TTL, and one wake-up of its followers on every instance (liveReader.ts) on the stream's
 * sharded channel (named like the stream: same slot). The wake-up carries the previous id and
 * each new id with its data, one per line (JSON has no raw newline), so a follower standing at
 * that previous id takes the entries from it without reading the stream back. Returns each
 * stream's new ids.
 */
const APPEND_LUA = `
local results, a = {}, 1
for k = 1, #KEYS do
  local key, ttl, count = KEYS[k], ARGV[a], tonumber(ARGV[a + 1])
  a = a + 2
  local previous = redis.call("XREVRANGE", key, "+", "-", "COUNT", 1)
  local parts = { previous[1] and previous[1][1] or "0-0" }
  local ids, size = {}, 0
  for i = a, a + count - 1 do
    local id = redis.call("XADD", key, "*", "data", ARGV[i])
    ids[#ids + 1] = id
    parts[#parts + 1] = id
    parts[#parts + 1] = ARGV[i]
    size = size + #ARGV[i]
  end
  a = a + count
  if ttl ~= "" then redis.call("EXPIRE", key, ttl) end
  if #ids > 0 then redis.call("SPUBLISH", key, size <= ${WAKE_PAYLOAD_MAX} and table.concat(parts, "\\n") or "") end
  results[k] = ids
end
return results`;

/** One stream's append: its key, TTL ("" for none) and serialized entries. */
type AppendStreams = (key: string, ttl: string, data: string[]) => Promise<string[]>;

/**
 * The appends of one event-loop turn, of every answer streaming on the instance, as one script
 * call (APPEND_LUA) sent once the turn's I/O has been handled (setImmediate): a command per turn,
 * not one per delta of each answer. A call that fails fails each append in it, as its own call
 * would have (Redis unreachable, or out of memory). Only on one Redis server: on a Cluster the
 * streams of different sessions sit in different slots, which one script cannot touch.
 */
function batchedAppends(call: (keys: string[], args: string[]) => Promise<string[][]>): AppendStreams {
  let pending: { key: string; ttl: string; data: string[]; resolve(ids: string[]): void; reject(error: unknown): void }[] = [];
  const flush = () => {
    const turn = pending;
    pending = [];
    for (let i = 0; i < turn.length; i += APPEND_BATCH_STREAMS) {
      const batch = turn.slice(i, i + APPEND_BATCH_STREAMS);
      const args: string[] = [];
      for (const { ttl, data } of batch) args.push(ttl, String(data.length), ...data);
      call(
        batch.map(({ key }) => key),
        args,
      ).then(
        (ids) => batch.forEach((append, j) => append.resolve(ids[j]!)),
        (error: unknown) => batch.forEach((append) => append.reject(error)),
      );
    }
  };
  return (key, ttl, data) =>
    new Promise((resolve, reject) => {
      if (pending.length === 0) setImmediate(flush);
      pending.push({ key, ttl, data, resolve, reject });
    });
}

interface LockCommands {
  renewLock(key: string, owner: string, ttlMs: number): Promise<number>;
  releaseLock(key: string, owner: string): Promise<number>;
  appendStreams(numberOfKeys: number, ...keysAndArgs: string[]): Promise<string[][]>;
}

/** The entries a wake-up carries (see APPEND_LUA), or null when it carries none or cannot be read. */
function appendedOf(message: string): Appended | null {
  if (message === "") return null;
  const parts = message.split("\n");
  if (parts.length < 3 || parts.length % 2 === 0) return null;
  try {
    const entries: StreamEntry[] = [];
    for (let i = 1; i < parts.length; i += 2) entries.push({ id: parts[i]!, data: JSON.parse(parts[i + 1]!) });
    return { previousId: parts[0]!, entries };
  } catch {
    return null; // read from the stream instead, which skips what cannot be parsed
  }
}

/** Logs a client's errors once per outage, not once per retry. */
function outageLogger(client: Redis | Cluster, label: string) {
  let quiet = false;
  client.on("ready", () => (quiet = false));
  return (error: unknown) => {
    if (quiet) return;
    quiet = true;
    rootLogger().error({ connection: label, err: error }, "redis unreachable");
  };
}

/**
 * A client that fails fast while Redis is unreachable (no offline queue, one retry per command) yet
 * keeps reconnecting in the background.
 */
function createClient(url: string, connectionName: string) {
  const client = new Redis(url, {
    connectionName,
    // Commands issued in one event-loop turn go out as one pipeline; the appends already are one
    // call per turn (batchedAppends), which a pipeline of its own would only cost more.
    enableAutoPipelining: true,
    autoPipeliningIgnoredCommands: ["appendStreams"],
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    connectTimeout: CONNECT_TIMEOUT_MS,
    retryStrategy: (attempt) => Math.min(attempt * 100, 1_000),
  });
  const logError = outageLogger(client, connectionName);
  client.on("error", logError);
  return { client, logError };
}

/**
 * The same for a Redis Cluster: a connection per master for commands (ioredis routes each by its
 * key's slot), one for classic SUBSCRIBE and, once streams are followed, one sharded subscriber
 * per master. Credentials and TLS of the first node's URL apply to every node, also those found later.
 */
function createClusterClient(nodes: string[], connectionName: string) {
  const first = new URL(nodes[0]!); // an empty list fails here, as it always did
  const cluster = new Cluster(nodes, {
    // No auto-pipelining: on a Cluster, ioredis' sent commands down sharded-subscriber connections.
    enableOfflineQueue: false,
    shardedSubscribers: true,
    clusterRetryStrategy: (attempt) => Math.min(attempt * 100, 1_000),
    redisOptions: {
      connectionName,
      maxRetriesPerRequest: 1,
      connectTimeout: CONNECT_TIMEOUT_MS,
      ...(first.username && { username: decodeURIComponent(first.username) }),
      ...(first.password && { password: decodeURIComponent(first.password) }),
      ...(first.protocol === "rediss:" && { tls: {} }),
    },
  });
  const logError = outageLogger(cluster, `${connectionName}, cluster`);
  cluster.on("error", logError);
  cluster.on("node error", logError);
  return { client: cluster, logError };
}

/**
 * Resolves when `client` is ready. Rejects when it is closed, and, if `timeoutMs` is given, on its
 * first error or after `timeoutMs` (commands sent before "ready" would fail without an offline queue).
 */
function whenReady(client: Redis | Cluster, timeoutMs?: number): Promise<void> {
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

/** Waits (at most CONNECT_TIMEOUT_MS) until a new client is ready; closes it if it does not get there. */
async function open<T extends { client: Redis | Cluster }>(created: T): Promise<T> {
  try {
    await whenReady(created.client, CONNECT_TIMEOUT_MS);
  } catch (error) {
    created.client.disconnect();
    throw error;
  }
  return created;
}

function toEntry([id, fields]: [id: string, fields: string[]]): StreamEntry {
  return { id, data: JSON.parse(fields[fields.indexOf("data") + 1]!) }; // every entry is written with `data`
}

/** For live followers: an entry that cannot be parsed is logged and skipped, never wedging the reader on itself. */
function toLiveEntries(item: [id: string, fields: string[]]): StreamEntry[] {
  try {
    return [toEntry(item)];
  } catch (error) {
    console.error(`[store] skipped unreadable stream entry ${item[0]}:`, error instanceof Error ? error.message : error);
    return [];
  }
}

/**
 * Wake-ups on one Redis server: a connection of their own (`<name>-follow`), opened when the first
 * stream is followed and closed FOLLOW_LINGER_MS after none is. ioredis subscribes again after a
 * reconnection; a PING answered after those subscriptions tells when to read what was appended
 * meanwhile.
 */
function serverWakeups(url: string, name: string, handlers: { wake: (channel: string, appended: Appended | null) => void; resync: () => void }): WakeChannels {
  let client: Redis | null = null;
  let connecting: Promise<Redis> | null = null;
  let lingering: NodeJS.Timeout | undefined;
  const connect = () => {
    clearTimeout(lingering);
    if (connecting) return connecting;
    const { client: created } = createClient(url, `${name}-follow`);
    client = created;
    let connectedBefore = false;
    created.on("smessage", (channel: string, message: string) => handlers.wake(channel, appendedOf(message)));
    created.on("ready", () => {
      if (connectedBefore) created.ping().then(handlers.resync, () => {});
      connectedBefore = true;
    });
    const opening = open({ client: created }).then(
      () => created,
      (error: unknown) => {
        if (connecting === opening) close();
        throw error;
      },
    );
    return (connecting = opening);
  };
  const close = () => {
    clearTimeout(lingering);
    client?.disconnect();
    client = null;
    connecting = null;
  };
  return {
    async subscribe(channel) {
      await (await connect()).ssubscribe(channel);
    },
    async unsubscribe(channel) {
      // Once the connection is open, like the subscribes asked for before it: sent before them
      // from the offline queue, it would leave their channels subscribed on a lingering connection.
      if (connecting) await (await connecting).sunsubscribe(channel);
    },
    idle() {
      clearTimeout(lingering);
      lingering = setTimeout(close, FOLLOW_LINGER_MS);
    },
    close,
  };
}

/**
 * Wake-ups on a Redis Cluster: ioredis' sharded subscribers, one connection per master, kept while
 * the store is open. Once they are back after a reconnection, every followed stream is read again.
 */
function clusterWakeups(cluster: Cluster, handlers: { wake: (channel: string, appended: Appended | null) => void; resync: () => void }): WakeChannels {
  cluster.on("smessage", (channel: string, message: string) => handlers.wake(channel, appendedOf(message)));
  cluster.on("subscribersReady", () => {
    handlers.resync();
    setTimeout(handlers.resync, CLUSTER_RESYNC_AGAIN_MS).unref();
  });
  return {
    subscribe: (channel) => cluster.ssubscribe(channel),
    unsubscribe: (channel) => cluster.sunsubscribe(channel),
    // The sharded subscribers belong to the Cluster client, kept and closed with it.
    idle() {},
    close() {},
  };
}

/** One Redis server (its URL) or a Redis Cluster (the URLs of some of its nodes). */
export type RedisTarget = string | { clusterNodes: string[] };

/**
 * The store on Redis, shared by any number of instances. Rejects within ~3 s when Redis is unreachable.
 * On one server its connections show in CLIENT LIST as `<name>` (commands), `<name>-sub` (signals)
 * and `<name>-follow` (wake-ups of followed streams); on a Cluster as `<name>` on every master,
 * `ioredis-cluster(subscriber):<name>` and `ioredis-cluster(ssubscriber):<name>` on every master.
 */
export async function createRedisStore(target: RedisTarget, { name = "parley" }: { name?: string } = {}): Promise<Store> {
  const { client, logError } = await open(
    typeof target === "string" ? createClient(target, name) : createClusterClient(target.clusterNodes, name),
  );
  const redis = client as (Redis | Cluster) & LockCommands;
  redis.defineCommand("renewLock", { numberOfKeys: 1, lua: RENEW_LUA });
  redis.defineCommand("releaseLock", { numberOfKeys: 1, lua: RELEASE_LUA });
  redis.defineCommand("appendStreams", { lua: APPEND_LUA });
  const appendStreams: AppendStreams =
    redis instanceof Cluster
      ? async (key, ttl, data) => (await redis.appendStreams(1, key, ttl, String(data.length), ...data))[0]!
      : batchedAppends((keys, args) => redis.appendStreams(keys.length, ...keys, ...args));

  /** Classic pub/sub for signals. On a Cluster it is broadcast to every node, so any one connection hears all. */
  let subscriber: Promise<Redis | Cluster> | null = null;
  const channels = new Map<string, { handlers: Set<(message: string) => void>; subscribed: Promise<unknown> }>();
  let closed = false;

  const reader = createLiveReader({
    async read(key, afterId, count): Promise<ReadResult> {
      const items = await redis.xrange(key, `(${afterId}`, "+", "COUNT", count);
      return { entries: items.flatMap(toLiveEntries), lastId: items.at(-1)?.[0] ?? null, full: items.length === count };
    },
    lastId,
    openWakeups: (handlers) =>
      redis instanceof Cluster ? clusterWakeups(redis, handlers) : serverWakeups(target as string, name, handlers),
    logError,
  });

  function getSubscriber(): Promise<Redis | Cluster> {
    if (subscriber) return subscriber;
    // A Cluster client subscribes on a connection of its own and stays usable for commands.
    const opening =
      redis instanceof Cluster ? Promise.resolve(redis) : open(createClient(target as string, `${name}-sub`)).then(({ client }) => client);
    void opening.then((client) =>
      client.on("message", (channel: string, message: string) => {
        for (const handler of [...(channels.get(channel)?.handlers ?? [])]) {
          try {
            handler(message);
          } catch (error) {
            rootLogger().error({ channel, err: error }, "signal handler failed");
          }
        }
      }),
    );
    // A failed attempt is not cached: the next subscribe tries again.
    opening.catch(() => {
      if (subscriber === opening) subscriber = null;
    });
    return (subscriber = opening);
  }

  /** The id of a stream's last entry ("0-0" when it has none). */
  async function lastId(key: string): Promise<string> {
    const [last] = await redis.xrevrange(key, "+", "-", "COUNT", 1);
    return last?.[0] ?? "0-0";
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
      return appendStreams(key, ttlSeconds === undefined ? "" : String(ttlSeconds), entries.map((entry) => JSON.stringify(entry)));
    },

    range,

    follow(key, afterId, signal, firstPage) {
      return followStream(afterId, signal, firstPage, (queue) => reader.join(key, queue), { range: (after, count) => range(key, after, count), lastId: () => lastId(key) });
    },

    async get(key) {
      return redis.get(key);
    },

    async set(key, value, ttlSeconds) {
      await redis.set(key, value, "EX", ttlSeconds);
    },

    async del(...keys) {
      // One DEL per key: on a Cluster the keys may sit in different slots.
      const deleted = await Promise.all(keys.map((key) => redis.del(key)));
      return deleted.reduce((sum, n) => sum + n, 0);
    },

    async delInSlot(keys) {
      let deleted = 0;
      for (let i = 0; i < keys.length; i += DEL_BATCH) deleted += await redis.unlink(...keys.slice(i, i + DEL_BATCH));
      return deleted;
    },

    async pttl(key) {
      return redis.pttl(key);
    },

    async delPattern(pattern) {
      // Only `*` is a wildcard (as in the memory store); Redis' other glob characters match literally.
      const match = pattern.replace(/[?[\]\\]/g, "\\$&");
      // SCAN sees one server's keys: on a Cluster, every master's.
      const servers = redis instanceof Cluster ? redis.nodes("master") : [redis];
      let deleted = 0;
      for (const server of servers) {
        let cursor = "0";
        do {
          const [next, keys] = await server.scan(cursor, "MATCH", match, "COUNT", SCAN_COUNT);
          cursor = next;
          if (keys.length === 0) continue;
          // One UNLINK per key (pipelined): keys of one node may still sit in different slots.
          const results = (await server.pipeline(keys.map((key) => ["unlink", key])).exec()) ?? [];
          for (const [error, n] of results) {
            if (error) throw error;
            deleted += n as number;
          }
        } while (cursor !== "0");
      }
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

    rateLimiter({ keyPrefix, points, durationSeconds }) {
      const options = { keyPrefix, points, duration: durationSeconds };
      return new RateLimiterRedis({
        ...options,
        storeClient: redis,
        // Fail over at once while Redis is away (no offline queue): each instance then limits in
        // its own memory rather than refusing every call or letting every call through.
        rejectIfRedisNotReady: true,
        insuranceLimiter: new RateLimiterMemory(options),
      });
    },

    async ping() {
      await redis.ping();
    },

    async close() {
      if (closed) return;
      closed = true;
      reader.close(new Error("Store closed"));
      const sub = await subscriber?.catch(() => null);
      await Promise.all([...new Set([redis, sub])].map(async (c) => {
        await c?.quit().catch(() => c.disconnect());
      }));
    },
  };
}
