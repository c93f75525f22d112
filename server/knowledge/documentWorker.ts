import { existsSync } from "node:fs";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { AppError, badInput } from "../errors";
import { prepareDocument, type PreparationRequest, type PreparedDocument } from "./prepare";

/**
 * Runs prepareDocument (parse, chunk, offline embedding) in a worker thread with a memory limit
 * and a deadline, so a slow or hostile document never stalls the server's event loop. This one
 * module is both sides: the server calls `prepareInWorker`; as a worker it serves one request.
 *
 * The worker script is the prebuilt `documentWorker.mjs` beside the bundle when there is one
 * (build/, made by `npm run build:server`), else this TypeScript file run through tsx (tests, dev).
 */

export interface WorkerLimits {
  deadlineMs: number;
  /** The worker's V8 heap; large buffers are bounded by the parsers' own limits (parse.ts). */
  memoryMb: number;
}

export const DOCUMENT_LIMITS: WorkerLimits = { deadlineMs: 60_000, memoryMb: 512 };
/** Documents prepared at once; more wait their turn (each worker may use DOCUMENT_LIMITS.memoryMb). */
const CONCURRENT_WORKERS = 2;
const ROLE = "parley-document-worker";

type Reply = { ok: true; prepared: PreparedDocument } | { ok: false; field?: string; message: string; refused: boolean };

function startWorker(memoryMb: number): Worker {
  const options = { workerData: ROLE, resourceLimits: { maxOldGenerationSizeMb: memoryMb } };
  const built = new URL("./documentWorker.mjs", import.meta.url);
  if (existsSync(built)) return new Worker(built, options);
  // Node 20 does not apply `--import tsx` to a worker's entry, so the worker registers tsx first.
  const source = `import("tsx/esm/api").then(({ register }) => { register(); return import(${JSON.stringify(import.meta.url)}); })`;
  return new Worker(source, { ...options, eval: true });
}

let running = 0;
const waiting: (() => void)[] = [];

export async function prepareInWorker(request: PreparationRequest, limits: WorkerLimits = DOCUMENT_LIMITS): Promise<PreparedDocument> {
  if (running >= CONCURRENT_WORKERS) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await runWorker(request, limits);
  } finally {
    running--;
    waiting.shift()?.();
  }
}

function runWorker(request: PreparationRequest, { deadlineMs, memoryMb }: WorkerLimits): Promise<PreparedDocument> {
  const worker = startWorker(memoryMb);
  return new Promise<PreparedDocument>((resolve, reject) => {
    let settled = false;
    const settle = (finish: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      void worker.terminate();
      finish();
    };
    const deadline = setTimeout(
      () => settle(() => reject(badInput(request.field, `The document took longer than ${deadlineMs / 1000} seconds to read`))),
      deadlineMs,
    );
    worker.once("message", (reply: Reply) =>
      settle(() => {
        if (reply.ok) resolve(reply.prepared);
        else reject(reply.refused ? badInput(reply.field ?? request.field, reply.message) : new Error(`Preparing the document failed: ${reply.message}`));
      }),
    );
    worker.once("error", (error: Error & { code?: string }) =>
      settle(() =>
        reject(error.code === "ERR_WORKER_OUT_OF_MEMORY" ? badInput(request.field, `The document needs more than ${memoryMb} MB of memory to read`) : error),
      ),
    );
    worker.once("exit", (code) => settle(() => reject(new Error(`The document worker stopped early (exit code ${code})`))));
    worker.postMessage(request);
  });
}

if (!isMainThread && workerData === ROLE) {
  // eslint-disable-next-line @typescript-eslint/no-misused-promises -- the handler catches every error and replies with it
  parentPort!.once("message", async (request: PreparationRequest) => {
    let reply: Reply;
    try {
      reply = { ok: true, prepared: await prepareDocument(request) };
    } catch (error) {
      const refused = error instanceof AppError && error.kind === "bad_input";
      reply = { ok: false, refused, field: refused ? error.field : undefined, message: refused ? error.message : String((error as Error)?.stack ?? error) };
    }
    parentPort!.postMessage(reply);
  });
}
