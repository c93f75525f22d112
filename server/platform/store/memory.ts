import { RateLimiterMemory } from "rate-limiter-flexible";
import { compareStreamIds, followStream, type FollowerQueue, type LiveFeed } from "./follow";
import type { Store, StreamEntry } from "./types";
import { rootLogger } from "../log";

/** Expired keys are also dropped on access; the sweep only bounds memory held by keys nobody reads. */
const SWEEP_INTERVAL_MS = 5_000;

const WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value";

interface StoredStream {
  kind: "stream";
  /** Entries as JSON, so readers get copies with the same round-trip semantics as Redis. */
  entries: { id: string; json: string }[];
  lastMs: number;
  lastSeq: number;
  expiresAt: number;
}
interface StoredString {
  kind: "string";
  value: string;
  expiresAt: number;
}

/** The store in process memory, for a single instance without Redis. Same semantics as `redis.ts`. */
export function createMemoryStore(): Store {
  // Each key has an `expiresAt`; Infinity for a stream appended to without a TTL (PTTL -1).
  const data = new Map<string, StoredStream | StoredString>();
  const followers = new Map<string, Set<FollowerQueue>>();
  const channels = new Map<string, Set<(message: string) => void>>();
  let closed = false;

  const sweep = setInterval(() => {
    const now = Date.now();
    for (const [key, value] of data) if (value.expiresAt <= now) data.delete(key);
  }, SWEEP_INTERVAL_MS);
  sweep.unref();

  /** The key's value unless it has expired (then it is removed, like Redis' lazy expiry). */
  function live(key: string) {
    const value = data.get(key);
    if (value && value.expiresAt <= Date.now()) {
      data.delete(key);
      return undefined;
    }
    return value;
  }

  function liveString(key: string) {
    const value = live(key);
    if (value?.kind === "stream") throw new Error(WRONGTYPE);
    return value;
  }

  function deleteMatching(test: (key: string) => boolean): number {
    let deleted = 0;
    for (const key of [...data.keys()]) {
      if (test(key) && live(key)) {
        data.delete(key);
        deleted++;
      }
    }
    return deleted;
  }

  async function range(key: string, afterId: string | null, count?: number): Promise<StreamEntry[]> {
    const stream = live(key);
    if (!stream) return [];
    if (stream.kind !== "stream") throw new Error(WRONGTYPE);
    const { entries } = stream;
    // Binary search for the first entry after `afterId` (ids are sorted).
    let lo = 0;
    if (afterId !== null) {
      let hi = entries.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (compareStreamIds(entries[mid]!.id, afterId) <= 0) lo = mid + 1;
        else hi = mid;
      }
    }
    const end = count === undefined ? entries.length : lo + count;
    return entries.slice(lo, end).map(({ id, json }) => ({ id, data: JSON.parse(json) as unknown }));
  }

  return {
    kind: "memory",

    async append(key, entries, ttlSeconds) {
      let stream = live(key);
      if (stream?.kind === "string") throw new Error(WRONGTYPE);
      if (!stream) {
        // Like XADD + EXPIRE: nothing to add to a missing stream leaves it missing.
        if (entries.length === 0) return [];
        stream = { kind: "stream", entries: [], lastMs: 0, lastSeq: 0, expiresAt: 0 };
        data.set(key, stream);
      }
      const added: StreamEntry[] = [];
      for (const entry of entries) {
        // Redis' rule for `*` ids: the clock, or the last id's ms with the next seq if the clock lags.
        const now = Date.now();
        if (now > stream.lastMs) {
          stream.lastMs = now;
          stream.lastSeq = 0;
        } else {
          stream.lastSeq++;
        }
        const id = `${stream.lastMs}-${stream.lastSeq}`;
        const json = JSON.stringify(entry);
        stream.entries.push({ id, json });
        added.push({ id, data: JSON.parse(json) });
      }
      if (ttlSeconds !== undefined) stream.expiresAt = Date.now() + ttlSeconds * 1000;
      else if (stream.expiresAt === 0) stream.expiresAt = Infinity; // created without a TTL: none, as in Redis
      for (const queue of followers.get(key) ?? []) queue.push(added);
      return added.map((entry) => entry.id);
    },

    range,

    follow(key, afterId, signal, firstPage) {
      const join = (queue: FollowerQueue): LiveFeed => {
        if (closed) throw new Error("Store closed");
        let queues = followers.get(key);
        if (!queues) followers.set(key, (queues = new Set()));
        queues.add(queue);
        const joined = queues;
        return {
          ready: Promise.resolve(),
          leave() {
            joined.delete(queue);
            if (joined.size === 0 && followers.get(key) === joined) followers.delete(key);
          },
        };
      };
      return followStream(afterId, signal, firstPage, join, {
        range: (after, count) => range(key, after, count),
        lastId: async () => {
          const stream = live(key);
          return stream?.kind === "stream" ? (stream.entries.at(-1)?.id ?? "0-0") : "0-0";
        },
      });
    },

    async get(key) {
      return liveString(key)?.value ?? null;
    },

    async set(key, value, ttlSeconds) {
      data.set(key, { kind: "string", value, expiresAt: Date.now() + ttlSeconds * 1000 });
    },

    async del(...keys) {
      const targets = new Set(keys);
      return deleteMatching((key) => targets.has(key));
    },

    // One process has no slots: the same as del.
    async delInSlot(keys) {
      return this.del(...keys);
    },

    async pttl(key) {
      const value = live(key);
      if (!value) return -2;
      return Number.isFinite(value.expiresAt) ? value.expiresAt - Date.now() : -1;
    },

    async delPattern(pattern) {
      const source = pattern
        .split("*")
        .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
        .join(".*");
      const regex = new RegExp(`^${source}$`, "s");
      return deleteMatching((key) => regex.test(key));
    },

    async acquire(key, owner, ttlMs) {
      if (live(key)) return false;
      data.set(key, { kind: "string", value: owner, expiresAt: Date.now() + ttlMs });
      return true;
    },

    async renew(key, owner, ttlMs) {
      const lock = liveString(key);
      if (lock?.value !== owner) return false;
      lock.expiresAt = Date.now() + ttlMs;
      return true;
    },

    async release(key, owner) {
      if (liveString(key)?.value !== owner) return false;
      data.delete(key);
      return true;
    },

    async publish(channel, message) {
      const handlers = channels.get(channel);
      if (!handlers) return;
      const snapshot = [...handlers];
      // Deliver later, as Redis does: a handler never runs inside its publisher's call.
      setImmediate(() => {
        for (const handler of snapshot) {
          if (!handlers.has(handler)) continue;
          try {
            handler(message);
          } catch (error) {
            rootLogger().error({ channel, err: error }, "signal handler failed");
          }
        }
      });
    },

    async subscribe(channel, onMessage) {
      // A wrapper per subscription, so subscribing the same function twice needs two unsubscribes.
      const handler = (message: string) => onMessage(message);
      let handlers = channels.get(channel);
      if (!handlers) channels.set(channel, (handlers = new Set()));
      handlers.add(handler);
      const subscribed = handlers;
      return async () => {
        subscribed.delete(handler);
        if (subscribed.size === 0 && channels.get(channel) === subscribed) channels.delete(channel);
      };
    },

    rateLimiter: ({ keyPrefix, points, durationSeconds }) => new RateLimiterMemory({ keyPrefix, points, duration: durationSeconds }),

    async ping() {},

    async close() {
      closed = true;
      clearInterval(sweep);
      for (const queues of followers.values()) for (const queue of queues) queue.end(new Error("Store closed"));
      followers.clear();
      channels.clear();
      data.clear();
    },
  };
}
