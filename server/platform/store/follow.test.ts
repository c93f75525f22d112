import { describe, expect, it } from "vitest";
import { compareStreamIds, FollowerQueue, followStream, REPLAY_PAGE } from "./follow";
import type { StreamEntry } from "./types";

/**
 * `followStream` handed a first page (a resume reads it with its access check): the page is
 * replayed as given, without a read of its own, and the reads after it go on from its last entry.
 * The stores' suites (store.test.ts) check the same end to end on memory, Redis and a Cluster.
 */

/** A stream of `count` entries, the reads made of it, and a live feed that is ready when the test says so. */
function fakeStream(count: number) {
  const entries: StreamEntry[] = Array.from({ length: count }, (_, i) => ({ id: `1-${i}`, data: i }));
  const reads: (string | null)[] = [];
  let makeReady!: () => void;
  const ready = new Promise<void>((resolve) => (makeReady = resolve));
  const queues: FollowerQueue[] = [];
  const stream = {
    async range(afterId: string | null, count: number) {
      reads.push(afterId);
      return entries.filter((entry) => afterId === null || compareStreamIds(entry.id, afterId) > 0).slice(0, count);
    },
    lastId: async () => entries.at(-1)?.id ?? "0-0",
  };
  const join = (queue: FollowerQueue) => {
    queues.push(queue);
    return { ready, leave() {} };
  };
  const append = (data: unknown) => {
    const entry = { id: `1-${entries.length}`, data };
    entries.push(entry);
    for (const queue of queues) queue.push([entry]);
  };
  return { entries, reads, makeReady, stream, join, append };
}

/** The data of a batch `followStream` yielded. */
const dataOf = (next: IteratorResult<StreamEntry[], void>) => (next.value as StreamEntry[]).map((entry) => entry.data);

describe("followStream with a first page", () => {
  it("yields the page as given before any read, then reads on from its last entry once the feed is live", async () => {
    const fake = fakeStream(5);
    const page = fake.entries.slice(2, 4); // read before the follower joined, after entry 1
    const follow = followStream("1-1", new AbortController().signal, page, fake.join, fake.stream);
    const first = await follow.next();
    expect(first.value).toBe(page);
    expect(fake.reads).toEqual([]);
    // Appended after the page was read, before the feed is live: the replay after it finds it.
    fake.append(5);
    fake.makeReady();
    const rest = await follow.next();
    expect(fake.reads).toEqual(["1-3"]);
    expect(dataOf(rest)).toEqual([4, 5]);
    fake.append(6);
    expect(dataOf(await follow.next())).toEqual([6]);
    await follow.return(undefined);
  });

  it("a full first page goes on with the next page at once, without waiting for the feed", async () => {
    const fake = fakeStream(REPLAY_PAGE + 3);
    const page = fake.entries.slice(0, REPLAY_PAGE);
    const follow = followStream(null, new AbortController().signal, page, fake.join, fake.stream);
    expect((await follow.next()).value).toBe(page);
    const next = await follow.next(); // the feed is not ready yet
    expect(fake.reads).toEqual([`1-${REPLAY_PAGE - 1}`]);
    expect(dataOf(next)).toEqual([REPLAY_PAGE, REPLAY_PAGE + 1, REPLAY_PAGE + 2]);
    await follow.return(undefined);
  });
});

describe("a follower's queue", () => {
  const entry = (seq: number): StreamEntry => ({ id: `1-${seq}`, data: seq });

  it("hands over only entries newer than the follower's last, whether it waits or they were queued", async () => {
    const queue = new FollowerQueue();
    queue.last = "1-2";
    queue.push([entry(1), entry(2)]); // already replayed: queued, then dropped when taken
    const waiting = queue.take();
    let settled = false;
    void waiting.then(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(false); // nothing newer yet: it keeps waiting
    queue.push([entry(2), entry(3), entry(4)]); // given straight to the waiting call, stale part cut
    expect(await waiting).toEqual({ value: [entry(3), entry(4)], done: false });
    expect(queue.last).toBe("1-4");
    queue.push([entry(4), entry(5)]);
    expect(await queue.take()).toEqual({ value: [entry(5)], done: false });
  });

  it("ends a waiting call: done when ended, rejected with the reason when failed, and says so once", async () => {
    let ended = 0;
    const done = new FollowerQueue(() => ended++);
    const waiting = done.take();
    done.end();
    done.end();
    expect(await waiting).toEqual({ value: undefined, done: true });
    expect(await done.take()).toEqual({ value: undefined, done: true });
    expect(ended).toBe(1);

    const failed = new FollowerQueue();
    const failing = failed.take();
    failed.end(new Error("Store closed"));
    await expect(failing).rejects.toThrow("Store closed");
    await expect(failed.take()).rejects.toThrow("Store closed");
    expect(failed.failure).toEqual(new Error("Store closed"));
  });
});
