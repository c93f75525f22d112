import type { IncomingMessage, ServerResponse } from "node:http";
import { initTRPC, TRPCError } from "@trpc/server";
import superjson from "superjson";
import { z, ZodError } from "zod";
import type { App } from "./app";
import { callerFromHeaders, isAdmin, type Caller, type HeaderReader } from "./auth";
import { AppError, toTRPCError } from "./errors";

/** What a request's context needs of its HTTP exchange, whichever server carries it. */
export interface HttpExchange {
  /** @internal A request header by its lower-case name. */
  header: HeaderReader;
  /** @internal Adds a `Set-Cookie` header to the response (the sign-in cookie). */
  setCookie(cookie: string): void;
}

/**
 * A request's context: the app the entry point took from the composition root, and the request.
 * Its members are marked internal: the SDK's declarations (built with `stripInternal`) keep the
 * router's procedures but none of the server behind them.
 */
export interface Context extends HttpExchange {
  /** @internal */
  app: App;
  /** @internal Resolves the caller from the key header or the sign-in cookie, once per request. */
  caller: () => Promise<Caller | null>;
}

export function createContext(app: App, http: HttpExchange): Context {
  let resolved: Promise<Caller | null> | undefined;
  return {
    app,
    header: http.header,
    setCookie: http.setCookie,
    caller: () => (resolved ??= callerFromHeaders(app, http.header)),
  };
}

/** A Node request's exchange: headers read in place, cookies appended to the Node response. */
export function nodeExchange(req: IncomingMessage, res: ServerResponse): HttpExchange {
  return {
    header: (name) => {
      const value = req.headers[name];
      return Array.isArray(value) ? value.join(", ") : value;
    },
    setCookie: (cookie) => void res.appendHeader("set-cookie", cookie),
  };
}

/** A fetch-style exchange (in-process callers and tests; `resHeaders` collects the cookies set). */
export function fetchExchange(headers: Headers, resHeaders: Headers): HttpExchange {
  return { header: (name) => headers.get(name), setCookie: (cookie) => resHeaders.append("set-cookie", cookie) };
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
