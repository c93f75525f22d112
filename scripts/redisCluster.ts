/**
 * A real Redis Cluster of three masters on this machine, for the test suites: `redis-server
 * --cluster-enabled yes` on free ports (each with its bus port, port + 10000, free too), joined by
 * `redis-cli --cluster create`, ready once every node reports `cluster_state:ok`. `stop()` kills the
 * servers and removes their directory. Nothing is persisted (no RDB, no AOF).
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { Redis } from "ioredis";
import { freePort, stopChild, waitFor } from "./localServers";

/** Redis Cluster's bus listens on the client port + 10000. */
const BUS_PORT_OFFSET = 10_000;

export interface RedisCluster {
  /** `redis://127.0.0.1:<port>` of each master, as REDIS_CLUSTER_NODES takes them. */
  urls: string[];
  stop(): Promise<void>;
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** A free port whose cluster bus port is free as well. */
async function freeClusterPort(taken: Set<number>): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = await freePort();
    if (port + BUS_PORT_OFFSET > 65_535 || taken.has(port) || taken.has(port + BUS_PORT_OFFSET)) continue;
    if (await portIsFree(port + BUS_PORT_OFFSET)) return port;
  }
  throw new Error("no free port pair for a Redis Cluster node");
}

/** Runs a command to its end; rejects with its output when it fails. */
function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(" ")} exited with ${code}:\n${output}`))));
  });
}

async function clusterInfo(port: number): Promise<string> {
  const client = new Redis({ port, host: "127.0.0.1", lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  // Refused while the server starts: `connect()` rejects, and that is all.
  client.on("error", () => {});
  try {
    await client.connect();
    return (await client.call("CLUSTER", "INFO")) as string;
  } finally {
    client.disconnect();
  }
}

export async function startRedisCluster({ masters = 3 }: { masters?: number } = {}): Promise<RedisCluster> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "parley-redis-cluster-"));
  const servers: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(servers.map((child) => stopChild(child, 5000)));
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    const taken = new Set<number>();
    const ports: number[] = [];
    for (let i = 0; i < masters; i++) {
      const port = await freeClusterPort(taken);
      taken.add(port).add(port + BUS_PORT_OFFSET);
      ports.push(port);
    }
    for (const port of ports) {
      const child = spawn(
        "redis-server",
        [
          "--port", String(port),
          "--bind", "127.0.0.1",
          "--cluster-enabled", "yes",
          "--cluster-config-file", path.join(dir, `nodes-${port}.conf`),
          "--dir", dir,
          "--save", "",
          "--appendonly", "no",
          "--daemonize", "no",
        ],
        { stdio: ["ignore", "ignore", "pipe"] },
      );
      servers.push(child);
    }
    await Promise.all(
      ports.map((port, i) =>
        waitFor(async () => {
          if (servers[i]!.exitCode !== null) throw new Error(`redis-server on ${port} exited`);
          return (await clusterInfo(port)).length > 0;
        }, `redis-server on ${port}`, 15_000),
      ),
    );
    await run("redis-cli", ["--cluster", "create", ...ports.map((p) => `127.0.0.1:${p}`), "--cluster-replicas", "0", "--cluster-yes"]);
    await Promise.all(ports.map((port) => waitFor(async () => (await clusterInfo(port)).includes("cluster_state:ok"), `cluster_state:ok on ${port}`, 30_000)));
    return { urls: ports.map((port) => `redis://127.0.0.1:${port}`), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
