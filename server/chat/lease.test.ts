import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKeys, createStore, type Store } from "../platform/store";
import { acquire, forAnswer, forSwitch, isHeldBy, release, renew, type LeaseDeps } from "./lease";

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const PREFIX = `parley:test-lease-${randomUUID().slice(0, 8)}:`;

describe.each([
  { label: "memory", create: () => createStore({}) },
  { label: "redis", create: () => createStore({ redisUrl: REDIS_URL }) },
])("answer leases on the $label store", ({ create }) => {
  let store: Store;
  let deps: LeaseDeps;
  beforeAll(async () => {
    store = await create();
    deps = { store, keys: createKeys(PREFIX) };
  });
  afterAll(async () => {
    await store.delPattern(`${PREFIX}*`);
    await store.close();
  });

  const answerOn = (sessionId: string, instanceId: string) => forAnswer({ sessionId, messageId: randomUUID(), instanceId });

  it("one holder per session: a second acquire fails for another answer, on any instance, and for a switch", async () => {
    const sessionId = randomUUID();
    const first = answerOn(sessionId, "a");
    expect(await acquire(deps, first)).toBe(true);
    expect(await acquire(deps, answerOn(sessionId, "a"))).toBe(false);
    expect(await acquire(deps, answerOn(sessionId, "b"))).toBe(false);
    expect(await acquire(deps, forSwitch({ sessionId, instanceId: "a" }))).toBe(false);
    // Another session is free.
    expect(await acquire(deps, answerOn(randomUUID(), "a"))).toBe(true);
  });

  it("isHeldBy names the answer that holds the session, whichever instance runs it", async () => {
    const sessionId = randomUUID();
    const messageId = randomUUID();
    const lease = forAnswer({ sessionId, messageId, instanceId: "elsewhere" });
    expect(await isHeldBy(deps, sessionId, messageId)).toBe(false);
    expect(await acquire(deps, lease)).toBe(true);
    expect(await isHeldBy(deps, sessionId, messageId)).toBe(true);
    expect(await isHeldBy(deps, sessionId, randomUUID())).toBe(false);
    expect(await isHeldBy(deps, randomUUID(), messageId)).toBe(false);
    expect(await release(deps, lease)).toBe(true);
    expect(await isHeldBy(deps, sessionId, messageId)).toBe(false);
  });

  it("renew extends the lease only for its holder", async () => {
    const sessionId = randomUUID();
    const lease = answerOn(sessionId, "a");
    expect(await acquire(deps, lease, 1_000)).toBe(true);
    expect(await renew(deps, answerOn(sessionId, "a"), 60_000)).toBe(false);
    expect(await store.pttl(deps.keys.answerLock(sessionId))).toBeLessThanOrEqual(1_000);
    expect(await renew(deps, lease, 60_000)).toBe(true);
    expect(await store.pttl(deps.keys.answerLock(sessionId))).toBeGreaterThan(1_000);
  });

  it("release frees the session only for its holder; a released lease is not renewed and the session can be taken", async () => {
    const sessionId = randomUUID();
    const messageId = randomUUID();
    const lease = forAnswer({ sessionId, messageId, instanceId: "a" });
    expect(await acquire(deps, lease)).toBe(true);
    expect(await release(deps, answerOn(sessionId, "a"))).toBe(false);
    expect(await release(deps, forSwitch({ sessionId, instanceId: "a" }))).toBe(false);
    expect(await isHeldBy(deps, sessionId, messageId)).toBe(true);
    expect(await release(deps, lease)).toBe(true);
    expect(await release(deps, lease)).toBe(false);
    expect(await renew(deps, lease)).toBe(false);
    expect(await acquire(deps, answerOn(sessionId, "b"))).toBe(true);
  });
});
