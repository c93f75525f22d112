import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { StreamEvent } from "./events";
import type { Message } from "../sessions/messages";
import { createLogger } from "../platform/log";
import { createMetrics } from "../platform/metrics";
import { createKeys } from "../platform/store/keys";
import { compareStreamIds } from "../platform/store/follow";
import { createMemoryStore } from "../platform/store/memory";
import type { Store } from "../platform/store/types";
import { mergeAnswers, readAnswerStream, terminalEventOf, type AnswerRecord, type DeliveredEvent, type StreamReadDeps } from "./streams";

const keys = createKeys("parley:");
const metrics = createMetrics();
const SESSION = randomUUID();
const MESSAGE = randomUUID();

const start: StreamEvent = { type: "start", requestId: randomUUID(), sessionId: SESSION, messageId: MESSAGE, model: "m" };
const references: StreamEvent = { type: "references", references: [] };
const title: StreamEvent = { type: "title", title: "Words" };
const answer = (delta: string): StreamEvent => ({ type: "answer", delta });
const words = Array.from({ length: 40 }, (_, i) => `w${i} `);
/** An answer's events: start, references, 25 deltas, a title, 15 more deltas, complete. */
const events: StreamEvent[] = [
  start,
  references,
  ...words.slice(0, 25).map(answer),
  title,
  ...words.slice(25).map(answer),
  { type: "complete", content: words.join(""), durationMs: 5, model: "m" },
];

function message(status: Message["status"]): Message {
  return { id: MESSAGE, sessionId: SESSION, status, content: status === "streaming" ? "" : words.join(""), references: [] } as unknown as Message;
}

/** A reader's dependencies; its answer's row is still `streaming` unless `endedAnswer` says otherwise. */
const readDeps = (store: Store, endedAnswer: StreamReadDeps["endedAnswer"] = async () => null): StreamReadDeps => ({
  store,
  keys,
  metrics,
  endedAnswer,
  log: createLogger({ level: "silent" }),
});

async function read(store: Store, status: Message["status"], lastEventId: string | null, signal = new AbortController().signal) {
  const got: DeliveredEvent[] = [];
  for await (const delivered of readAnswerStream(readDeps(store), message(status), lastEventId, signal)) got.push(delivered);
  return got;
}

/** Each test's own store, and the answer's stream in it. */
let store: Store;
beforeEach(() => {
  store = createMemoryStore();
});
afterEach(() => store.close());
const key = keys.stream(SESSION, MESSAGE);

const text = (delivered: DeliveredEvent[]) => delivered.map(({ event }) => (event.type === "answer" ? event.delta : "")).join("");
const others = (delivered: DeliveredEvent[]) => delivered.filter(({ event }) => event.type !== "answer").map(({ event }) => event);

describe("delivery merges consecutive answer events", () => {
  it("joins each run of deltas into one event carrying the last one's id; other events pass as written", () => {
    const entries = events.map((data, i) => ({ id: `1-${i}`, data }));
    const merged = mergeAnswers(entries);
    expect(merged).toEqual([
      { id: "1-0", event: start },
      { id: "1-1", event: references },
      { id: "1-26", event: answer(words.slice(0, 25).join("")) },
      { id: "1-27", event: title },
      { id: "1-42", event: answer(words.slice(25).join("")) },
      { id: "1-43", event: events.at(-1) },
    ]);
    expect(mergeAnswers([])).toEqual([]);
    expect(mergeAnswers(entries.slice(3, 4))).toEqual([{ id: "1-3", event: answer(words[1]!) }]);
  });

  it("a replay is a few messages; resuming after any delivered id continues exactly", async () => {
    const ids = await store.append(key, events, 60);
    for (const status of ["completed", "streaming"] as const) {
      const all = await read(store, status, null);
      expect(all.map(({ event }) => event.type)).toEqual(["start", "references", "answer", "title", "answer", "complete"]);
      expect(text(all)).toBe(words.join(""));
      expect(all.map(({ id }) => id)).toEqual([ids[0], ids[1], ids[26], ids[27], ids[42], ids[43]]);
      // After any id, merged or not, the rest of the text exactly and every later event as written
      // (a streaming answer resumed after its terminal event would wait for more).
      for (let i = 0; i < (status === "streaming" ? ids.length - 1 : ids.length); i++) {
        const rest = await read(store, status, ids[i]!);
        const remaining = events.slice(i + 1);
        expect(text(rest)).toBe(remaining.map((e) => (e.type === "answer" ? e.delta : "")).join(""));
        expect(others(rest)).toEqual(remaining.filter((e) => e.type !== "answer"));
      }
    }
  });

  it("live deltas that arrive while the subscriber is busy reach it merged, nothing lost or repeated", async () => {
    await store.append(key, [start], 60);
    const got: DeliveredEvent[] = [];
    const reading = (async () => {
      for await (const delivered of readAnswerStream(readDeps(store), message("streaming"), null, new AbortController().signal)) {
        got.push(delivered);
        // A slow subscriber: whatever arrives meanwhile comes merged in its next message.
        await sleep(20);
      }
    })();
    for (const word of words) {
      await store.append(key, [answer(word)], 60);
      await sleep(1);
    }
    await store.append(key, [events.at(-1)], 60);
    await reading;
    expect(text(got)).toBe(words.join(""));
    expect(got.length).toBeLessThan(words.length);
    expect(got.at(-1)!.event.type).toBe("complete");
  });
});

describe("a live answer's reader", () => {
  const subscribers = async () => (await metrics.streamSubscribers.get()).values[0]?.value ?? 0;
  const live = (signal = new AbortController().signal) => readAnswerStream(readDeps(store), message("streaming"), null, signal);
  /** What the reader still hands out, until it is done. */
  const rest = async (reader: AsyncIterator<DeliveredEvent>) => {
    const got: DeliveredEvent[] = [];
    for (let next = await reader.next(); !next.done; next = await reader.next()) got.push(next.value);
    return got;
  };

  it("counts as a subscriber from its first call until it ends, however it ends", async () => {
    await store.append(key, events.slice(0, 3), 60);
    const before = await subscribers();

    // Stopped before it was read: never counted, and done.
    const unread = live();
    await unread.return!();
    expect(await subscribers()).toBe(before);
    expect(await unread.next()).toEqual({ value: undefined, done: true });

    // Stopped by its consumer after the first event.
    const stopped = live();
    expect((await stopped.next()).value).toEqual({ id: expect.any(String), event: start });
    expect(await subscribers()).toBe(before + 1);
    await stopped.return!();
    expect(await subscribers()).toBe(before);

    // Its subscriber gone: what it had read still comes, then it is done.
    const subscriber = new AbortController();
    const gone = live(subscriber.signal);
    expect((await gone.next()).value?.event).toEqual(start);
    subscriber.abort();
    expect((await rest(gone)).map(({ event }) => event)).toEqual(events.slice(1, 3));
    expect(await subscribers()).toBe(before);

    // Ended by the answer's terminal event, appended while it waits.
    const whole = live();
    const reading = rest(whole);
    await sleep(10);
    expect(await subscribers()).toBe(before + 1);
    await store.append(key, events.slice(3), 60);
    const got = await reading;
    expect(got.at(-1)!.event).toEqual(events.at(-1));
    expect(text(got)).toBe(words.join(""));
    expect(await subscribers()).toBe(before);
  });

  it("that fails on an entry that is no event rejects, and no longer counts or follows", async () => {
    await store.append(key, [start, null], 60);
    const before = await subscribers();
    const failing = live();
    await expect(failing.next()).rejects.toThrow(TypeError);
    expect(await subscribers()).toBe(before);
    expect(await failing.next()).toEqual({ value: undefined, done: true });
  });
});

describe("an answer's terminal event", () => {
  const stop: StreamEvent = { type: "stop", reason: "user", content: "w0 " };

  it("is found when already written, also before a late title; waited for live; null once the signal aborts", async () => {
    await store.append(key, [start, answer("w0 "), stop, title], 60);
    expect(await terminalEventOf({ store, keys }, SESSION, MESSAGE, AbortSignal.timeout(1000))).toEqual(stop);

    const other = randomUUID();
    await store.append(keys.stream(SESSION, other), [start, answer("w0 ")], 60);
    const waiting = terminalEventOf({ store, keys }, SESSION, other, AbortSignal.timeout(2000));
    await sleep(50);
    const writtenAt = performance.now();
    await store.append(keys.stream(SESSION, other), [events.at(-1)], 60);
    expect(await waiting).toEqual(events.at(-1));
    expect(performance.now() - writtenAt).toBeLessThan(100);

    const abort = new AbortController();
    const never = terminalEventOf({ store, keys }, SESSION, randomUUID(), abort.signal);
    await sleep(20);
    abort.abort();
    expect(await never).toBeNull();
  });
});

describe("a live answer whose stream goes silent", () => {
  // After the store is made, before it is closed (the file's hooks run outside these).
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("is asked after 5 s of silence, then at doubling intervals; once its row has ended, its last words and end come from the row", async () => {
    // Kept longer than the silence lasts (the store's clock is the fake one).
    await store.append(key, [start, answer("w0 ")], 600);
    let row: AnswerRecord | null = null;
    const asked: number[] = [];
    const t0 = Date.now();
    const deps = readDeps(store, async () => {
      asked.push(Date.now() - t0);
      return row;
    });
    const got: DeliveredEvent[] = [];
    const reading = (async () => {
      for await (const delivered of readAnswerStream(deps, message("streaming"), null, new AbortController().signal)) got.push(delivered);
    })();
    // Deliveries keep it from asking.
    for (let i = 1; i <= 8; i++) {
      await vi.advanceTimersByTimeAsync(1_000);
      await store.append(key, [answer(`w${i} `)], 600);
    }
    await vi.advanceTimersByTimeAsync(4_000);
    expect(asked).toEqual([]);
    // Silent from 8 s: asked at 13, 23, 43 s.
    await vi.advanceTimersByTimeAsync(35_000);
    expect(asked).toEqual([13_000, 23_000, 43_000]);
    expect(got.map(({ event }) => event.type)).toEqual(["start", "answer", ...Array(8).fill("answer")]);
    // Its instance finalised the row and died before writing its last word and the terminal event.
    const content = words.slice(0, 10).join("");
    row = { ...message("completed"), content, durationMs: 9 };
    await vi.advanceTimersByTimeAsync(40_000);
    expect(asked).toEqual([13_000, 23_000, 43_000, 83_000]);
    vi.useRealTimers(); // the row's end comes after a moment's wait for the stream's own
    await reading;
    expect(text(got)).toBe(content);
    expect(got.slice(-2).map(({ event }) => event)).toEqual([answer("w9 "), { type: "complete", content, durationMs: 9, model: "" }]);
    const ids = got.map(({ id }) => id);
    expect([...ids].sort(compareStreamIds)).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
