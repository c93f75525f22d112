/**
 * Starting real Parley pieces on this machine, shared by the test suites and the bench: a free
 * port, waiting for readiness, a fresh Postgres database, and the server of the production build.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import postgres from "postgres";

/** The server entry `npm run build` bundles (server/boot/main.ts), beside Next's build in `.next/`. */
export const SERVER_ENTRY = "build/server.mjs";

/**
 * The Node flags the server runs with (as `npm start` and `npm run serve` give them, package.json):
 * a young generation of 32 MB semi-spaces instead of V8's 16, so the garbage of many live answers
 * is collected half as often (bench s9: GC from 7 % to 4 % of the time at 300 answers, CPU per delta
 * 15 % lower) for up to ~50 MB more resident memory under load.
 */
export const SERVER_NODE_FLAGS = ["--max-semi-space-size=32"];

/** Whether `dir` holds a complete production build (`npm run build`): Next's pages and the server bundle. */
export function hasProductionBuild(dir = ".") {
  return fs.existsSync(path.join(dir, ".next/BUILD_ID")) && fs.existsSync(path.join(dir, SERVER_ENTRY));
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

/** Polls `check` every 100 ms until it is true; a throwing check counts as not yet. */
export async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
export function isListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1", () => {
      socket.end();
      resolve(true);
    });
    socket.on("error", () => resolve(false));
  });
}

/** SIGTERM, then SIGKILL if the process has not exited within `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await Promise.race([exited, new Promise((r) => setTimeout(r, graceMs))]);
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
}

/** A throwaway redis-server on `port` (no persistence), ready once it accepts connections. */
export async function startRedisServer(port: number): Promise<ChildProcess> {
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" });
  await waitFor(() => isListening(port), `redis-server on ${port}`);
  return child;
}

/** A new database named `<prefix>_<ts>_<rand>` on the server of `adminUrl`, and how to drop it. */
export async function createFreshDatabase(adminUrl: string, prefix: string) {
  const name = `${prefix}_${Date.now()}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = () => postgres(adminUrl, { max: 1, onnotice: () => {} });
  const create = admin();
  try {
    await create.unsafe(`create database ${name}`);
  } finally {
    await create.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    async drop() {
      const drop = admin();
      try {
        await drop.unsafe(`drop database if exists ${name} with (force)`);
      } finally {
        await drop.end();
      }
    },
  };
}

export interface ParleyServer {
  url: string;
  port: number;
  pid: number;
  process: ChildProcess;
  /** The server's recent output, for error messages. */
  log: string[];
  /** SIGTERM, then SIGKILL if it has not exited within 8 s. */
  stop(): Promise<void>;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
}

/** The production build's server (`npm run serve`) in `cwd`, ready once `GET /api/health` answers 200. */
export async function startParleyServer(options: {
  /** The server's whole environment (production settings are added). */
  env: Record<string, string | undefined>;
  /** Node flags for the server process (e.g. `--cpu-prof`, `--import <module>`). */
  nodeArgs?: string[];
  cwd?: string;
  /** Also copies the server's output to stderr, prefixed. */
  echo?: string;
  /** What to wait for: `ready` (default: `/api/health` 200) or `live` (`?live=1`: listening, stores or not). */
  until?: "ready" | "live";
  /** The port to listen on (a restart takes its predecessor's); a free one by default. */
  port?: number;
}): Promise<ParleyServer> {
  const port = options.port ?? (await freePort());
  const log: string[] = [];
  const child = spawn(process.execPath, [...SERVER_NODE_FLAGS, ...(options.nodeArgs ?? []), SERVER_ENTRY, "-p", String(port), "-H", "127.0.0.1"], {
    cwd: options.cwd,
    env: { ...options.env, NODE_ENV: "production", NEXT_TELEMETRY_DISABLED: "1", PORT: String(port) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const keep = (d: Buffer) => {
    log.push(String(d));
    if (log.length > 500) log.splice(0, log.length - 500);
    if (options.echo) process.stderr.write(`[${options.echo}] ${String(d)}`);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}`);
      return (await fetch(`${url}/api/health${options.until === "live" ? "?live=1" : ""}`)).status === 200;
    }, `Parley on ${port}`, 90_000);
  } catch (error) {
    child.kill("SIGKILL");
    throw new Error(`${(error as Error).message}\n${log.join("").slice(-3000)}`);
  }
  return {
    url,
    port,
    pid: child.pid!,
    process: child,
    log,
    exited,
    stop: () => stopChild(child, 8000),
  };
}
