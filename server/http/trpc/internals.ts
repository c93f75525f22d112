import type { TRPCError } from "@trpc/server";
import { getErrorShape, getTRPCErrorFromUnknown, isTrackedEnvelope, sseHeaders } from "@trpc/server/unstable-core-do-not-import";
import { appRouter } from "./routers/_app";

/*
 * The one module that imports tRPC's internal entry point (`unstable-core-do-not-import`, which
 * may change in any release). Parley writes some of tRPC's wire format itself: refusals sent
 * before tRPC's handler runs (routes.ts), plain queries and mutations answered from the Node
 * request (plainCalls.ts) and subscriptions streamed straight to the Node response
 * (subscriptions.ts). internals.db.test.ts holds what they send to what tRPC's own adapter sends
 * for the same request, byte for byte, so an upgrade that changes the format fails there.
 */

/** The error shape of a failed call (through the router's errorFormatter), and tRPC's error of any thrown value. */
export { getErrorShape, getTRPCErrorFromUnknown };
/** Whether a subscription's value is `tracked(id, data)`, and the headers tRPC sends with a subscription. */
export { isTrackedEnvelope, sseHeaders };

/**
 * The body tRPC answers with when every call a request makes fails with `error`: `{ error }` with
 * the call's error shape, serialized (one such item per call of a batch). A refusal sent before
 * tRPC's handler runs answers with it, so clients read it as tRPC's own.
 */
export function trpcErrorBody(error: TRPCError, paths: string[], batch: boolean): unknown {
  const config = appRouter._def._config;
  const itemOf = (path: string) => ({
    error: config.transformer.output.serialize(getErrorShape({ config, error, type: "unknown", path: path || undefined, input: undefined, ctx: undefined })) as unknown,
  });
  return batch ? paths.map(itemOf) : itemOf(paths[0] ?? "");
}
