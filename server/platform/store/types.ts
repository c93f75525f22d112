/**
 * The shared store behind answer streams, LLM context, locks and cross-instance signals.
 * Two implementations with the same semantics (TTL included): Redis (`redis.ts`, one server or a
 * Redis Cluster) for any number of instances, and in-process memory (`memory.ts`) for a single
 * instance without Redis.
 * Keys passed in are full keys (already prefixed, see `keys.ts`).
 */
import type { RateLimiterAbstract } from "rate-limiter-flexible";

export interface StreamEntry<T = unknown> {
  /** The entry's stream id ("<ms>-<seq>"), strictly increasing within a stream. */
  id: string;
  data: T;
}

/** The most keys one multi-key delete carries (a bounded command, however many keys a session has). */
export const DEL_BATCH = 500;

export interface Store {
  readonly kind: "redis" | "memory";

  // --- streams: one per assistant message ---
  /**
   * Appends entries in order and, when `ttlSeconds` is given, sets the stream's TTL (a stream
   * created without one has none, as in Redis). Returns their ids. On Redis the appends of every
   * stream made in one event-loop turn go out in one write.
   */
  append(key: string, entries: unknown[], ttlSeconds?: number): Promise<string[]>;
  /** Entries strictly after `afterId` (from the first when null), oldest first, at most `count`. */
  range(key: string, afterId: string | null, count?: number): Promise<StreamEntry[]>;
  /**
   * Replays entries after `afterId`, then follows new ones live until the consumer stops iterating
   * or `signal` aborts. Never yields an entry twice or out of order. Yields batches: a replay page,
   * or every live entry that arrived since the consumer last took one, so a consumer may merge them.
   * An `afterId` beyond the stream's last entry resumes at that entry (`follow.ts`, `resumeAfter`).
   * `firstPage`: the entries after `afterId` the caller has read already (`range`, together with
   * reads of its own), replayed first instead of being read again.
   * Redis: one shared reader per instance for every followed key (see `liveReader.ts`).
   * Read by one consumer, one `next()` at a time (as `for await` reads): a call made while
   * another waits is not queued behind it.
   */
  follow(key: string, afterId: string | null, signal: AbortSignal, firstPage?: StreamEntry[]): AsyncIterable<StreamEntry[]>;

  // --- plain values with TTL ---
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ttlSeconds: number): Promise<void>;
  /** Deletes keys (any kind); returns how many existed. */
  del(...keys: string[]): Promise<number>;
  /** Remaining TTL in ms, -2 when the key does not exist, -1 without TTL (as Redis PTTL). */
  pttl(key: string): Promise<number>;
  /**
   * Deletes keys that share one Cluster slot (the keys of one session, see keys.ts) with multi-key
   * commands of at most `DEL_BATCH` keys each; returns how many existed.
   */
  delInSlot(keys: string[]): Promise<number>;
  /**
   * Deletes every key matching a glob pattern (`*` only). It scans the whole keyspace: for tests'
   * and tools' cleanup, never on a request's path.
   */
  delPattern(pattern: string): Promise<number>;

  // --- locks / leases ---
  /** SET NX PX: true when acquired. */
  acquire(key: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Extends the TTL only while `owner` still holds it; false when it does not. */
  renew(key: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Deletes only while `owner` still holds it. */
  release(key: string, owner: string): Promise<boolean>;

  // --- signals between instances ---
  publish(channel: string, message: string): Promise<void>;
  /** Calls `onMessage` for every message on `channel` until the returned function is called. */
  subscribe(channel: string, onMessage: (message: string) => void): Promise<() => Promise<void>>;

  // --- rate limits ---
  /**
   * A fixed-window limiter (rate-limiter-flexible) over this store: one key per check
   * (`<keyPrefix>:<subject>`), one round trip (the library's Lua script) on Redis, shared by every
   * instance; in process memory on the memory store.
   */
  rateLimiter(options: { keyPrefix: string; points: number; durationSeconds: number }): RateLimiterAbstract;

  /** Throws when the backing server is unreachable. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
