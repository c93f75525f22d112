import { describe, expect, it, vi } from "vitest";
import { createAnswerRunner } from "./runner";
import { acquire, forAnswer, type LeaseDeps } from "./lease";
import { createLogger } from "../platform/log";
import { createMemoryStore } from "../platform/store/memory";

/** The session's lock key in these tests. */
const keys = { answerLock: (sessionId: string) => `lock:${sessionId}` };

describe("answer leases", () => {
  it("a renewal in flight when its answer ends does not take the released lease back", async () => {
    vi.useFakeTimers();
    try {
      const store = createMemoryStore();
      let renewalStarted!: () => void;
      const started = new Promise<void>((resolve) => (renewalStarted = resolve));
      let answerRenewal!: () => void;
      const renewalHeld = new Promise<void>((resolve) => (answerRenewal = resolve));
      // The store's own lease commands; only the renewal is held back, as a slow round trip would be.
      const leases: LeaseDeps = {
        keys,
        store: {
          acquire: (key, owner, ttlMs) => store.acquire(key, owner, ttlMs),
          release: (key, owner) => store.release(key, owner),
          get: (key) => store.get(key),
          renew: async (key, owner, ttlMs) => {
            renewalStarted();
            await renewalHeld;
            return store.renew(key, owner, ttlMs);
          },
        },
      };
      const runner = createAnswerRunner({ maxConcurrent: 1, maxQueued: 1, leases, log: createLogger({ level: "silent" }) });
      const lease = forAnswer({ sessionId: "s", messageId: "m", instanceId: "i" });
      expect(await acquire(leases, lease)).toBe(true);
      let endAnswer!: () => void;
      runner.reserve()!.enqueue({
        tenantId: "t",
        sessionId: "s",
        messageId: "m",
        lease,
        controller: new AbortController(),
        run: (_signal, releaseLease) => new Promise<void>((resolve) => (endAnswer = () => void releaseLease().then(resolve))),
      });
      await vi.advanceTimersByTimeAsync(5_000); // the heartbeat's renewal goes out, and waits
      await started;
      endAnswer(); // the answer ends and frees its session meanwhile
      await vi.advanceTimersByTimeAsync(10);
      answerRenewal(); // the renewal comes back: the lease is gone
      await vi.advanceTimersByTimeAsync(10);
      expect(await store.get("lock:s")).toBeNull();
      await runner.close();
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("the answer queue", () => {
  /** A job that runs until the test finishes it, noting when it started. */
  function controlledJobs() {
    const started: string[] = [];
    const finishers = new Map<string, () => void>();
    const job = (tenantId: string, messageId: string) => ({
      tenantId,
      sessionId: `session-${messageId}`,
      messageId,
      lease: forAnswer({ sessionId: `session-${messageId}`, messageId, instanceId: "instance" }),
      controller: new AbortController(),
      run: (signal: AbortSignal) =>
        new Promise<void>((resolve) => {
          started.push(messageId);
          finishers.set(messageId, resolve);
          if (signal.aborted) resolve();
          else signal.addEventListener("abort", () => resolve(), { once: true });
        }),
    });
    /** Ends a running job and waits for the next one to start. */
    const finish = async (messageId: string) => {
      const before = started.length;
      finishers.get(messageId)!();
      await vi.waitFor(() => expect(started.length).toBeGreaterThan(before));
    };
    return { started, job, finish };
  }
  const runnerOf = (maxConcurrent: number) =>
    createAnswerRunner({ maxConcurrent, maxQueued: 100, leases: { store: createMemoryStore(), keys }, log: createLogger({ level: "silent" }) });

  it("takes tenants in turn, each in its own order: one tenant's burst does not hold another's first answer behind all of it", async () => {
    const runner = runnerOf(1);
    const { started, job, finish } = controlledJobs();
    for (const [tenant, id] of [["A", "a1"], ["A", "a2"], ["A", "a3"], ["A", "a4"], ["B", "b1"], ["B", "b2"], ["C", "c1"]] as const) {
      runner.reserve()!.enqueue(job(tenant, id));
    }
    expect({ running: runner.running, queued: runner.queued }).toEqual({ running: 1, queued: 6 });
    while (started.length < 7) await finish(started.at(-1)!);
    // B and C were never served when a1 ended; then each tenant in turn, A's and B's answers in their order.
    expect(started).toEqual(["a1", "b1", "c1", "a2", "b2", "a3", "a4"]);
    await runner.close();
  });

  it("a tenant whose answers run waits its turn behind one with none running; the pool's size holds; a queued answer stopped leaves the queue", async () => {
    const runner = runnerOf(2);
    const { started, job, finish } = controlledJobs();
    for (const id of ["a1", "a2", "a3", "a4", "a5"]) runner.reserve()!.enqueue(job("A", id));
    runner.reserve()!.enqueue(job("B", "b1"));
    expect(started).toEqual(["a1", "a2"]);
    expect(runner.abort("a4", "user")).toBe(true); // stopped while queued: it ends at once, outside the pool
    await vi.waitFor(() => expect(started).toContain("a4"));
    expect(runner.queued).toBe(3);
    await finish("a1");
    expect(started.slice(3)).toEqual(["b1"]);
    await finish("a2");
    await finish("b1");
    expect(started.slice(3)).toEqual(["b1", "a3", "a5"]);
    expect(runner.running).toBe(2);
    await runner.close();
  });
});
