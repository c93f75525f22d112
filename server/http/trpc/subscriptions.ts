import type { IncomingMessage, ServerResponse } from "node:http";
import { TRPCError } from "@trpc/server";
import { getErrorShape, getTRPCErrorFromUnknown, isTrackedEnvelope, sseHeaders } from "./internals";
import { retryAfterOf, toTRPCError } from "../../platform/errors";
import type { OpenStream } from "../openStreams";
import type { PlainRequest } from "./plainCalls";
import { SseStream, type SseEncoding } from "../sse";
import { appRouter } from "./routers/_app";
import { serializedText } from "./serialized";
import type { Context } from "./trpc";

/*
 * tRPC subscriptions over SSE, written straight to the Node response. tRPC's own adapter turns
 * every subscription into a fetch Request, a chain of web streams (its event generator, a
 * TransformStream, a TextEncoderStream, a pipe into the response) and a ping timer of its own:
 * about 80 KiB of heap per idle subscriber, most of an instance's memory once it serves
 * thousands. This writes the same events, byte for byte (tRPC's `sseStreamProducer` format, so
 * its client reads them unchanged) through Parley's one SSE writer (http/sse.ts), which pings every
 * subscriber of the instance from one timer.
 * Only a plain subscription call takes this path (plainCalls.ts: GET, one procedure, its input in
 * the query); anything else goes to tRPC's adapter.
 */

const config = appRouter._def._config;
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

/**
 * The resume id of a subscription, as tRPC's adapter reads it: the `Last-Event-Id` header
 * (EventSource), else the query's `lastEventId` or `Last-Event-Id`; tRPC adds it to the input.
 */
function lastEventIdOf(req: IncomingMessage, url: URL): string | null {
  const lastEventId = req.headers["last-event-id"] ?? url.searchParams.get("lastEventId") ?? url.searchParams.get("Last-Event-Id");
  return typeof lastEventId === "string" && lastEventId !== "" ? lastEventId : null;
}

/** A plain subscription call (plainCalls.ts), streamed to the Node response in tRPC's bytes. */
export async function streamSubscription(ctx: Context, req: IncomingMessage, res: ServerResponse, request: PlainRequest) {
  const call = request.calls[0]!;
  const out = new SseStream(res, TRPC_SSE);
  const resume = lastEventIdOf(req, request.url);
  const getRawInput = async () => {
    const input = await call.input();
    if (resume === null) return input;
    return input !== null && typeof input === "object" ? { ...input, lastEventId: resume } : (input ?? { lastEventId: resume });
  };
  const shape = (cause: unknown) => {
    const error = getTRPCErrorFromUnknown(cause);
    return getErrorShape({ config, ctx, error, input: call.readInput(), path: call.path, type: "subscription" });
  };
  // Called before the head is written, as tRPC does, so headers the call sets (Retry-After) go out with it.
  let iterable: AsyncIterable<unknown> | null = null;
  let failure: unknown = null;
  try {
    const result = await call.procedure({
      path: call.path,
      getRawInput,
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
    // A resume id that could break the SSE framing starts the client's id afresh, as tRPC does.
    if (await out.writeEach(iterable, trpcMessages(resume !== null && !/[\0\n\r]/.test(resume) ? resume : null))) await out.write(RETURN);
  } catch (error) {
    if (!out.signal.aborted) await out.write(trpcFrame({ event: "serialized-error", data: serializedText(shape(error)) }));
  } finally {
    out.end();
  }
}

/**
 * A subscription's values as tRPC's messages, resuming after `lastEventId`: a tracked value under
 * its id; an untracked one after a tracked one clears the client's resume id, then restores it, as
 * tRPC writes it.
 */
function trpcMessages(lastEventId: string | null): (value: unknown) => string {
  return (value) => {
    if (isTrackedEnvelope(value)) {
      lastEventId = String(value[0]);
      return trpcFrame({ data: serializedText(value[1]), id: lastEventId });
    }
    return trpcFrame({ data: serializedText(value), ...(lastEventId !== null && { id: "" }) }) + (lastEventId !== null ? trpcFrame({ event: "restore-id", data: "", id: lastEventId }) : "");
  };
}
