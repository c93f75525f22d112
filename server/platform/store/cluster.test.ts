import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { createKeys } from "./keys";
import { createRedisStore } from "./redis";
import type { Store, StreamEntry } from "./types";
import { waitFor } from "../../testing/wait";

/** Runs in the `cluster` project only, on the 3-master cluster its global setup started. */
const nodes = inject("redisClusterNodes");
const keys = createKeys(`parley:test-${randomUUID().slice(0, 8)}:`);
const name = `parley-test-${randomUUID().slice(0, 8)}`;

/** Follows `key` into `got` until `signal` aborts. */
async function follow(store: Store, key: string, signal: AbortSignal, got: StreamEntry[]) {
  for await (const batch of store.follow(key, null, signal)) got.push(...batch);
}

describe("redis cluster store", () => {
  let store: Store;
  /** A plain connection to each master. */
  let masters: Redis[];

  /** `<node index>:<connection id>` of the store's sharded subscriber connections. */
  async function wakeConnections(): Promise<string[]> {
    const lists = await Promise.all(masters.map((m) => m.call("CLIENT", "LIST") as Promise<string>));
    return lists.flatMap((list, i) =>
      list
        .split("\n")
        .filter((line) => line.includes(` name=ioredis-cluster(ssubscriber):${name} `))
        .map((line) => `${i}:${/(?:^| )id=(\d+)/.exec(line)![1]}`),
    );
  }

  /** Subscribers of each key's wake-up channel, summed over the masters (only its slot's owner has any). */
  async function subscriptions(streamKeys: string[]): Promise<number[]> {
    const replies = await Promise.all(masters.map((m) => m.call("PUBSUB", "SHARDNUMSUB", ...streamKeys) as Promise<(string | number)[]>));
    return streamKeys.map((_, i) => replies.reduce((sum, reply) => sum + Number(reply[2 * i + 1]), 0));
  }

  /** Keys of this run stored on each master. */
  async function keysPerMaster(): Promise<number[]> {
    return Promise.all(masters.map(async (m) => (await m.keys(`${keys.prefix}*`)).length));
  }

  beforeAll(async () => {
    masters = nodes.map((url) => new Redis(url, { connectionName: `${name}-admin` }));
    store = await createRedisStore({ clusterNodes: nodes }, { name });
  });
  afterAll(async () => {
    await store?.delPattern(`${keys.prefix}*`);
    await store?.close();
    for (const m of masters) m.disconnect();
  });

  it("follows streams of sessions in slots on every master at once, on one connection per master", async () => {
    const streams = Array.from({ length: 30 }, (_, i) => keys.stream(`session-${i}`, "m"));
    const controller = new AbortController();
    const got = streams.map(() => [] as StreamEntry[]);
    const readers = streams.map((k, i) => follow(store, k, controller.signal, got[i]!));
    await waitFor(async () => (await subscriptions(streams)).every((n) => n === 1));
    await Promise.all(streams.map((k, i) => store.append(k, [{ i }, "end"], 60)));
    await waitFor(() => got.every((g) => g.length === 2));
    expect(got.map((g) => g.map((e) => e.data))).toEqual(streams.map((_, i) => [{ i }, "end"]));
    // The sessions' slots are spread over all three masters, and each master has at most one wake-up connection.
    expect((await keysPerMaster()).every((n) => n > 0)).toBe(true);
    const connections = await wakeConnections();
    expect(connections.length).toBeLessThanOrEqual(masters.length);
    expect(new Set(connections.map((c) => c.split(":")[0])).size).toBe(connections.length);

    controller.abort();
    await Promise.all(readers);
    await waitFor(async () => (await subscriptions(streams)).every((n) => n === 0));
    // Deleting by pattern reaches every master.
    expect(await store.delPattern(keys.sessionStreams("*"))).toBe(streams.length);
    expect(await keysPerMaster()).toEqual(masters.map(() => 0));
  });

  it("a killed wake-up connection loses nothing: its followers get what was appended meanwhile, once", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const k = keys.stream(randomUUID(), "m");
      const controller = new AbortController();
      const got: StreamEntry[] = [];
      const reader = follow(store, k, controller.signal, got);
      await waitFor(async () => (await subscriptions([k]))[0] === 1);
      await store.append(k, [0], 60);
      await waitFor(() => got.length === 1);

      // Every wake-up connection of the store, the one for this stream's master among them.
      const before = await wakeConnections();
      await Promise.all(before.map((c) => masters[Number(c.split(":")[0])]!.call("CLIENT", "KILL", "ID", c.split(":")[1]!)));
      await store.append(k, [1, 2], 60);
      await waitFor(async () => (await subscriptions([k]))[0] === 1 && (await wakeConnections()).some((c) => !before.includes(c)), { timeoutMs: 10_000 });
      await store.append(k, [3], 60);
      await waitFor(() => got.length === 4);
      expect(got.map((e) => e.data)).toEqual([0, 1, 2, 3]);
      controller.abort();
      await reader;
    } finally {
      errors.mockRestore();
    }
  });

  it("signals reach every instance, whichever node each one listens on", async () => {
    const other = await createRedisStore({ clusterNodes: [...nodes].reverse() }, { name: `${name}-other` });
    try {
      const channel = keys.signalChannel();
      const heard: string[][] = [[], []];
      const offs = await Promise.all([store, other].map((s, i) => s.subscribe(channel, (m) => heard[i]!.push(m))));
      for (let i = 0; i < 10; i++) await (i % 2 ? store : other).publish(channel, String(i));
      await waitFor(() => heard.every((h) => h.length === 10));
      const sent = Array.from({ length: 10 }, (_, i) => String(i));
      // Two publishers on two nodes: the order between their messages is not defined.
      expect(heard.map((h) => h.toSorted())).toEqual([sent, sent]);
      await Promise.all(offs.map((off) => off()));
    } finally {
      await other.close();
    }
  });
});
