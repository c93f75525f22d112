import type { IncomingMessage, ServerResponse } from "node:http";
import { TRPCError } from "@trpc/server";
import { getHTTPStatusCodeFromError } from "@trpc/server/http";
import { getErrorShape, getTRPCErrorFromUnknown } from "./internals";
import { appRouter } from "./routers/_app";
import { serializedText } from "./serialized";
import type { Context } from "./trpc";
import { STOPPED } from "../../platform/iterables";

/*
 * tRPC calls answered straight from the Node request, without tRPC's adapter. The adapter turns
 * every request into a fetch Request (undici, a web-stream body, an AbortSignal.any) and every
 * answer into a Response piped back through web streams: on a small call that conversion costs
 * more than the procedure. A plain request (queries or mutations, alone or batched as
 * httpBatchLink sends them; one subscription; JSON or no content type; the method its type takes)
 * is called here as the adapter calls it and answered in the same bytes (internals.db.test.ts
 * holds them to tRPC's own); anything else (streamed batches, mixed types, unknown procedures)
 * goes to the adapter.
 */

const config = appRouter._def._config;
type CallType = "query" | "mutation" | "subscription";
type Procedure = ((opts: object) => Promise<unknown>) & { _def: { type: CallType } };
/** The router's procedures by path (flat). */
const procedures = appRouter._def.procedures as unknown as Record<string, Procedure>;
/** The method each type of call takes (tRPC's own map, without method override). */
const METHOD_OF = { query: "GET", mutation: "POST", subscription: "GET" } as const;
/** The headers tRPC answers queries and mutations with. */
const JSON_HEADERS = { vary: "trpc-accept, accept", "content-type": "application/json" };

/** One call of a plain request: its procedure, and its raw input as tRPC reads it (lazily, once). */
export interface PlainCall {
  path: string;
  procedure: Procedure;
  /** The input, deserialized by the router's transformer (undefined when none was sent); throws what tRPC's reading throws. */
  input: () => Promise<unknown>;
  /** The input once read (undefined before, or when reading failed), for the error shape, as tRPC's `call.result()`. */
  readInput: () => unknown;
}

export interface PlainRequest {
  type: CallType;
  calls: PlainCall[];
  batch: boolean;
  url: URL;
}

function isJsonOrNone(req: IncomingMessage): boolean {
  const type = req.headers["content-type"];
  return type === undefined || type.split(";", 1)[0]!.trim().toLowerCase() === "application/json";
}

/** Whether the client asks for tRPC's streamed (JSON lines) batch answer, which only the adapter writes. */
function wantsJsonLines(req: IncomingMessage): boolean {
  const accept = req.headers.accept;
  return req.headers["trpc-accept"] !== undefined || (accept !== undefined && accept.split(",").some((t) => t.trim() === "application/jsonl"));
}

/**
 * The calls this request makes, or null when tRPC's adapter should answer it (subscriptions
 * stream from subscriptions.ts). At most `maxBatch` calls a batch, as the adapter allows.
 */
export function plainRequest(req: IncomingMessage, basePath: string, maxBatch: number): PlainRequest | null {
  const url = new URL(req.url ?? "/", "http://localhost");
  if (!url.pathname.startsWith(basePath) || !isJsonOrNone(req) || wantsJsonLines(req)) return null;
  const batchParam = url.searchParams.get("batch");
  if (batchParam !== null && batchParam !== "1") return null;
  const batch = batchParam === "1";
  const paths = url.pathname.slice(basePath.length).split(",");
  if ((!batch && paths.length > 1) || paths.length > maxBatch || paths.some((path) => !Object.hasOwn(procedures, path))) return null;
  const found = paths.map((path) => procedures[path]!);
  const type = found[0]!._def.type;
  if (found.some((p) => p._def.type !== type) || METHOD_OF[type] !== req.method || (batch && type === "subscription")) return null;

  // As tRPC's JSON reader: the request's input read once, for every call; a batch's is an object by call index.
  let inputs: Promise<Record<number, unknown>> | undefined;
  let read: Record<number, unknown> | undefined;
  const readInputs = () =>
    (inputs ??= (async () => {
      const text = req.method === "GET" ? url.searchParams.get("input") || undefined : await bodyText(req);
      const raw: unknown = text === undefined ? undefined : JSON.parse(text);
      const byIndex: Record<number, unknown> = {};
      if (raw === undefined) return (read = byIndex);
      if (!batch) byIndex[0] = config.transformer.input.deserialize(raw);
      else if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
        throw new TRPCError({ code: "BAD_REQUEST", message: '"input" needs to be an object when doing a batch call' });
      } else {
        paths.forEach((_path, index) => {
          const item = (raw as Record<number, unknown>)[index];
          if (item !== undefined) byIndex[index] = config.transformer.input.deserialize(item);
        });
      }
      return (read = byIndex);
    })().catch((cause: unknown) => {
      // Input that cannot be read is bad input, in the reader's own words.
      throw cause instanceof TRPCError ? cause : new TRPCError({ code: "BAD_REQUEST", message: cause instanceof Error ? cause.message : "Invalid input", cause });
    }));
  const calls = paths.map((path, index) => ({
    path,
    procedure: found[index]!,
    input: async () => (await readInputs())[index],
    readInput: () => read?.[index],
  }));
  return { type, calls, batch, url };
}

/** The request's body as text, as `Request.json()` decodes it (UTF-8, a BOM dropped). The server has capped its size. */
async function bodyText(req: IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  return new TextDecoder().decode(Buffer.concat(parts));
}

/**
 * Queries or mutations, answered as tRPC's adapter answers them: each call `{ result: { data } }`
 * or `{ error }` (a batch: an array of them, in order), with the calls' status (a batch whose
 * calls differ: 207).
 */
export async function answerPlainCalls(ctx: Context, res: ServerResponse, request: PlainRequest) {
  // As the adapter's request signal: aborted when the client goes before the answer.
  const gone = new AbortController();
  const onClose = () => gone.abort(STOPPED);
  res.once("close", onClose);
  let answers: { status: number; item: string }[];
  try {
    answers = await Promise.all(request.calls.map((call, index) => answerCall(ctx, call, index, gone.signal)));
  } finally {
    res.off("close", onClose);
  }
  // Answered already (a body refused over its cap mid-read) or gone: nothing more to write.
  if (res.headersSent || res.destroyed) return;
  const statuses = new Set(answers.map((answer) => answer.status));
  res.writeHead(statuses.size === 1 ? answers[0]!.status : 207, JSON_HEADERS);
  res.end(request.batch ? `[${answers.map((answer) => answer.item).join(",")}]` : answers[0]!.item);
}

/** One call's answer: its status, and its item as JSON text (`{"result":{"data":…}}` or `{"error":…}`). */
async function answerCall(ctx: Context, call: PlainCall, batchIndex: number, signal: AbortSignal): Promise<{ status: number; item: string }> {
  const type = call.procedure._def.type;
  try {
    const data: unknown = await call.procedure({ path: call.path, getRawInput: call.input, ctx, type, signal, batchIndex });
    return { status: 200, item: `{"result":{"data":${serializedText(data)}}}` };
  } catch (cause) {
    const error = getTRPCErrorFromUnknown(cause);
    const shape: unknown = getErrorShape({ config, ctx, error, input: call.readInput(), path: call.path, type });
    return { status: getHTTPStatusCodeFromError(error), item: `{"error":${serializedText(shape)}}` };
  }
}
