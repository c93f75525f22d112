import type { IncomingMessage, ServerResponse } from "node:http";
import { TRPCError } from "@trpc/server";
import { getHTTPStatusCodeFromError } from "@trpc/server/http";
import { getErrorShape, getTRPCErrorFromUnknown } from "./internals";
import { appRouter } from "./routers/_app";
import type { Context } from "./trpc";

/*
 * tRPC calls answered straight from the Node request, without tRPC's adapter. The adapter turns
 * every request into a fetch Request (undici, a web-stream body, an AbortSignal.any) and every
 * answer into a Response piped back through web streams: on a small call that conversion costs
 * more than the procedure. A plain call (one procedure, not batched, JSON or no content type, the
 * method its type takes) is called here as the adapter calls it and answered in the same bytes
 * (internals.db.test.ts holds them to tRPC's own); anything else goes to the adapter.
 */

const config = appRouter._def._config;
type Procedure = ((opts: object) => Promise<unknown>) & { _def: { type: "query" | "mutation" | "subscription" } };
/** The router's procedures by path (flat). */
const procedures = appRouter._def.procedures as unknown as Record<string, Procedure>;
/** The method each type of call takes (tRPC's own map, without method override). */
const METHOD_OF = { query: "GET", mutation: "POST", subscription: "GET" } as const;
/** The headers tRPC answers a query or mutation with. */
const JSON_HEADERS = { vary: "trpc-accept, accept", "content-type": "application/json" };

/** A plain call: its procedure, and its raw input as tRPC reads it (lazily, once). */
export interface PlainCall {
  path: string;
  procedure: Procedure;
  url: URL;
  /** The input, deserialized by the router's transformer (undefined when none was sent); throws what tRPC's parsing throws. */
  input: () => Promise<unknown>;
  /** The input once read (undefined before, or when reading failed), for the error shape, as tRPC's `call.result()`. */
  readInput: () => unknown;
}

function isJsonOrNone(req: IncomingMessage): boolean {
  const type = req.headers["content-type"];
  return type === undefined || type.split(";", 1)[0]!.trim().toLowerCase() === "application/json";
}

/** The call this request makes, or null when tRPC's adapter should answer it (subscriptions stream from subscriptions.ts). */
export function plainCall(req: IncomingMessage, basePath: string): PlainCall | null {
  const url = new URL(req.url ?? "/", "http://localhost");
  if (!url.pathname.startsWith(basePath) || url.searchParams.has("batch") || !isJsonOrNone(req)) return null;
  const path = url.pathname.slice(basePath.length);
  const procedure = Object.hasOwn(procedures, path) ? procedures[path] : undefined;
  if (!procedure || METHOD_OF[procedure._def.type] !== req.method) return null;
  let read: Promise<unknown> | undefined;
  let result: unknown;
  const input = () =>
    (read ??= (async () => {
      const text = req.method === "GET" ? url.searchParams.get("input") || undefined : await bodyText(req);
      const raw: unknown = text === undefined ? undefined : JSON.parse(text);
      // As tRPC's JSON parser: no input at all is no input, anything else goes through the transformer.
      result = raw === undefined ? undefined : config.transformer.input.deserialize(raw);
      return result;
    })().catch((cause: unknown) => {
      // As tRPC's reader: input that cannot be read is bad input, in the reader's own words.
      throw cause instanceof TRPCError ? cause : new TRPCError({ code: "BAD_REQUEST", message: cause instanceof Error ? cause.message : "Invalid input", cause });
    }));
  return { path, procedure, url, input, readInput: () => result };
}

/** The request's body as text, as `Request.json()` decodes it (UTF-8, a BOM dropped). The server has capped its size. */
async function bodyText(req: IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  return new TextDecoder().decode(Buffer.concat(parts));
}

/** A query or mutation, answered as tRPC's adapter answers it: `{ result: { data } }` or `{ error }` with its status. */
export async function answerPlainCall(ctx: Context, res: ServerResponse, call: PlainCall) {
  // As the adapter's request signal: aborted when the client goes before the answer.
  const gone = new AbortController();
  const onClose = () => gone.abort();
  res.once("close", onClose);
  let status = 200;
  let body: unknown;
  try {
    const data: unknown = await call.procedure({ path: call.path, getRawInput: call.input, ctx, type: call.procedure._def.type, signal: gone.signal, batchIndex: 0 });
    body = { result: { data: config.transformer.output.serialize(data) as unknown } };
  } catch (cause) {
    const error = getTRPCErrorFromUnknown(cause);
    status = getHTTPStatusCodeFromError(error);
    const shape: unknown = getErrorShape({ config, ctx, error, input: call.readInput(), path: call.path, type: call.procedure._def.type });
    body = { error: config.transformer.output.serialize(shape) as unknown };
  } finally {
    res.off("close", onClose);
  }
  // Answered already (a body refused over its cap mid-read) or gone: nothing more to write.
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, JSON_HEADERS);
  res.end(JSON.stringify(body));
}
