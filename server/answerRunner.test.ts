import { describe, expect, it, vi } from "vitest";
import { createAnswerRunner, type LeaseStore } from "./answerRunner";
import { createLogger } from "./log";
import { createMemoryStore } from "./store/memory";

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
      const leases: LeaseStore = {
        acquire: (key, owner, ttlMs) => store.acquire(key, owner, ttlMs),
        release: (key, owner) => store.release(key, owner),
        renew: async (key, owner, ttlMs) => {
          renewalStarted();
          await renewalHeld;
          return store.renew(key, owner, ttlMs);
        },
      };
      const runner = createAnswerRunner({ maxConcurrent: 1, maxQueued: 1, store: leases, lockKey: (id) => `lock:${id}`, log: createLogger({ level: "silent" }) });
      expect(await store.acquire("lock:s", "m:i", 15_000)).toBe(true);
      let endAnswer!: () => void;
      runner.reserve()!.enqueue({
        sessionId: "s",
        messageId: "m",
        leaseOwner: "m:i",
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
