/**
 * What the bench starts and stops: a fresh Postgres database, Parley instances from the production
 * build (`npm run serve`), the peer's reader server, and the cleanup of everything (database dropped,
 * Redis keys of the run's prefixes deleted, child processes killed).
 */
import { execFile, spawn, spawnSync, execSync, type ChildProcess } from "node:child_process";
import { promisify } from "node:util";
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Redis } from "ioredis";
import postgres from "postgres";
import { createRedisStore } from "../../server/platform/store/redis";
import { median, sleep } from "./stats";
import { createFreshDatabase, freePort, hasProductionBuild, startParleyServer, waitFor, type ParleyServer } from "../../scripts/localServers";

export const ROOT = path.resolve(new URL("../..", import.meta.url).pathname);
/** Where the Parley app to start lives (its production build in `.next/`): this tree unless `--app-dir` says otherwise. */
export let APP_DIR = ROOT;
export function setAppDir(dir: string) {
  APP_DIR = path.resolve(dir);
}
export const POSTGRES_ADMIN_URL = process.env.BENCH_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";

const execFileAsync = promisify(execFile);
const children = new Set<ChildProcess>();
const cleanups: Array<() => Promise<void>> = [];

/** Registers cleanup work; run in reverse order by `cleanupAll` (also on SIGINT). */
export function onCleanup(fn: () => Promise<void>) {
  cleanups.push(fn);
}

export async function cleanupAll() {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  children.clear();
  while (cleanups.length) {
    const fn = cleanups.pop()!;
    await fn().catch((error) => console.error(`[bench] cleanup failed: ${(error as Error).message}`));
  }
}

export { freePort, waitFor };

/** Builds the production bundle (`npm run build`) when there is none (never alongside another build). */
export function ensureBuild(force = false) {
  if (!force && hasProductionBuild(APP_DIR)) return;
  const running = spawnSync("pgrep", ["-f", "next build"], { encoding: "utf8" });
  if (running.stdout.trim()) throw new Error("Another `next build` is running; run the bench once it has finished");
  console.log("[bench] no production build: running `npm run build` …");
  const result = spawnSync("npm", ["run", "build"], {
    cwd: APP_DIR,
    stdio: "inherit",
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" },
  });
  if (result.status !== 0) throw new Error("`npm run build` failed");
}

/** A fresh database `parley_bench_<ts>`, dropped by `cleanupAll`. */
export async function createDatabase(): Promise<{ name: string; url: string }> {
  const database = await createFreshDatabase(POSTGRES_ADMIN_URL, "parley_bench");
  onCleanup(() => database.drop());
  return database;
}

/** Deletes every Redis key under `prefix` when the run ends. */
export function cleanupRedisPrefix(prefix: string) {
  onCleanup(async () => {
    const store = await createRedisStore(REDIS_URL);
    try {
      await store.delPattern(`${prefix}*`);
    } finally {
      await store.close();
    }
  });
}

export interface Instance extends ParleyServer {
  kind: "servers" | "embedded";
}

export interface StartOptions {
  kind: "servers" | "embedded";
  env: Record<string, string>;
  /** Node flags for the server process (e.g. `--cpu-prof`, `--import <probe>`). */
  nodeArgs?: string[];
  /** The port (a restarted instance takes its predecessor's); a free one by default. */
  port?: number;
}

/** The production build's server in APP_DIR, killed by `cleanupAll` if still running. */
export async function startParley(options: StartOptions): Promise<Instance> {
  const server = await startParleyServer({
    cwd: APP_DIR,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...options.env },
    nodeArgs: options.nodeArgs,
    port: options.port,
    echo: process.env.BENCH_VERBOSE ? options.kind : undefined,
  });
  children.add(server.process);
  return {
    ...server,
    kind: options.kind,
    async stop() {
      await server.stop();
      children.delete(server.process);
    },
  };
}

/**
 * Limits off in every Parley the bench starts: every call and every subscriber is the bench's one
 * key, so the per-key caps (calls a minute, open streams: 64 by default) would measure the limiter
 * instead of Parley.
 */
export const BENCH_LIMITS = { PARLEY_RATE_LIMIT_PER_MINUTE: "0", PARLEY_SEND_LIMIT_PER_MINUTE: "0", PARLEY_STREAMS_PER_KEY: "1000000" };

/**
 * A Parley instance's Prometheus metrics, read once: a series' value by name (unlabelled), or the
 * sum of all its labelled series.
 */
export async function scrapeMetrics(url: string): Promise<{ value(name: string): number; sum(name: string): number }> {
  const text = await (await fetch(`${url}/api/metrics`)).text();
  return {
    value: (name) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? NaN),
    sum: (name) => [...text.matchAll(new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, "gm"))].reduce((total, m) => total + Number(m[1]), 0),
  };
}

/** Starts a plain Node script of the bench (TypeScript through tsx, with `nodeArgs`) and waits for its `ready` line. */
export async function startScript(script: string, env: Record<string, string>, nodeArgs: string[] = []): Promise<{ process: ChildProcess; pid: number; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [...nodeArgs, "--import", "tsx", script], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  let out = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not start: ${out}`)), 30_000);
    child.stdout.on("data", (d) => {
      out += String(d);
      if (out.includes("ready")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr.on("data", (d) => (out += String(d)));
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with ${code}: ${out}`));
    });
  });
  return {
    process: child,
    pid: child.pid!,
    async stop() {
      child.kill("SIGTERM");
      children.delete(child);
    },
  };
}

/** CPU time (user + system) a process has used so far, in ms (Linux /proc, 10 ms ticks). */
export function cpuMsOf(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks * (1000 / 100);
}

/** CPU time (user + system, ms) every core of the machine has been busy so far (Linux /proc/stat; iowait counts as idle). */
export function machineBusyMs(): number {
  const [user, nice, system, , , irq, softirq, steal] = fs.readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  return (user! + nice! + system! + irq! + softirq! + steal!) * (1000 / 100);
}

/**
 * The pids of the processes named exactly `name`. Asynchronous: a synchronous pgrep stalls the
 * bench's event loop, and with it the receipt times of every subscriber it runs (scenario 9).
 */
async function pidsNamed(name: string): Promise<number[]> {
  // pgrep exits with 1 when nothing matches.
  const { stdout } = await execFileAsync("pgrep", ["-x", name]).catch(() => ({ stdout: "" }));
  return stdout.trim().split("\n").filter(Boolean).map(Number);
}

/** The pid of the local redis-server, when there is exactly one we can see (for CPU accounting). */
export async function redisPid(): Promise<number | null> {
  const pids = await pidsNamed("redis-server");
  return pids.length === 1 ? pids[0]! : null;
}

/** The local PostgreSQL server's processes now running, for `cpuMsOfAll`. */
export const postgresPids = () => pidsNamed("postgres");

/** CPU time (ms) used so far by those of `pids` still running (a process that exited is not counted). */
export function cpuMsOfAll(pids: number[]): number {
  return pids.reduce((sum, pid) => {
    try {
      return sum + cpuMsOf(pid);
    } catch {
      return sum;
    }
  }, 0);
}

/** Resident set size of a process in bytes (Linux). */
export function rssOf(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1] ?? NaN);
  return kb * 1024;
}

/** Node flags for a server whose RSS the bench samples after a full GC (`settledRss`): SIGUSR2 collects. */
export const GC_ON_SIGNAL_ARGS = ["--expose-gc", "--import", new URL("./gcOnSignal.mjs", import.meta.url).pathname];

/**
 * Median of 5 RSS samples (bytes), each after a full GC when the server was started with
 * GC_ON_SIGNAL_ARGS (`collect`), so they count what the server holds, not garbage not yet collected.
 */
export async function settledRss(pid: number, collect: boolean): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    if (collect) {
      process.kill(pid, "SIGUSR2");
      await sleep(300);
    }
    samples.push(rssOf(pid));
    await sleep(200);
  }
  return median(samples);
}

export const newPrefix = (what: string) => `parley:${what}${randomUUID().slice(0, 8)}:`;
export const bootstrapKey = () => `pk_bench_${randomUUID()}${randomUUID()}`.replaceAll("-", "");

export async function machineInfo(): Promise<Record<string, string | number>> {
  const info: Record<string, string | number> = {};
  const cpus = os.cpus();
  info.cores = cpus.length;
  info.cpu = cpus[0]?.model ?? "?";
  info["memory (GiB)"] = Math.round(os.totalmem() / 2 ** 30);
  info.os = `${os.type()} ${os.release()}`;
  info.node = process.version;
  try {
    const sql = postgres(POSTGRES_ADMIN_URL, { max: 1, onnotice: () => {} });
    const { server_version } = (await sql<{ server_version: string }[]>`show server_version`)[0]!;
    info.postgres = server_version;
    await sql.end();
  } catch (error) {
    info.postgres = `unreachable (${(error as Error).message})`;
  }
  try {
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    const server = await redis.info("server");
    info.redis = /redis_version:(\S+)/.exec(server)?.[1] ?? "?";
    redis.disconnect();
  } catch (error) {
    info.redis = `unreachable (${(error as Error).message})`;
  }
  info["load average at start"] = os.loadavg().map((l) => l.toFixed(2)).join(" ");
  try {
    const head = execSync("git rev-parse --short HEAD", { cwd: ROOT, encoding: "utf8" }).trim();
    const dirty = execSync("git status --porcelain -- server db app client", { cwd: ROOT, encoding: "utf8" }).trim() ? " (+ uncommitted changes)" : "";
    info.commit = head + dirty;
  } catch {
    info.commit = "?";
  }
  try {
    const id = path.join(APP_DIR, ".next/BUILD_ID");
    info.build = `${fs.readFileSync(id, "utf8").trim()} (built ${fs.statSync(id).mtime.toISOString()})${APP_DIR === ROOT ? "" : ` from ${APP_DIR}`}`;
  } catch {
    info.build = "?";
  }
  return info;
}
