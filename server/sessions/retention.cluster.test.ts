import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { defaultAgentConfig, defaultContextConfig, defaultStrategy, defaultSummaryParameters } from "../../common/settings";
import { messages, sessions } from "../../db/schema";
import type { App } from "../boot/app";
import { existingKeys, keysOf } from "../testing/sessionKeys";
import { createTestApp, createTestTenant } from "../testing/app";
import { DELETE_BATCH } from "./removal";
import { sweepExpiredSessions } from "./retention";

/**
 * The retention sweep's lock on a real 3-master Redis Cluster (the `cluster` project): two
 * instances sharing the cluster never sweep at once, and the sessions' keys, spread over every
 * slot, go by name.
 */
const prefix = `parley:test${randomUUID().slice(0, 8)}:`;
let a: App;
let b: App;
beforeAll(async () => {
  const env = { REDIS_CLUSTER_NODES: inject("redisClusterNodes").join(","), PARLEY_REDIS_PREFIX: prefix };
  [a, b] = await Promise.all([createTestApp(env), createTestApp(env)]);
});
afterAll(async () => {
  await a?.store.delPattern(`${prefix}*`);
  await Promise.all([a?.close(), b?.close()]);
});

describe("the retention sweep on a Redis Cluster", () => {
  it("runs on one instance at a time and deletes the keys of every slot by name", async () => {
    const t = await createTestTenant(a);
    const me = await (await t.addUser("member")).api.auth.me();
    const at = new Date(Date.now() - 10 * 86_400_000);
    const base = { tenantId: t.tenant.id, userId: me.user.id, strategy: defaultStrategy(), summaryParameters: defaultSummaryParameters(), agentConfig: defaultAgentConfig(), contextConfig: defaultContextConfig(), updatedAt: at };
    const ids = (await a.db.insert(sessions).values(Array.from({ length: 2 * DELETE_BATCH }, () => base)).returning({ id: sessions.id })).map((r) => r.id);
    // Each session has an answer, and in the store its context and that answer's stream.
    const answers = ids.map((sessionId) => ({ id: randomUUID(), sessionId, tenantId: base.tenantId, userId: base.userId, requestId: randomUUID(), role: "assistant" as const, status: "completed" as const }));
    await a.db.insert(messages).values(answers);
    const keys = await Promise.all(
      answers.map(async ({ id, sessionId }) => {
        await Promise.all([a.store.set(a.keys.context(sessionId), "[]", 600), a.store.append(a.keys.stream(sessionId, id), [{ type: "start" }], 600)]);
        return keysOf(a, sessionId, [id]);
      }),
    );
    expect((await existingKeys(a, keys.flat())).length).toBe(2 * ids.length);
    await t.owner.api.admin.tenant.update({ retentionDays: 1 });

    const first = sweepExpiredSessions(a);
    let sweeping = true;
    void first.finally(() => (sweeping = false));
    const attempts: unknown[] = [];
    while (sweeping) {
      const attempt = await sweepExpiredSessions(b);
      if (sweeping) attempts.push(attempt);
    }
    expect(await first).toMatchObject({ retention: ids.length, batches: 2 });
    expect(attempts.length).toBeGreaterThan(0);
    expect(attempts.every((attempt) => attempt === null)).toBe(true);
    expect(await sweepExpiredSessions(b)).toMatchObject({ retention: 0 });
    expect(await existingKeys(a, keys.flat())).toEqual([]);
  });
});
