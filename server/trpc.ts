import { initTRPC, TRPCError } from "@trpc/server";
import superjson from "superjson";
import { z, ZodError } from "zod";
import type { App } from "./app";
import { callerFromHeaders, isAdmin, type Caller } from "./auth";
import { AppError, toTRPCError } from "./errors";

/**
 * A request's context: the app the entry point took from the composition root, and the request.
 * Its members are marked internal: the SDK's declarations (built with `stripInternal`) keep the
 * router's procedures but none of the server behind them.
 */
export interface Context {
  /** @internal */
  app: App;
  /** @internal */
  headers: Headers;
  /** @internal Headers added to the HTTP response (the sign-in cookie). */
  resHeaders: Headers;
  /** @internal Resolves the caller from the key header or the sign-in cookie, once per request. */
  caller: () => Promise<Caller | null>;
}

export function createContext(app: App, headers: Headers, resHeaders: Headers): Context {
  let resolved: Promise<Caller | null> | undefined;
  return {
    app,
    headers,
    resHeaders,
    caller: () => (resolved ??= callerFromHeaders(app, headers)),
  };
}

const t = initTRPC.context<Context>().create({
  transformer: superjson,
  sse: {
    // Pings keep proxies from closing idle answer streams; the client reconnects (with
    // lastEventId) when it hears nothing for a while.
    ping: { enabled: true, intervalMs: 10_000 },
    client: { reconnectAfterInactivityMs: 25_000 },
  },
  errorFormatter({ shape, error }) {
    const cause = error.cause;
    let zodError: { formErrors: string[]; fieldErrors: Record<string, string[] | undefined> } | null = null;
    if (error.code === "BAD_REQUEST" && cause instanceof ZodError) zodError = z.flattenError(cause);
    else if (cause instanceof AppError && cause.field) zodError = { formErrors: [], fieldErrors: { [cause.field]: [cause.message] } };
    // Internal details stay in the server log.
    const { stack: _stack, ...data } = shape.data;
    return { ...shape, data: { ...data, zodError } };
  },
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

/** Maps domain and infrastructure errors to their tRPC codes (see errors.ts). */
const mapErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok && result.error.code === "INTERNAL_SERVER_ERROR" && result.error.cause) {
    const mapped = toTRPCError(result.error.cause);
    if (mapped.code === "INTERNAL_SERVER_ERROR") console.error("[parley] internal error:", result.error.cause);
    throw mapped;
  }
  return result;
});

export const publicProcedure = t.procedure.use(mapErrors);

export const authedProcedure = publicProcedure.use(async ({ ctx, next }) => {
  const caller = await ctx.caller();
  if (!caller) throw new TRPCError({ code: "UNAUTHORIZED", message: "Sign in, or send an API key as 'Authorization: Bearer <key>' or 'X-API-Key'" });
  return next({ ctx: { ...ctx, me: caller } });
});

export const adminProcedure = authedProcedure.use(({ ctx, next }) => {
  if (!isAdmin(ctx.me.user)) throw new TRPCError({ code: "FORBIDDEN", message: "This needs the admin or owner role" });
  return next();
});
