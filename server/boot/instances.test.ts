/**
 * Several real Parley instances (the production build's server) sharing one Postgres database and
 * Redis: once on a redis-server this suite starts (so it can be restarted), once on a real
 * 3-master Redis Cluster (REDIS_CLUSTER_NODES) it starts too.
 * Needs `npm run build` first; `npm test` builds before it runs vitest.
 */
import { execFile, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createParley, followAnswer } from "../../client";
import { createFreshDatabase, freePort, hasProductionBuild, startParleyServer, startRedisServer, waitFor, type ParleyServer } from "../../scripts/localServers";
import { startRedisCluster, type RedisCluster } from "../../scripts/redisCluster";
import { adminUrl } from "../../scripts/test-database";
import type { StreamEvent } from "../chat/events";

const BOOTSTRAP_KEY = `pk_test_${randomUUID()}${randomUUID()}`.replaceAll("-", "");
const children: ChildProcess[] = [];

let redisPort: number;
let redis: ChildProcess | null = null;
async function startRedis() {
  redis = await startRedisServer(redisPort);
  children.push(redis);
}
function stopRedis() {
  redis?.kill("SIGKILL");
  redis = null;
}

type Instance = ParleyServer;
/** How the instances reach Redis: the suite's own redis-server, or the cluster's nodes. */
let redisEnv: { REDIS_URL: string } | { REDIS_CLUSTER_NODES: string };
async function startInstance(databaseUrl: string, prefix: string, extraEnv: Record<string, string> = {}): Promise<Instance> {
  const { REDIS_URL: _url, REDIS_CLUSTER_NODES: _nodes, ...inherited } = process.env;
  const server = await startParleyServer({
    env: {
      ...inherited,
      DATABASE_URL: databaseUrl,
      ...redisEnv,
      PARLEY_REDIS_PREFIX: prefix,
      PARLEY_BOOTSTRAP_KEY: BOOTSTRAP_KEY,
      PARLEY_OFFLINE_TOKEN_DELAY_MS: "25",
      ...extraEnv,
    },
  });
  children.push(server.process);
  return server;
}

afterAll(() => {
  for (const child of children) child.kill("SIGKILL");
});

const backends = [
  { name: "one Redis", cluster: false },
  { name: "a 3-master Redis Cluster", cluster: true },
];

const sdk = (instance: Instance) => createParley({ url: instance.url, apiKey: BOOTSTRAP_KEY });
type Event = StreamEvent & { eventId: string };
const textOf = (events: Event[]) => events.flatMap((e) => (e.type === "answer" ? [e.delta] : [])).join("");

describe.each(backends)("two instances, one Postgres, on $name", ({ cluster: onCluster }) => {
  let databaseUrl: string;
  let prefix: string;
  let a: Instance;
  let b: Instance;
  let cluster: RedisCluster | null = null;
  let ownDatabase: Awaited<ReturnType<typeof createFreshDatabase>> | null = null;
  beforeAll(async () => {
    if (!hasProductionBuild()) throw new Error("No production build: run `npm run build` first (npm test does)");
    prefix = `parley:test${randomUUID().slice(0, 8)}:`;
    if (onCluster) {
      // A database of its own: the other backend's instances must not sweep this one's answers.
      ownDatabase = await createFreshDatabase(adminUrl, "parley_test");
      databaseUrl = ownDatabase.url;
      cluster = await startRedisCluster();
      redisEnv = { REDIS_CLUSTER_NODES: cluster.urls.join(",") };
    } else {
      databaseUrl = inject("databaseUrl");
      redisPort = await freePort();
      await startRedis();
      redisEnv = { REDIS_URL: `redis://127.0.0.1:${redisPort}` };
    }
    a = await startInstance(databaseUrl, prefix);
    b = await startInstance(databaseUrl, prefix);
  }, 120_000);

  afterAll(async () => {
    for (const instance of [a, b]) instance?.process.kill("SIGKILL");
    stopRedis();
    await cluster?.stop();
    await ownDatabase?.drop();
  }, 60_000);

  it("serves /api/health naming the real back ends", async () => {
    const res = await fetch(`${a.url}/api/health`);
    // These machines' Postgres has no pgvector: vectors fall back to plain arrays.
    expect(await res.json()).toEqual({ status: "ok", db: "postgres", redis: "redis", vectors: "array" });
  });

  it("the SDK example in client/README.md runs: ask streams an answer, sessions() pages through all", async () => {
    const onA = sdk(a);
    for (let i = 0; i < 120; i++) await onA.client.session.create.mutate({ title: "SDK example" });
    const output = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ["--import", "tsx", "client/example.ts"], { env: { ...process.env, PARLEY_URL: a.url, PARLEY_KEY: BOOTSTRAP_KEY }, timeout: 60_000 }, (error, stdout) =>
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- an ExecFileException is an Error (typed as an Omit<> of one)
        error ? reject(error) : resolve(stdout),
      ),
    );
    expect(output).toMatch(/load balancer/);
    expect(output).toMatch(/— Parley offline model \(built-in\), \d+ ms/);
    // 120 made here plus the example's own: more than one page of 100.
    expect(output).toContain('sessions titled "SDK example": 121');
  });

  it("a key revoked on one instance is refused on the other within moments, despite its cache", async () => {
    const onA = sdk(a);
    const { user, apiKey } = await onA.client.admin.users.create.mutate({ name: `rev-${randomUUID().slice(0, 8)}`, role: "member" });
    const memberOnB = createParley({ url: b.url, apiKey });
    expect((await memberOnB.client.auth.me.query()).user.id).toBe(user.id); // now cached on B
    const [key] = (await onA.client.admin.apiKeys.list.query({ userId: user.id })).items;
    await onA.client.admin.apiKeys.revoke.mutate({ id: key!.id });
    // On one Redis the signal reaches B before PUBLISH returns; a cluster relays it between nodes
    // over its bus, a few milliseconds later (still far inside the key cache's TTL).
    const revokedAt = performance.now();
    await waitFor(
      () => memberOnB.client.auth.me.query().then(() => false, (error: { data?: { code?: string } }) => error.data?.code === "UNAUTHORIZED"),
      "the revocation to reach B",
      2000,
    );
    expect(performance.now() - revokedAt).toBeLessThan(2000);
  });

  it("send on one instance, stream the whole answer on the other", async () => {
    const onA = sdk(a);
    const onB = sdk(b);
    const s = await onA.client.session.create.mutate({ title: "cross" });
    const turn = await onA.client.chat.send.mutate({ sessionId: s.id, query: "How do I scale Parley out?" });
    const events: Event[] = [];
    for await (const e of followAnswer(onB.client, { sessionId: s.id, messageId: turn.assistantMessage.id })) events.push(e);
    expect(events[0]!.type).toBe("start");
    const last = events.at(-1)!;
    expect(last.type).toBe("complete");
    const stored = await onB.client.message.list.query({ sessionId: s.id });
    expect(stored.items[1]!.content).toBe(textOf(events));
  });

  it("stop on the other instance ends the stream promptly, text kept", async () => {
    const onA = sdk(a);
    const onB = sdk(b);
    const s = await onA.client.session.create.mutate({ title: "stop across" });
    const turn = await onA.client.chat.send.mutate({ sessionId: s.id, query: "Explain how stopping an answer works across instances" });
    const events: Event[] = [];
    let stopAt = 0;
    let endAt = 0;
    for await (const e of followAnswer(onB.client, { sessionId: s.id, messageId: turn.assistantMessage.id })) {
      events.push(e);
      if (e.type === "answer" && stopAt === 0 && events.length > 4) {
        stopAt = performance.now();
        void onB.client.chat.stop.mutate({ sessionId: s.id, messageId: turn.assistantMessage.id });
      }
      if (e.type === "stop") endAt = performance.now();
    }
    expect(events.at(-1)!.type).toBe("stop");
    const stored = (await onA.client.message.list.query({ sessionId: s.id })).items[1];
    expect(stored!.status).toBe("stopped");
    expect(stored!.content).toBe(textOf(events));
    console.log(`[figure] chat.stop on B → stop event on B's stream (answer produced on A): ${(endAt - stopAt).toFixed(1)} ms`);
    expect(endAt - stopAt).toBeLessThan(2000);
  });

  it("a subscriber that reconnects to the other instance gets exactly the missed events", async () => {
    const onA = sdk(a);
    const onB = sdk(b);
    const s = await onA.client.session.create.mutate({ title: "resume across" });
    const turn = await onA.client.chat.send.mutate({ sessionId: s.id, query: "What survives a dropped connection?" });
    const input = { sessionId: s.id, messageId: turn.assistantMessage.id };
    const before: Event[] = [];
    const drop = new AbortController();
    for await (const e of followAnswer(onA.client, input, drop.signal)) {
      before.push(e);
      if (before.length === 5) drop.abort();
    }
    await new Promise((r) => setTimeout(r, 300)); // events keep coming while we are away
    const reconnectAt = performance.now();
    let firstAt = 0;
    const after: Event[] = [];
    for await (const e of followAnswer(onB.client, { ...input, lastEventId: before.at(-1)!.eventId })) {
      if (after.length === 0) firstAt = performance.now();
      after.push(e);
    }
    console.log(`[figure] reconnect with lastEventId on the other instance → first missed event: ${(firstAt - reconnectAt).toFixed(1)} ms`);
    const full: Event[] = [];
    for await (const e of followAnswer(onB.client, input)) full.push(e);
    // Delivery may merge answer deltas differently per connection: the same events and the same text.
    const resumed = [...before, ...after];
    expect(resumed.filter((e) => e.type !== "answer")).toEqual(full.filter((e) => e.type !== "answer"));
    expect(textOf(resumed)).toBe(textOf(full));
    expect(resumed.at(-1)!.eventId).toBe(full.at(-1)!.eventId);
  });

  it("SIGKILL of the producing instance: the survivor marks the answer interrupted within 30 s, text kept", async () => {
    const victim = await startInstance(databaseUrl, prefix);
    const onVictim = sdk(victim);
    const onB = sdk(b);
    const s = await onVictim.client.session.create.mutate({ title: "crash" });
    const turn = await onVictim.client.chat.send.mutate({ sessionId: s.id, query: "Tell me everything about how Parley streams answers" });
    const seen: Event[] = [];
    const events = followAnswer(onB.client, { sessionId: s.id, messageId: turn.assistantMessage.id });
    let killedAt = 0;
    for await (const e of events) {
      seen.push(e);
      if (seen.filter((x) => x.type === "answer").length === 5 && killedAt === 0) {
        victim.process.kill("SIGKILL");
        killedAt = performance.now();
      }
    }
    const endedAt = performance.now();
    const last = seen.at(-1)!;
    expect(last).toMatchObject({ type: "error", stage: "instance" });
    expect(endedAt - killedAt).toBeLessThan(30_000);
    console.log(`[figure] SIGKILL → survivor's error event: ${((endedAt - killedAt) / 1000).toFixed(1)} s`);
    const stored = (await onB.client.message.list.query({ sessionId: s.id })).items[1];
    expect(stored!.status).toBe("interrupted");
    expect(stored!.content).toBe(textOf(seen));
    expect(stored!.content.length).toBeGreaterThan(0);
    // The session is free again.
    const next = await onB.client.chat.send.mutate({ sessionId: s.id, query: "Still there?" });
    expect(next.assistantMessage.status).toBe("streaming");
  }, 60_000);

  it("a regenerated answer whose producer is SIGKILLed is followed to its end on the survivor, kept as an interrupted version", async () => {
    const victim = await startInstance(databaseUrl, prefix);
    const onVictim = sdk(victim);
    const onB = sdk(b);
    const s = await onB.client.session.create.mutate({ title: "regenerate crash" });
    const turn = await onB.client.chat.send.mutate({ sessionId: s.id, query: "How do answers survive a crashed instance?" });
    for await (const e of followAnswer(onB.client, { sessionId: s.id, messageId: turn.assistantMessage.id })) if (e.type === "error") throw new Error(e.message);
    const regenerated = await onVictim.client.chat.regenerate.mutate({ sessionId: s.id, messageId: turn.assistantMessage.id });
    const seen: Event[] = [];
    let killedAt = 0;
    for await (const e of followAnswer(onB.client, { sessionId: s.id, messageId: regenerated.assistantMessage.id })) {
      seen.push(e);
      if (seen.filter((x) => x.type === "answer").length === 5 && killedAt === 0) {
        victim.process.kill("SIGKILL");
        killedAt = performance.now();
      }
    }
    expect(seen[0]).toMatchObject({ type: "start", messageId: regenerated.assistantMessage.id });
    expect(seen.at(-1)).toMatchObject({ type: "error", stage: "instance" });
    expect(performance.now() - killedAt).toBeLessThan(30_000);
    const versions = (await onB.client.message.siblings.query({ messageId: turn.assistantMessage.id })).items;
    expect(versions.map((m) => [m.id, m.status])).toEqual([
      [turn.assistantMessage.id, "completed"],
      [regenerated.assistantMessage.id, "interrupted"],
    ]);
    expect(versions[1]!.content).toBe(textOf(seen));
    expect((await onB.client.session.get.query({ id: s.id })).activeLeafId).toBe(regenerated.assistantMessage.id);
    // The session is free again: another version starts on the survivor.
    const again = await onB.client.chat.regenerate.mutate({ sessionId: s.id, messageId: turn.assistantMessage.id });
    expect(again.assistantMessage.siblings).toEqual({ index: 3, count: 3 });
  }, 60_000);

  it("SIGTERM drains: new work is refused, a subscriber on B sees A's unfinished answer end within the drain time, A exits 0", async () => {
    const drainer = await startInstance(databaseUrl, prefix, { PARLEY_DRAIN_SECONDS: "1", PARLEY_OFFLINE_TOKEN_DELAY_MS: "100" });
    const onDrainer = sdk(drainer);
    const onB = sdk(b);
    const s = await onDrainer.client.session.create.mutate({ title: "drain" });
    const turn = await onDrainer.client.chat.send.mutate({ sessionId: s.id, query: "Tell me everything about how Parley streams answers" });
    const seen: Event[] = [];
    let termAt = 0;
    for await (const e of followAnswer(onB.client, { sessionId: s.id, messageId: turn.assistantMessage.id })) {
      seen.push(e);
      if (seen.filter((x) => x.type === "answer").length === 3 && termAt === 0) {
        drainer.process.kill("SIGTERM");
        termAt = performance.now();
        await waitFor(async () => (await fetch(`${drainer.url}/api/health`)).status === 503, "health 503 while draining", 900);
        const refused = await fetch(`${drainer.url}/api/trpc/auth.me`, { headers: { authorization: `Bearer ${BOOTSTRAP_KEY}` } });
        expect(refused.status).toBe(503);
        expect(refused.headers.get("retry-after")).toBeTruthy();
      }
    }
    const endedAt = performance.now();
    expect(seen.at(-1)).toMatchObject({ type: "error", stage: "instance" });
    console.log(`[figure] SIGTERM (PARLEY_DRAIN_SECONDS=1) → B's subscriber sees the error event: ${((endedAt - termAt) / 1000).toFixed(2)} s`);
    expect(endedAt - termAt).toBeLessThan(1000 + 2000);
    expect(await drainer.exited).toBe(0);
    console.log(`[figure] SIGTERM → drained instance exited 0 after ${((performance.now() - termAt) / 1000).toFixed(2)} s`);
    const stored = (await onB.client.message.list.query({ sessionId: s.id })).items[1];
    expect(stored!.status).toBe("interrupted");
    expect(stored!.content).toBe(textOf(seen));
    expect(stored!.content.length).toBeGreaterThan(0);
  }, 60_000);

  // Restarting the one Redis server; a cluster's outage and failover are out of scope.
  if (!onCluster)
  it("Redis down: a running answer completes in Postgres, chat.send is SERVICE_UNAVAILABLE storing nothing, and works once Redis is back", async () => {
    const onA = sdk(a);
    const s = await onA.client.session.create.mutate({ title: "redis outage" });
    await onA.client.chat.send.mutate({ sessionId: s.id, query: "How does the LLM context work?" });
    await new Promise((r) => setTimeout(r, 150));
    stopRedis();
    await waitFor(async () => {
      const items = (await onA.client.message.list.query({ sessionId: s.id })).items;
      return items[1]!.status === "completed";
    }, "the answer to complete in Postgres", 30_000);
    const done = (await onA.client.message.list.query({ sessionId: s.id })).items[1];
    expect(done!.content.length).toBeGreaterThan(20);
    const health = await fetch(`${a.url}/api/health`);
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ status: "error", failing: ["redis"] });
    const other = await onA.client.session.create.mutate({ title: "while down" });
    await expect(onA.client.chat.send.mutate({ sessionId: other.id, query: "Anyone?" })).rejects.toMatchObject({ data: { code: "SERVICE_UNAVAILABLE" } });
    expect((await onA.client.message.list.query({ sessionId: other.id })).items).toEqual([]);
    await startRedis();
    await waitFor(async () => (await fetch(`${a.url}/api/health`)).status === 200, "health after Redis is back", 20_000);
    const again = await onA.client.chat.send.mutate({ sessionId: other.id, query: "Back?" });
    const events: Event[] = [];
    for await (const e of followAnswer(onA.client, { sessionId: other.id, messageId: again.assistantMessage.id })) events.push(e);
    expect(events.at(-1)!.type).toBe("complete");
  }, 90_000);
});
