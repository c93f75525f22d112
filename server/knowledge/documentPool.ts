import { fork, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import type { Socket } from "node:net";
import { fileURLToPath } from "node:url";
import { AppError, badInput, rateLimited } from "../platform/errors";
import type { Logger } from "../platform/log";
import { WORKER_ROLE, type WorkerMessage } from "./documentWorker";
import type { PreparationRequest, PreparedDocument } from "./prepare";

/**
 * Prepares documents (parse, chunk, offline embedding) in a few child processes, off the event
 * loop and out of the server's memory: each process has its own memory cap (V8's heap limit, and
 * its resident size watched from here), so a document that exhausts it ends that process, not the
 * server, and its parse ends with a 400 naming the cap. A parse past its deadline is killed, and so
 * is one whose process stops using the CPU (a parser waiting on a promise that never settles:
 * pdf.js does, on some filter chains), so neither holds a process for long. A process that dies is
 * replaced; documents wait for a free process in a bounded queue, and beyond
 * it are refused like a rate limit (TOO_MANY_REQUESTS with Retry-After).
 *
 * The process runs the prebuilt `documentWorker.mjs` beside the bundle when there is one (build/,
 * made by `npm run build:server`), else `documentWorker.ts` through tsx (tests, dev).
 */

export interface DocumentPoolOptions {
  /** Documents prepared at once, each in a process of its own. */
  processes: number;
  /** Documents that may wait for a process; the next one is refused. */
  maxQueued: number;
  deadlineMs: number;
  /** Each process's memory: its V8 heap limit and, where /proc tells, its resident size. */
  memoryMb: number;
  log?: Logger;
  /** Called when a document is refused because the queue is full. */
  onQueueFull?: () => void;
}

export const DOCUMENT_POOL_DEFAULTS: Omit<DocumentPoolOptions, "log" | "onQueueFull"> = { processes: 2, maxQueued: 8, deadlineMs: 60_000, memoryMb: 512 };

export interface DocumentPool {
  prepare(request: PreparationRequest): Promise<PreparedDocument>;
  /** The ids of its processes now alive (busy, idle or starting). */
  readonly pids: number[];
  /** Documents being prepared now, and waiting for a process. */
  readonly running: number;
  readonly queued: number;
  close(): Promise<void>;
}

/** How long a document refused for a full queue is asked to wait. */
const QUEUE_FULL_RETRY_AFTER_SECONDS = 5;
/** How often a busy process's resident size and CPU time are read. */
const WATCH_MS = 100;
/** How long a parse may go without its process using any CPU before it counts as stalled. */
const STALL_MS = 5_000;

interface Worker {
  process: ChildProcess;
  ready: Promise<void>;
  wasReady: boolean;
  /** Killed here (deadline, memory): never handed out again, replaced once it has exited. */
  retired: boolean;
  exited: boolean;
  /** Ends the parse the process is running when it dies. */
  onExit?: (why: string, outOfMemory: boolean) => void;
  /** The end of its stderr, where V8 says it ran out of memory. */
  stderr: string;
}

export function createDocumentPool(options: Partial<DocumentPoolOptions> = {}): DocumentPool {
  const { processes, maxQueued, deadlineMs, memoryMb, log, onQueueFull } = { ...DOCUMENT_POOL_DEFAULTS, ...options };
  const workers = new Set<Worker>();
  const idle: Worker[] = [];
  const waiting: { resolve: (worker: Worker) => void; reject: (error: Error) => void }[] = [];
  let closed = false;
  let running = 0;

  const shuttingDown = () => new AppError("unavailable", "The server is shutting down; try again shortly");
  const outOfMemory = (field: string) => badInput(field, `The document needs more than ${memoryMb} MB of memory to read`);

  function start(): Worker {
    const { entry, execArgv } = workerEntry();
    const child = fork(entry, [WORKER_ROLE], {
      execArgv: [...execArgv, `--max-old-space-size=${memoryMb}`],
      // Nothing of the server's environment (keys, database URLs) is the parsers' business.
      env: { NODE_ENV: process.env.NODE_ENV ?? "production" },
      serialization: "advanced",
      // pdf.js warns on stdout, which is the server's JSON log: dropped.
      stdio: ["ignore", "ignore", "pipe", "ipc"],
    });
    const worker: Worker = { process: child, ready: Promise.resolve(), wasReady: false, retired: false, exited: false, stderr: "" };
    worker.ready = new Promise<void>((resolve, reject) => {
      child.once("message", () => {
        worker.wasReady = true;
        resolve();
      });
      child.once("exit", (code, signal) => reject(new Error(`The document process stopped before it was ready (${signal ?? `exit code ${code}`}): ${worker.stderr}`)));
    });
    worker.ready.catch(() => undefined);
    child.stderr!.on("data", (data: Buffer) => (worker.stderr = (worker.stderr + data.toString()).slice(-2048)));
    child.once("exit", (code, signal) => exited(worker, signal ?? `exit code ${code}`));
    // A process that could not start at all: 'exit' may not follow. (Other errors, of a kill or a
    // send to a process that is gone, are followed by its 'exit'.)
    child.on("error", (error) => child.pid === undefined && exited(worker, error.message));
    // Idle processes do not keep the server alive; a running parse does, through its deadline timer.
    child.unref();
    child.channel?.unref();
    (child.stderr as Socket).unref();
    workers.add(worker);
    return worker;
  }

  function exited(worker: Worker, why: string) {
    if (worker.exited) return;
    worker.exited = true;
    workers.delete(worker);
    const at = idle.indexOf(worker);
    if (at >= 0) idle.splice(at, 1);
    const ranOutOfMemory = /heap out of memory|Reached heap limit/i.test(worker.stderr);
    if (worker.onExit) worker.onExit(why, ranOutOfMemory);
    else if (!closed && !worker.retired) log?.warn({ pid: worker.process.pid, why, outOfMemory: ranOutOfMemory }, "an idle document process died");
    if (closed) return;
    // Replaced at once, unless it never got ready (then only when a document waits for it, so a
    // process that cannot start is not restarted in a loop).
    if (worker.wasReady || waiting.length > 0) release(start());
  }

  function release(worker: Worker) {
    if (worker.exited || worker.retired) return;
    if (closed) {
      worker.process.kill();
      return;
    }
    const next = waiting.shift();
    if (next) next.resolve(worker);
    else idle.push(worker);
  }

  function acquire(): Promise<Worker> | Worker {
    const free = idle.pop();
    if (free) return free;
    if (workers.size < processes) return start();
    if (waiting.length >= maxQueued) {
      onQueueFull?.();
      throw rateLimited("Too many documents are waiting to be read on this server; try again shortly", QUEUE_FULL_RETRY_AFTER_SECONDS);
    }
    return new Promise<Worker>((resolve, reject) => waiting.push({ resolve, reject }));
  }

  function run(worker: Worker, request: PreparationRequest): Promise<PreparedDocument> {
    const { field } = request;
    return new Promise<PreparedDocument>((resolve, reject) => {
      let settled = false;
      const settle = (finish: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        clearInterval(watch);
        worker.process.off("message", onReply);
        worker.onExit = undefined;
        finish();
      };
      const kill = (error: Error) => {
        settle(() => reject(error));
        worker.retired = true;
        worker.process.kill("SIGKILL");
      };
      const deadline = setTimeout(() => kill(badInput(field, `The document took longer than ${deadlineMs / 1000} seconds to read`)), deadlineMs);
      let sent = false;
      let cpu = -1;
      let progressed = Date.now();
      const watch = setInterval(() => {
        void usageOf(worker.process.pid).then((usage) => {
          if (settled || !usage) return;
          if (usage.residentMb > memoryMb) return kill(outOfMemory(field));
          if (usage.cpuTicks !== cpu || !sent) {
            cpu = usage.cpuTicks;
            progressed = Date.now();
          } else if (Date.now() - progressed > STALL_MS) kill(badInput(field, "The document could not be read: its reader stopped making progress"));
        });
      }, WATCH_MS);
      watch.unref();
      const onReply = (reply: WorkerMessage) => {
        if (reply === "ready") return;
        settle(() => {
          if (reply.ok) resolve(reply.prepared);
          else if (reply.refused) reject(badInput(reply.field ?? field, reply.message));
          else reject(new Error(`Preparing the document failed: ${reply.message}`));
        });
      };
      worker.onExit = (why, ranOutOfMemory) =>
        settle(() => {
          if (closed) return reject(shuttingDown());
          log?.warn({ pid: worker.process.pid, why, outOfMemory: ranOutOfMemory }, "a document process died reading a document");
          reject(outOfMemory(field));
        });
      worker.ready.then(
        () => {
          if (settled) return;
          worker.process.on("message", onReply);
          // A send that fails means the process is gone: its 'exit' ends the parse.
          worker.process.send(request, () => undefined);
          sent = true;
        },
        (error: Error) => settle(() => reject(closed ? shuttingDown() : error)),
      );
    });
  }

  return {
    async prepare(request) {
      if (closed) throw shuttingDown();
      const worker = await acquire();
      running++;
      try {
        return await run(worker, request);
      } finally {
        running--;
        release(worker);
      }
    },
    get running() {
      return running;
    },
    get queued() {
      return waiting.length;
    },
    get pids() {
      return [...workers].map((w) => w.process.pid).filter((pid): pid is number => pid !== undefined);
    },
    async close() {
      closed = true;
      for (const waiter of waiting.splice(0)) waiter.reject(shuttingDown());
      await Promise.all(
        [...workers].map(
          (worker) =>
            new Promise<void>((resolve) => {
              worker.process.once("exit", () => resolve());
              if (worker.exited || !worker.process.kill()) resolve();
            }),
        ),
      );
    },
  };
}

/** The script a document process runs, and the Node flags it needs. */
function workerEntry(): { entry: string; execArgv: string[] } {
  // Not `new URL("./…", import.meta.url)`: bundlers would take that for an asset to copy.
  const beside = (file: string) => fileURLToPath(new URL(file, import.meta.url));
  const built = beside("documentWorker.mjs");
  if (existsSync(built)) return { entry: built, execArgv: [] };
  return { entry: beside("documentWorker.ts"), execArgv: ["--import", "tsx"] };
}

/** A process's resident size (MB) and the CPU time it has used (clock ticks), from /proc; null where there is none. */
async function usageOf(pid: number | undefined): Promise<{ residentMb: number; cpuTicks: number } | null> {
  if (pid === undefined || process.platform !== "linux") return null;
  const [status, stat] = await Promise.all([readFile(`/proc/${pid}/status`, "utf8"), readFile(`/proc/${pid}/stat`, "utf8")]).catch(() => ["", ""]);
  const resident = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
  // After the command name (in parentheses): state, then utime and stime as the 12th and 13th fields.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  if (resident === undefined || fields.length < 13) return null;
  return { residentMb: Number(resident) / 1024, cpuTicks: Number(fields[11]) + Number(fields[12]) };
}
