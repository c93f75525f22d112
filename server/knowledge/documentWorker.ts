import { AppError } from "../platform/errors";
import type { PreparationRequest, PreparedDocument } from "./prepare";

/**
 * The document process: a child of the server (documentPool.ts) that prepares one document at a
 * time (prepare.ts: parse, chunk, offline embedding) and answers over IPC. It runs under its own
 * memory cap, so a document that exhausts it ends this process and that parse, never the server.
 * Built as `build/documentWorker.mjs` beside the server bundle; run from source through tsx in dev
 * and tests. It says it is ready at once and loads the parsers with its first document.
 */

/** What the process sends: "ready" once, then one reply per request. */
export type WorkerMessage =
  | "ready"
  | { ok: true; prepared: PreparedDocument }
  | { ok: false; refused: true; field?: string; message: string }
  | { ok: false; refused: false; message: string };

/** The argument the pool starts it with, so importing this module anywhere else does nothing. */
export const WORKER_ROLE = "--parley-document-worker";

async function serve(request: PreparationRequest): Promise<WorkerMessage> {
  try {
    const { prepareDocument } = await import("./prepare");
    return { ok: true, prepared: await prepareDocument(request) };
  } catch (error) {
    if (error instanceof AppError && error.kind === "bad_input") return { ok: false, refused: true, field: error.field, message: error.message };
    return { ok: false, refused: false, message: String((error as Error)?.stack ?? error) };
  }
}

if (process.send && process.argv.includes(WORKER_ROLE)) {
  const send = (message: WorkerMessage) => process.send!(message);
  // The server went away: nothing is left to answer.
  process.on("disconnect", () => process.exit(0));
  process.on("message", (request: PreparationRequest) => void serve(request).then(send));
  send("ready");
}
