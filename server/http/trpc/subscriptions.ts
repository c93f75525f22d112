import type { IncomingMessage, ServerResponse } from "node:http";
import { TRPCError } from "@trpc/server";
import { getErrorShape, getTRPCErrorFromUnknown, isTrackedEnvelope, sseHeaders } from "./internals";
import { retryAfterOf, toTRPCError } from "../../platform/errors";
import type { OpenStream } from "../openStreams";
import type { NodeHandler } from "../server";
import { SseStream, type SseEncoding } from "../sse";
import { appRouter } from "./routers/_app";
import type { Context } from "./trpc";

/*
 * tRPC subscriptions over SSE, written straight to the Node response. tRPC's own adapter turns
 * every subscription into a fetch Request, a chain of web streams (its event generator, a
 * TransformStream, a TextEncoderStream, a pipe into the response) and a ping timer of its own:
 * about 80 KiB of heap per idle subscriber, most of an instance's memory once it serves
 * thousands. This writes the same events, byte for byte (tRPC's `sseStreamProducer` format, so
 * its client reads them unchanged) through Parley's one SSE writer (http/sse.ts), which pings every
 * subscriber of the instance from one timer.
 * Only a plain subscription call takes this path (GET, one procedure, its input in the query);
 * anything else goes to tRPC's adapter as before.
 */

const config = appRouter._def._config;
/** The router's procedures by path (flat; tRPC calls them with its own call options, as below). */
const procedures = appRouter._def.procedures as unknown as Record<string, ((opts: object) => Promise<unknown>) & { _def: { type: string } }>;
const sse = config.sse ?? {};
const CONNECTED = trpcFrame({ event: "connected", data: JSON.stringify(sse.client ?? {}) });
const RETURN = trpcFrame({ event: "return", data: "" });
/** The headers tRPC sends with a subscription, and its ping. */
const TRPC_SSE: SseEncoding = {
  headers: { vary: "trpc-accept, accept", ...sseHeaders },
  ping: trpcFrame({ event: "ping", data: "" }),
  pingMs: sse.ping?.enabled ? (sse.ping.intervalMs ?? 1000) : 0,
};

/** An SSE message in tRPC's layout: each field on its line, then a blank line (and tRPC's extra newline). */
function trpcFrame(f: { event?: string; data: string; id?: string }): string {
  return `${f.event === undefined ? "" : `event: ${f.event}\n`}data: ${f.data}\n${f.id === undefined ? "" : `id: ${f.id}\n`}\n\n`;
}

/** The subscription this request calls, with its raw input, or null when tRPC's adapter should answer it. */
function plainSubscription(req: IncomingMessage, basePath: string) {
  if (req.method !== "GET") return null;
  const url = new URL(req.url ?? "/", "http://localhost");
  if (!url.pathname.startsWith(basePath) || url.searchParams.has("batch")) return null;
  const path = url.pathname.slice(basePath.length);
  const procedure = Object.hasOwn(procedures, path) ? procedures[path] : undefined;
  const inputText = url.searchParams.get("input");
  if (procedure?._def.type !== "subscription" || inputText === null) return null;
  let input: unknown;
  try {
    input = config.transformer.input.deserialize(JSON.parse(inputText));
  } catch {
    return null;
  }
  // As tRPC's adapter: the resume id travels as a header (EventSource) or in the query, into the input.
  const lastEventId = req.headers["last-event-id"] ?? url.searchParams.get("lastEventId") ?? url.searchParams.get("Last-Event-Id");
  const resume = typeof lastEventId === "string" && lastEventId !== "" ? lastEventId : null;
  if (resume !== null) input = input !== null && typeof input === "object" ? { ...input, lastEventId: resume } : (input ?? { lastEventId: resume });
  return { path, procedure, input, lastEventId: resume !== null && !/[\0\n\r]/.test(resume) ? resume : null };
}

/** `handler` for every call, except plain subscriptions, which are streamed here. */
export function withSubscriptions(basePath: string, context: (req: IncomingMessage, res: ServerResponse) => Context, handler: NodeHandler): NodeHandler {
  return (req, res) => {
    const call = plainSubscription(req, basePath);
    return call ? stream(context(req, res), res, call) : handler(req, res);
  };
}

async function stream(ctx: Context, res: ServerResponse, call: NonNullable<ReturnType<typeof plainSubscription>>) {
  const out = new SseStream(res, TRPC_SSE);
  const shape = (cause: unknown) => {
    const error = getTRPCErrorFromUnknown(cause);
    return getErrorShape({ config, ctx, error, input: call.input, path: call.path, type: "subscription" });
  };
  // Called before the head is written, as tRPC does, so headers the call sets (Retry-After) go out with it.
  let iterable: AsyncIterable<unknown> | null = null;
  let failure: unknown = null;
  try {
    const result = await call.procedure({
      path: call.path,
      getRawInput: async () => call.input,
      ctx,
      type: "subscription",
      signal: out.signal,
      batchIndex: 0,
    });
    if (!result || typeof (result as AsyncIterable<unknown>)[Symbol.asyncIterator] !== "function") {
      throw new TRPCError({ code: "INTERNAL_SERVER_ERROR", message: `Subscription ${call.path} did not return an AsyncGenerator` });
    }
    iterable = result as AsyncIterable<unknown>;
  } catch (error) {
    failure = error;
  }
  // Gone while the call ran: nothing to write, and nothing to count.
  if (out.signal.aborted) return out.end();
  // Counted against its caller once the call is accepted (so its own refusals keep their codes)
  // and before anything is written: over the cap, refused as the call limit refuses, with Retry-After.
  let opened: OpenStream | null = null;
  if (iterable) {
    try {
      const caller = await ctx.caller();
      if (caller) opened = ctx.app.openStreams.open(caller);
    } catch (error) {
      iterable = null;
      failure = toTRPCError(error);
      const retryAfter = retryAfterOf(error);
      if (retryAfter !== undefined) ctx.setHeader("Retry-After", String(retryAfter));
    }
  }
  out.start(opened);
  try {
    await out.write(CONNECTED);
    if (!iterable) throw failure;
    if (await out.writeAll(messagesOf(iterable, call.lastEventId))) await out.write(RETURN);
  } catch (error) {
    if (!out.signal.aborted) await out.write(trpcFrame({ event: "serialized-error", data: JSON.stringify(config.transformer.output.serialize(shape(error))) }));
  } finally {
    out.end();
  }
}

/** A subscription's values as tRPC's messages, resuming after `lastEventId`. */
async function* messagesOf(values: AsyncIterable<unknown>, lastEventId: string | null): AsyncGenerator<string> {
  const data = (v: unknown) => JSON.stringify(config.transformer.output.serialize(v));
  for await (const value of values) {
    if (isTrackedEnvelope(value)) {
      lastEventId = String(value[0]);
      yield trpcFrame({ data: data(value[1]), id: lastEventId });
    } else {
      // As tRPC: an event without an id after one with an id clears the client's resume id, then restores it.
      yield trpcFrame({ data: data(value), ...(lastEventId !== null && { id: "" }) }) + (lastEventId !== null ? trpcFrame({ event: "restore-id", data: "", id: lastEventId }) : "");
    }
  }
}
