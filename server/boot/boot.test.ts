/**
 * Parley started before its stores: the production build's server against ports nothing listens
 * on, then Redis and Postgres appearing there, with no restart. Needs `npm run build` first.
 */
import type { ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDb, migrationsFolder } from "../../db";
import { createParley } from "../../client";
import { createFreshDatabase, freePort, hasProductionBuild, startParleyServer, startRedisServer, waitFor, type ParleyServer } from "../../scripts/localServers";
import { adminUrl } from "../../scripts/test-database";

const BOOTSTRAP_KEY = `pk_test_${randomUUID()}${randomUUID()}`.replaceAll("-", "");
const cleanup: Array<() => unknown> = [];
afterAll(async () => {
  for (const step of cleanup.reverse()) await step();
});

let database: Awaited<ReturnType<typeof createFreshDatabase>>;
beforeAll(async () => {
  if (!hasProductionBuild()) throw new Error("No production build: run `npm run build` first (npm test does)");
  database = await createFreshDatabase(adminUrl, "parley_boot");
  cleanup.push(() => database.drop());
});

/** A TCP proxy on `port` to the machine's Postgres: the database "comes up" when it starts listening. */
function startPostgresProxy(port: number): Promise<{ close(): void }> {
  const target = new URL(adminUrl);
  const sockets = new Set<net.Socket>();
  const proxy = net.createServer((client) => {
    const upstream = net.connect(Number(target.port || 5432), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
    }
    client.pipe(upstream).pipe(client);
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
  });
  const close = () => {
    proxy.close();
    for (const socket of sockets) socket.destroy();
  };
  return new Promise((resolve) => proxy.listen(port, "127.0.0.1", () => resolve({ close })));
}

const healthOf = async (server: ParleyServer) => {
  const res = await fetch(`${server.url}/api/health`);
  return { status: res.status, body: (await res.json()) as { status: string; failing?: string[] } };
};

describe("a start before the stores", () => {
  it("waits for Postgres and Redis: 503 naming them, SERVICE_UNAVAILABLE calls, then serves with no restart", async () => {
    const [dbPort, redisPort] = [await freePort(), await freePort()];
    const dbUrl = new URL(database.url);
    dbUrl.host = `127.0.0.1:${dbPort}`;
    const t0 = performance.now();
    const at = () => `${((performance.now() - t0) / 1000).toFixed(1)} s`;
    const server = await startParleyServer({
      until: "live",
      env: {
        ...process.env,
        DATABASE_URL: dbUrl.toString(),
        REDIS_URL: `redis://127.0.0.1:${redisPort}`,
        PARLEY_REDIS_PREFIX: `parley:test${randomUUID().slice(0, 8)}:`,
        PARLEY_BOOTSTRAP_KEY: BOOTSTRAP_KEY,
        LOG_LEVEL: "info",
      },
    });
    cleanup.push(() => server.stop());
    const pid = server.pid;
    console.log(`[figure] boot: listening with no stores at ${at()}`);

    await waitFor(async () => (await healthOf(server)).body.failing?.length === 2, "health to name both stores", 15_000);
    expect(await healthOf(server)).toMatchObject({ status: 503, body: { status: "error", db: "postgres", redis: "redis", failing: ["db", "redis"] } });
    const sdk = createParley({ url: server.url, apiKey: BOOTSTRAP_KEY });
    await expect(sdk.client.auth.me.query()).rejects.toMatchObject({ data: { code: "SERVICE_UNAVAILABLE" } });

    const redis: ChildProcess = await startRedisServer(redisPort);
    cleanup.push(() => void redis.kill("SIGKILL"));
    console.log(`[figure] boot: redis-server up at ${at()}`);
    await waitFor(async () => (await healthOf(server)).body.failing?.join() === "db", "health to name only the database", 30_000);
    console.log(`[figure] boot: health names only db at ${at()}`);
    await expect(sdk.client.auth.me.query()).rejects.toMatchObject({ data: { code: "SERVICE_UNAVAILABLE" } });

    const proxy = await startPostgresProxy(dbPort);
    cleanup.push(() => proxy.close());
    console.log(`[figure] boot: Postgres reachable at ${at()}`);
    await waitFor(async () => (await healthOf(server)).status === 200, "health 200", 30_000);
    console.log(`[figure] boot: health 200 (migrated, bootstrapped) at ${at()}`);
    // Migrations and bootstrap ran: the owner key works; same process all along.
    expect((await sdk.client.auth.me.query()).user.role).toBe("owner");
    const session = await sdk.client.session.create.mutate({ title: "after the stores came up" });
    expect(session.title).toBe("after the stores came up");
    expect(server.pid).toBe(pid);
    expect(server.process.exitCode).toBeNull();
    const text = server.log.join("");
    expect(text).toMatch(/"msg":"waiting for the stores"/);
    expect(text).toMatch(/"msg":"stores answered, serving"/);
  }, 90_000);

  it("instances that come up together migrate one at a time", async () => {
    const fresh = await createFreshDatabase(adminUrl, "parley_migrate");
    try {
      const handles = await Promise.all([1, 2, 3].map(() => openDb({ url: fresh.url, max: 2 })));
      const journal = JSON.parse(fs.readFileSync(path.join(migrationsFolder, "meta/_journal.json"), "utf8")) as { entries: unknown[] };
      const applied = await handles[0]!.db.execute("select count(*)::int as n from drizzle.__drizzle_migrations");
      expect((applied as Array<{ n: number }>)[0]!.n).toBe(journal.entries.length);
      await Promise.all(handles.map((h) => h.close()));
    } finally {
      await fresh.drop();
    }
  }, 60_000);
});
