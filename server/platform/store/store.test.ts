import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { RateLimiterRes } from "rate-limiter-flexible";
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it, vi } from "vitest";
import { createKeys, createStore, type Store, type StreamEntry } from "./index";
import { compareStreamIds } from "./follow";
import { createRedisStore } from "./redis";
import { DEL_BATCH } from "./types";
import { waitFor } from "../../testing/wait";

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
/** Given in the `cluster` project only: the suite then runs on that Redis Cluster. */
const clusterNodes = inject("redisClusterNodes");
/** Every key of this run starts here, so runs never see each other's keys and cleanup is one pattern. */
const PREFIX = `parley:test-${randomUUID().slice(0, 8)}:`;

/** One entry at a time, as `follow` yields them in batches. */
async function* entries(batches: AsyncIterable<StreamEntry[]>): AsyncGenerator<StreamEntry> {
  for await (const batch of batches) yield* batch;
}

/** Collects entries until `done` returns true, then breaks out (the consumer-stops path of `follow`). */
async function readUntil(entries: AsyncIterable<StreamEntry>, done: (entry: StreamEntry) => boolean) {
  const got: StreamEntry[] = [];
  for await (const entry of entries) {
    got.push(entry);
    if (done(entry)) break;
  }
  return got;
}

/** Reads `follow` to its end, pushing each entry's data to `into` as it arrives (a test watches it grow). */
async function followInto(follow: AsyncIterable<StreamEntry[]>, into: unknown[]): Promise<void> {
  for await (const entry of entries(follow)) into.push(entry.data);
}

/**
 * Opens a store once for a describe block. A store that cannot be created (Redis down) fails every
 * test of the block, in `beforeEach`, instead of the tests being reported as skipped.
 */
function useStore(create: () => Promise<Store>, base: string): () => Store {
  let opening: Promise<Store>;
  let store: Store;
  beforeAll(() => {
    opening = create();
    opening.catch(() => {}); // reported by beforeEach
  });
  beforeEach(async () => {
    store = await opening;
  });
  afterAll(async () => {
    const opened = await opening.catch(() => null);
    await opened?.delPattern(`${base}*`);
    await opened?.close();
  });
  return () => store;
}

const variants: { label: string; kind: Store["kind"]; create: () => Promise<Store> }[] = clusterNodes
  ? [{ label: "redis cluster", kind: "redis", create: () => createStore({ redisClusterNodes: clusterNodes }) }]
  : [
      { label: "memory", kind: "memory", create: () => createStore({}) },
      { label: "redis", kind: "redis", create: () => createStore({ redisUrl: REDIS_URL }) },
    ];

describe.each(variants)("$label store", ({ label, kind, create }) => {
  let counter = 0;
  const base = `${PREFIX}${label.replace(" ", "-")}:`;
  const key = (name: string) => `${base}${name}:${counter++}`;
  const current = useStore(create, base);
  let store: Store;
  beforeEach(() => {
    store = current();
  });

  it("is the requested kind and answers ping", async () => {
    expect(store.kind).toBe(kind);
    await expect(store.ping()).resolves.toBeUndefined();
  });

  it("rate-limits: the N-th check passes, the N+1-th is refused until the window resets, another subject is not; one key under the prefix", async () => {
    const keyPrefix = key("ratelimit");
    const limiter = store.rateLimiter({ keyPrefix, points: 3, durationSeconds: 1 });
    for (let n = 1; n <= 3; n++) await expect(limiter.consume("a")).resolves.toMatchObject({ consumedPoints: n, remainingPoints: 3 - n });
    const refused = await limiter.consume("a").catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(RateLimiterRes);
    const wait = (refused as RateLimiterRes).msBeforeNext;
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(1000);
    await expect(limiter.consume("b")).resolves.toMatchObject({ consumedPoints: 1 });
    // On Redis each subject is one plain counter key (one slot on a Cluster), under the store's prefix.
    if (kind === "redis") {
      expect(await store.get(`${keyPrefix}:a`)).toBe("4");
      expect(await store.pttl(`${keyPrefix}:a`)).toBeGreaterThan(0);
    }
    await sleep(wait + 50);
    await expect(limiter.consume("a")).resolves.toMatchObject({ consumedPoints: 1, remainingPoints: 2 });
  });

  it("append returns strictly increasing ids; range after any id returns exactly the rest", async () => {
    const k = key("stream");
    const ids = [
      ...(await store.append(k, [{ i: 0 }, { i: 1 }, { i: 2 }], 60)),
      ...(await store.append(k, [{ i: 3 }], 60)),
      ...(await store.append(k, [{ i: 4 }, { i: 5 }], 60)),
    ];
    expect(ids).toHaveLength(6);
    for (const id of ids) expect(id).toMatch(/^\d+-\d+$/);
    for (let i = 1; i < ids.length; i++) expect(compareStreamIds(ids[i - 1]!, ids[i]!)).toBe(-1);

    const all = await store.range(k, null);
    expect(all).toEqual(ids.map((id, i) => ({ id, data: { i } })));
    for (let i = 0; i < ids.length; i++) expect(await store.range(k, ids[i]!)).toEqual(all.slice(i + 1));
    expect(await store.range(k, null, 2)).toEqual(all.slice(0, 2));
    expect(await store.range(k, ids[1]!, 3)).toEqual(all.slice(2, 5));
    expect(await store.range(key("missing"), null)).toEqual([]);
  });

  it("ids stay increasing for many appends within the same millisecond", async () => {
    const k = key("burst");
    const ids = (await Promise.all(Array.from({ length: 50 }, (_, i) => store.append(k, [i], 60)))).flat();
    // Concurrent appends may reach the store in another order than they were made (it happened
    // once on the Cluster, in a CI run under load; Parley's writer never has two appends of one
    // stream in flight), so the order that counts is the stream's: every id distinct, stored in
    // increasing order, each with the entry its own append was given.
    const stored = await store.range(k, null);
    for (let i = 1; i < stored.length; i++) expect(compareStreamIds(stored[i - 1]!.id, stored[i]!.id)).toBe(-1);
    expect(stored.map((e) => e.id).sort()).toEqual([...ids].sort());
    expect(Object.fromEntries(stored.map((e) => [e.id, e.data]))).toEqual(Object.fromEntries(ids.map((id, i) => [id, i])));
  });

  it("appends to 300 streams in one turn (one Redis takes a turn's appends together, 256 streams a call) each land in their own stream with their own TTL, and reach its followers", async () => {
    const keys = Array.from({ length: 300 }, (_, i) => key(`turn${i}`));
    const signal = new AbortController().signal;
    const followed = keys.slice(0, 3).map((k) => readUntil(entries(store.follow(k, null, signal)), (e) => e.data === "last"));
    await sleep(50);
    const ids = await Promise.all(keys.map((k, i) => store.append(k, [{ stream: i }, "last"], i % 2 === 0 ? 60 : undefined)));
    for (const [i, k] of keys.entries()) {
      expect(await store.range(k, null)).toEqual([
        { id: ids[i]![0], data: { stream: i } },
        { id: ids[i]![1], data: "last" },
      ]);
    }
    expect(await store.pttl(keys[0]!)).toBeGreaterThan(50_000);
    expect(await store.pttl(keys[1]!)).toBe(-1);
    expect(await store.pttl(keys[298]!)).toBeGreaterThan(50_000);
    for (const [i, reading] of followed.entries()) expect((await reading).map((e) => e.data)).toEqual([{ stream: i }, "last"]);
  });

  it("follow replays, then delivers entries appended later, in order", async () => {
    const k = key("follow");
    const [firstId] = await store.append(k, ["a", "b"], 60);
    const signal = new AbortController().signal;
    const fromStart = readUntil(entries(store.follow(k, null, signal)), (e) => e.data === "e");
    const resumed = readUntil(entries(store.follow(k, firstId!, signal)), (e) => e.data === "e");
    await sleep(50);
    await store.append(k, ["c"], 60);
    await store.append(k, ["d", "e"], 60);
    expect((await fromStart).map((e) => e.data)).toEqual(["a", "b", "c", "d", "e"]);
    expect((await resumed).map((e) => e.data)).toEqual(["b", "c", "d", "e"]);
    expect(await fromStart).toEqual(await store.range(k, null));
  });

  it("followers started while appends race with their replay get every entry exactly once, in order", async () => {
    const k = key("race");
    const [resumeId] = await store.append(k, [{ n: -1 }], 60);
    const readers: Promise<{ afterId: string | null; got: StreamEntry[] }>[] = [];
    const startReader = (afterId: string | null) => {
      const signal = new AbortController().signal;
      readers.push(readUntil(entries(store.follow(k, afterId, signal)), (e) => e.data === "end").then((got) => ({ afterId, got })));
    };
    for (let n = 0; n < 60; n++) {
      // Alternate single and batched appends; start followers in between without waiting for them.
      await store.append(k, n % 3 === 0 ? [{ n }, { n: n + 0.5 }] : [{ n }], 60);
      if (n % 2 === 0) startReader(n % 4 === 0 ? null : resumeId!);
    }
    await store.append(k, ["end"], 60);
    const all = await store.range(k, null);
    expect(all).toHaveLength(82);
    for (const { afterId, got } of await Promise.all(readers)) {
      expect(got).toEqual(afterId === null ? all : all.slice(1));
    }
  });

  /**
   * A follower places an id beyond the stream's end only once its wake-ups are live (a Cluster's
   * first SSUBSCRIBE opens a connection); an append before that is rightly treated as already there.
   */
  const FOLLOWER_SETTLES_MS = 400;

  it("a follower given the first page it read before following (a resume's one round trip) gets every entry once, also those appended after that read", async () => {
    const k = key("first-page");
    const [resumeId] = await store.append(k, ["a", "b", "c", "d"], 60);
    const signal = new AbortController().signal;
    // The rest of the stream, and a page cut short by its count: the replay after the feed is live reads on from either.
    const rest = await store.range(k, resumeId!);
    const cutShort = await store.range(k, resumeId!, 1);
    const empty = await store.range(k, "99999999999999-0");
    await store.append(k, ["e"], 60);
    const readers = [rest, cutShort].map((page) => readUntil(entries(store.follow(k, resumeId!, signal, page)), (e) => e.data === "g"));
    const beyond = readUntil(entries(store.follow(k, "99999999999999-0", signal, empty)), (e) => e.data === "g");
    await sleep(FOLLOWER_SETTLES_MS);
    await store.append(k, ["f", "g"], 60);
    const all = await store.range(k, null);
    for (const got of await Promise.all(readers)) expect(got).toEqual(all.slice(1));
    expect((await beyond).map((e) => e.data)).toEqual(["e", "f", "g"]);
  });

  it("a follower resuming after an id beyond the stream's end resumes at its last entry, then gets what is appended", async () => {
    const beyond = "99999999999999-0";
    const signal = new AbortController().signal;
    const k = key("beyond");
    await store.append(k, ["a", "b"], 60);
    const resumed = readUntil(entries(store.follow(k, beyond, signal)), (e) => e.data === "d");
    await sleep(FOLLOWER_SETTLES_MS);
    await store.append(k, ["c", "d"], 60);
    expect((await resumed).map((e) => e.data)).toEqual(["b", "c", "d"]);
    // A stream that has ended gives its last entry at once; an empty one everything appended later.
    expect((await readUntil(entries(store.follow(k, beyond, signal)), () => true)).map((e) => e.data)).toEqual(["d"]);
    const empty = key("beyond-empty");
    const fromEmpty = readUntil(entries(store.follow(empty, beyond, signal)), (e) => e.data === "y");
    await sleep(FOLLOWER_SETTLES_MS);
    await store.append(empty, ["x", "y"], 60);
    expect((await fromEmpty).map((e) => e.data)).toEqual(["x", "y"]);
  });

  it("several followers of one key all get everything", async () => {
    const k = key("fanout");
    await store.append(k, [0], 60);
    const signal = new AbortController().signal;
    const readers = Array.from({ length: 10 }, () => readUntil(entries(store.follow(k, null, signal)), (e) => e.data === 3));
    await sleep(30);
    await store.append(k, [1, 2], 60);
    await store.append(k, [3], 60);
    for (const got of await Promise.all(readers)) expect(got.map((e) => e.data)).toEqual([0, 1, 2, 3]);
  });

  it("follow ends when its signal aborts, also while waiting for live entries", async () => {
    const k = key("abort");
    await store.append(k, ["x"], 60);
    const controller = new AbortController();
    const got: unknown[] = [];
    const reading = followInto(store.follow(k, null, controller.signal), got);
    await waitFor(() => got.length === 1);
    controller.abort();
    await reading;
    await store.append(k, ["y"], 60);
    expect(got).toEqual(["x"]);

    const none: StreamEntry[] = [];
    for await (const entry of entries(store.follow(k, null, AbortSignal.abort()))) none.push(entry);
    expect(none).toEqual([]);
  });

  it("set values expire after their TTL", async () => {
    const k = key("ttl");
    await store.set(k, "v", 1);
    expect(await store.get(k)).toBe("v");
    const ttl = await store.pttl(k);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(1000);
    await sleep(1100);
    expect(await store.get(k)).toBeNull();
    expect(await store.pttl(k)).toBe(-2);
  });

  it("append sets and refreshes the stream TTL", async () => {
    const k = key("stream-ttl");
    await store.append(k, [1], 5);
    const first = await store.pttl(k);
    expect(first).toBeGreaterThan(0);
    expect(first).toBeLessThanOrEqual(5000);
    await store.append(k, [2], 100);
    const refreshed = await store.pttl(k);
    expect(refreshed).toBeGreaterThan(5000);
    expect(refreshed).toBeLessThanOrEqual(100_000);
  });

  it("get/del/pttl on present and missing keys", async () => {
    const [a, b, missing] = [key("a"), key("b"), key("missing")];
    await store.set(a, "1", 60);
    await store.append(b, ["s"], 60);
    expect(await store.get(missing)).toBeNull();
    expect(await store.pttl(missing)).toBe(-2);
    expect(await store.del(a, b, missing)).toBe(2);
    expect(await store.get(a)).toBeNull();
    expect(await store.range(b, null)).toEqual([]);
    expect(await store.del()).toBe(0);
  });

  it("delPattern deletes only matching keys (only `*` is a wildcard)", async () => {
    const p = `${key("pattern")}:`;
    const keys = createKeys(p);
    await store.append(keys.stream("s1", "m1"), ["x"], 60);
    await store.append(keys.stream("s1", "m2"), ["x"], 60);
    await store.append(keys.stream("s2", "m1"), ["x"], 60);
    await store.set(keys.context("s1"), "c", 60);
    await store.set(`${p}x[ab]`, "literal", 60);
    await store.set(`${p}xa`, "other", 60);

    expect(await store.delPattern(keys.sessionStreams("s1"))).toBe(2);
    expect(await store.range(keys.stream("s1", "m1"), null)).toEqual([]);
    expect(await store.range(keys.stream("s1", "m2"), null)).toEqual([]);
    expect(await store.range(keys.stream("s2", "m1"), null)).toHaveLength(1);
    expect(await store.get(keys.context("s1"))).toBe("c");

    expect(await store.delPattern(`${p}x[ab]*`)).toBe(1);
    expect(await store.get(`${p}x[ab]`)).toBeNull();
    expect(await store.get(`${p}xa`)).toBe("other");
    expect(await store.delPattern(`${p}nothing*`)).toBe(0);
  });

  it("delInSlot deletes exactly the named keys of one session, past one batch (one slot on a Cluster)", async () => {
    const keys = createKeys(`${key("slot")}:`);
    const streams = Array.from({ length: DEL_BATCH + 3 }, (_, i) => keys.stream("s1", `m${i}`));
    for (const k of streams) await store.set(k, "x", 60);
    await store.set(keys.context("s1"), "c", 60);
    await store.set(keys.context("s2"), "other", 60);
    expect(await store.delInSlot([...streams, keys.context("s1"), keys.stream("s1", "absent")])).toBe(DEL_BATCH + 4);
    expect(await store.get(streams[0]!)).toBeNull();
    expect(await store.get(streams.at(-1)!)).toBeNull();
    expect(await store.get(keys.context("s1"))).toBeNull();
    expect(await store.get(keys.context("s2"))).toBe("other");
    expect(await store.delInSlot([])).toBe(0);
  });

  it("locks: only the owner renews or releases; a released lock can be taken", async () => {
    const k = key("lock");
    expect(await store.acquire(k, "A", 10_000)).toBe(true);
    expect(await store.acquire(k, "B", 10_000)).toBe(false);
    expect(await store.acquire(k, "A", 10_000)).toBe(false);
    expect(await store.renew(k, "B", 60_000)).toBe(false);
    expect(await store.release(k, "B")).toBe(false);
    expect(await store.get(k)).toBe("A");

    expect(await store.renew(k, "A", 60_000)).toBe(true);
    expect(await store.pttl(k)).toBeGreaterThan(10_000);
    expect(await store.release(k, "A")).toBe(true);
    expect(await store.release(k, "A")).toBe(false);
    expect(await store.renew(k, "A", 60_000)).toBe(false);
    expect(await store.acquire(k, "B", 10_000)).toBe(true);
  });

  it("locks expire after their TTL, then another owner can acquire", async () => {
    const k = key("lease");
    expect(await store.acquire(k, "A", 200)).toBe(true);
    expect(await store.pttl(k)).toBeLessThanOrEqual(200);
    await sleep(300);
    expect(await store.renew(k, "A", 200)).toBe(false);
    expect(await store.acquire(k, "B", 10_000)).toBe(true);
    expect(await store.release(k, "A")).toBe(false);
  });

  it("pub/sub: asynchronous delivery, unsubscribe stops it, channels are independent", async () => {
    const [a, b] = [key("channel-a"), key("channel-b")];
    const gotA: string[] = [];
    const gotA2: string[] = [];
    const gotB: string[] = [];
    const offA = await store.subscribe(a, (m) => gotA.push(m));
    const offA2 = await store.subscribe(a, (m) => gotA2.push(m));
    const offB = await store.subscribe(b, (m) => gotB.push(m));

    const published = store.publish(a, "1");
    expect(gotA).toEqual([]);
    await published;
    await waitFor(() => gotA.length === 1 && gotA2.length === 1);
    expect(gotB).toEqual([]);

    await store.publish(b, "2");
    await waitFor(() => gotB.length === 1);
    expect(gotA).toEqual(["1"]);

    await offA();
    await store.publish(a, "3");
    await store.publish(b, "4");
    // Wait for both: a cluster relays each PUBLISH over its bus, so messages of different channels
    // may arrive out of publish order. Once a2 has "3", a (unsubscribed) would have had it too.
    await waitFor(() => gotB.length === 2 && gotA2.length === 2);
    expect(gotA).toEqual(["1"]);
    expect(gotA2).toEqual(["1", "3"]);
    expect(gotB).toEqual(["2", "4"]);

    await offA2();
    await offB();
    const barrier = key("channel-barrier");
    const gotBarrier: string[] = [];
    const offBarrier = await store.subscribe(barrier, (m) => gotBarrier.push(m));
    await store.publish(a, "5");
    await store.publish(b, "6");
    await store.publish(barrier, "done");
    await waitFor(() => gotBarrier.length === 1);
    await offBarrier();
    expect(gotA2).toEqual(["1", "3"]);
    expect(gotB).toEqual(["2", "4"]);
  });
});

// One server's connections; a Cluster's are in cluster.test.ts.
if (!clusterNodes) describe("redis store connections", () => {
  const base = `${PREFIX}redis-connections:`;
  let counter = 0;
  const key = (name: string) => `${base}${name}:${counter++}`;
  // A name of its own, so counting this store's connections ignores other suites sharing the server.
  const name = `parley-test-${randomUUID().slice(0, 8)}`;
  const current = useStore(() => createRedisStore(REDIS_URL, { name }), base);
  let store: Store;
  let admin: Redis;

  /** Ids of this store's follow connections. */
  async function followConnections(): Promise<string[]> {
    const list = (await admin.call("CLIENT", "LIST")) as string;
    return list
      .split("\n")
      .filter((line) => line.includes(` name=${name}-follow `))
      .map((line) => /(?:^| )id=(\d+)/.exec(line)![1]!);
  }

  beforeAll(() => {
    admin = new Redis(REDIS_URL, { connectionName: `${name}-admin`, lazyConnect: true });
  });
  beforeEach(async () => {
    store = current();
    if (admin.status === "wait") await admin.connect();
  });
  afterAll(async () => {
    admin.disconnect();
  });

  it("createRedisStore rejects promptly when Redis is unreachable", async () => {
    const started = Date.now();
    await expect(createRedisStore("redis://127.0.0.1:6390")).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("pttl is -1 for a key without TTL", async () => {
    const k = key("no-ttl");
    await admin.set(k, "v");
    expect(await store.pttl(k)).toBe(-1);
  });

  it("200 followers of one key share one blocking connection, freed on abort", async () => {
    expect(await followConnections()).toEqual([]);
    const k = key("shared");
    await store.append(k, ["first"], 60);
    const controllers = Array.from({ length: 200 }, () => new AbortController());
    const received = controllers.map(() => [] as unknown[]);
    const readers = controllers.map(({ signal }, i) => followInto(store.follow(k, null, signal), received[i]!));
    await waitFor(() => received.every((got) => got.length === 1));
    await store.append(k, ["live"], 60);
    await waitFor(() => received.every((got) => got.length === 2));
    expect(received.every((got) => got.join() === "first,live")).toBe(true);
    expect(await followConnections()).toHaveLength(1);

    // The connection stays while any follower is left.
    for (const controller of controllers.slice(1)) controller.abort();
    await Promise.all(readers.slice(1));
    expect(await followConnections()).toHaveLength(1);
    controllers[0]!.abort();
    await readers[0];
    await waitFor(async () => (await followConnections()).length === 0);
  });

  /** How many of this instance's wake-up subscriptions each key's channel has. */
  async function subscriptions(keys: string[]): Promise<number[]> {
    const reply = (await admin.call("PUBSUB", "SHARDNUMSUB", ...keys)) as (string | number)[];
    return keys.map((_, i) => Number(reply[2 * i + 1]));
  }

  it("followers of many keys share one connection; keys joining and leaving are followed at once", async () => {
    const keys = Array.from({ length: 100 }, (_, i) => key(`many-${i}`));
    const controllers = keys.map(() => new AbortController());
    const got = keys.map(() => [] as unknown[]);
    const follow = (k: string, signal: AbortSignal, into: unknown[]) => followInto(store.follow(k, null, signal), into);
    const readers = keys.map((k, i) => follow(k, controllers[i]!.signal, got[i]!));
    await waitFor(async () => (await subscriptions(keys)).every((n) => n === 1));
    expect(await followConnections()).toHaveLength(1);
    await Promise.all(keys.map((k, i) => store.append(k, [i], 60)));
    await waitFor(() => got.every((g) => g.length === 1));
    expect(got).toEqual(keys.map((_, i) => [i]));

    // Half leave: their channels are unsubscribed; a key joining now is followed at once.
    for (const controller of controllers.slice(0, 50)) controller.abort();
    await Promise.all(readers.slice(0, 50));
    await waitFor(async () => (await subscriptions(keys.slice(0, 50))).every((n) => n === 0));
    const late = key("late");
    const lateGot: unknown[] = [];
    const lateController = new AbortController();
    const lateReader = follow(late, lateController.signal, lateGot);
    await waitFor(async () => (await subscriptions([late]))[0] === 1);
    await Promise.all(keys.map((k) => store.append(k, ["second"], 60)));
    await store.append(late, ["late"], 60);
    await waitFor(() => got.slice(50).every((g) => g.length === 2) && lateGot.length === 1);
    expect(got.slice(0, 50)).toEqual(keys.slice(0, 50).map((_, i) => [i]));
    expect(lateGot).toEqual(["late"]);
    expect(await followConnections()).toHaveLength(1);

    for (const controller of [...controllers, lateController]) controller.abort();
    await Promise.all([...readers, lateReader]);
    await waitFor(async () => (await followConnections()).length === 0);
  });

  it("a stream with a long burst or a follower that stops reading holds up no other stream", async () => {
    const [stalled, busy, quick] = [key("stalled"), key("busy"), key("quick")];
    const controller = new AbortController();
    await store.append(stalled, [-1], 60);
    // Takes the first entry, then reads no more.
    const stalledReader = entries(store.follow(stalled, null, controller.signal))[Symbol.asyncIterator]();
    expect((await stalledReader.next()).value?.data).toBe(-1);
    const busyGot: unknown[] = [];
    const quickGot: unknown[] = [];
    const readers = [followInto(store.follow(busy, null, controller.signal), busyGot), followInto(store.follow(quick, null, controller.signal), quickGot)];
    await waitFor(async () => (await subscriptions([stalled, busy, quick])).every((n) => n === 1));

    await store.append(stalled, Array.from({ length: 2_000 }, (_, i) => i), 60);
    const burst = store.append(busy, Array.from({ length: 5_000 }, (_, i) => i), 60);
    const started = Date.now();
    await store.append(quick, ["now"], 60);
    await waitFor(() => quickGot.length === 1);
    expect(Date.now() - started).toBeLessThan(1_000);
    await burst;
    await waitFor(() => busyGot.length === 5_000);
    expect(busyGot).toEqual(Array.from({ length: 5_000 }, (_, i) => i));

    controller.abort();
    await stalledReader.return?.(undefined);
    await Promise.all(readers);
    await waitFor(async () => (await followConnections()).length === 0);
  });

  it("a consumer breaking out of for-await frees the follow connection", async () => {
    const k = key("break");
    const reading = readUntil(entries(store.follow(k, null, new AbortController().signal)), () => true);
    await waitFor(async () => (await followConnections()).length === 1);
    await store.append(k, ["only"], 60);
    expect((await reading).map((e) => e.data)).toEqual(["only"]);
    await waitFor(async () => (await followConnections()).length === 0);
  });

  it("a follower arriving soon after the last one left (a resume) reuses the follow connection; it closes once none comes", async () => {
    const k = key("linger");
    const [firstId] = await store.append(k, ["first"], 60);
    const first = new AbortController();
    const firstRead: unknown[] = [];
    const reading = followInto(store.follow(k, null, first.signal), firstRead);
    await waitFor(async () => firstRead.length === 1 && (await subscriptions([k]))[0] === 1);
    const lingering = await followConnections();
    expect(lingering).toHaveLength(1);
    first.abort();
    await reading;
    // The last follower has left (its channel too); its connection waits a moment for the next one.
    await waitFor(async () => (await subscriptions([k]))[0] === 0);
    expect(await followConnections()).toEqual(lingering);

    const resumed = readUntil(entries(store.follow(k, firstId!, new AbortController().signal)), () => true);
    await store.append(k, ["second"], 60);
    expect((await resumed).map((e) => e.data)).toEqual(["second"]);
    expect(await followConnections()).toEqual(lingering);
    await waitFor(async () => (await followConnections()).length === 0);
  });

  it("a follower that leaves while the follow connection opens leaves no subscription behind on it", async () => {
    const k = key("left-early");
    const early = new AbortController();
    // Joins (the connection starts opening) and leaves before it is open.
    const reading = readUntil(entries(store.follow(k, null, early.signal)), () => false);
    early.abort();
    await reading;
    // Another key followed after it: its subscription goes out after the early one's on the same connection.
    const other = key("left-early-other");
    const controller = new AbortController();
    const otherReading = readUntil(entries(store.follow(other, null, controller.signal)), () => false);
    await waitFor(async () => (await subscriptions([other]))[0] === 1);
    await waitFor(async () => (await subscriptions([k]))[0] === 0);
    controller.abort();
    await otherReading;
    await waitFor(async () => (await followConnections()).length === 0);
  });

  it("a follower whose blocking connection is killed reconnects without loss or duplicates", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const k = key("reconnect");
      await store.append(k, [0], 60);
      const got: unknown[] = [];
      const reading = (async () => {
        for await (const entry of entries(store.follow(k, null, new AbortController().signal))) {
          got.push(entry.data);
          if (entry.data === 5) break;
        }
      })();
      await waitFor(() => got.length === 1);
      const [killed] = await followConnections();
      await store.append(k, [1], 60);
      await waitFor(() => got.length === 2);

      await admin.call("CLIENT", "KILL", "ID", killed!);
      // Appended while the reader is down or reconnecting.
      await store.append(k, [2, 3], 60);
      await waitFor(async () => (await followConnections()).some((id) => id !== killed));
      await store.append(k, [4, 5], 60);
      await reading;
      expect(got).toEqual([0, 1, 2, 3, 4, 5]);
      // At most one log line for the outage.
      expect(errors.mock.calls.length).toBeLessThanOrEqual(1);
    } finally {
      errors.mockRestore();
    }
  });

  it("close ends live followers and closes every connection", async () => {
    const closing = await createRedisStore(REDIS_URL, { name: `${name}-closing` });
    const k = key("close");
    await closing.subscribe(key("close-channel"), () => {});
    const outcome = readUntil(entries(closing.follow(k, null, new AbortController().signal)), () => false).then(
      () => "ended quietly",
      (error: Error) => error.message,
    );
    const own = async () =>
      ((await admin.call("CLIENT", "LIST")) as string).split("\n").filter((line) => line.includes(` name=${name}-closing`));
    await waitFor(async () => (await own()).length === 3);
    await closing.close();
    expect(await outcome).toBe("Store closed");
    await waitFor(async () => (await own()).length === 0);
  });
});
