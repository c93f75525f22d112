import type { IncomingMessage, ServerResponse } from "node:http";
import { initTRPC, TRPCError } from "@trpc/server";
import superjson from "superjson";
import { z, ZodError } from "zod";
import type { App } from "./app";
import { callerFromHeaders, isAdmin, keyFromHeaders, type Caller, type HeaderReader } from "./auth";
import { AppError, retryAfterOf, toTRPCError } from "./errors";
import { clientAddress, limitSubject } from "./rateLimits";
import { requestLogFields, type RequestLogFields } from "./log";

/** What a request's context needs of its HTTP exchange, whichever server carries it. */
export interface HttpExchange {
  /** @internal A request header by its lower-case name. */
  header: HeaderReader;
  /** @internal Adds a `Set-Cookie` header to the response (the sign-in cookie). */
  setCookie: (cookie: string) => void;
  /** @internal Sets a response header (`Retry-After` on a refusal). */
  setHeader: (name: string, value: string) => void;
  /** @internal The socket's peer address (the client, or the proxy in front). */
  remoteAddress?: string;
  /** @internal The fields of the request's log line (who called, which session and message). */
  logFields: RequestLogFields;
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
  /** @internal The client's address, for limits per address (PARLEY_TRUST_PROXY: the first X-Forwarded-For hop). */
  clientAddress: () => string;
}

export function createContext(app: App, http: HttpExchange): Context {
  let resolved: Promise<Caller | null> | undefined;
  return {
    app,
    header: http.header,
    setCookie: http.setCookie,
    setHeader: http.setHeader,
    remoteAddress: http.remoteAddress,
    logFields: http.logFields,
    clientAddress: () => clientAddress(http.remoteAddress, http.header("x-forwarded-for"), app.env.PARLEY_TRUST_PROXY),
    caller: () =>
      (resolved ??= callerFromHeaders(app, http.header).then((caller) => {
        if (caller) Object.assign(http.logFields, { tenantId: caller.tenant.id, userId: caller.user.id });
        return caller;
      })),
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
    setHeader: (name, value) => void (res.headersSent || res.setHeader(name, value)),
    remoteAddress: req.socket.remoteAddress,
    logFields: requestLogFields(req),
  };
}

/** A fetch-style exchange (in-process callers and tests; `resHeaders` collects the cookies set). */
export function fetchExchange(headers: Headers, resHeaders: Headers): HttpExchange {
  return {
    header: (name) => headers.get(name),
    setCookie: (cookie) => resHeaders.append("set-cookie", cookie),
    setHeader: (name, value) => resHeaders.set(name, value),
    logFields: {},
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

/** The ids a call names or creates, for its request's log line (never its text). */
function noteIds(fields: RequestLogFields, value: unknown) {
  if (!value || typeof value !== "object") return;
  const { sessionId, messageId, assistantMessage } = value as { sessionId?: unknown; messageId?: unknown; assistantMessage?: { id?: unknown } };
  if (typeof sessionId === "string") fields.sessionId = sessionId;
  if (typeof messageId === "string") fields.messageId = messageId;
  if (typeof assistantMessage?.id === "string") fields.messageId = assistantMessage.id;
}

/**
 * Maps domain and infrastructure errors to their tRPC codes (see errors.ts), with the `Retry-After`
 * header a refusal asks for (on the HTTP response, so batches and streams carry it too), and notes
 * the call for the log.
 */
const mapErrors = t.middleware(async ({ ctx, path, getRawInput, next }) => {
  ctx.logFields.procedure = ctx.logFields.procedure ? `${ctx.logFields.procedure},${path}` : path;
  noteIds(ctx.logFields, await getRawInput().catch(() => undefined));
  const result = await next();
  if (result.ok) {
    noteIds(ctx.logFields, result.data);
    return result;
  }
  const retryAfter = retryAfterOf(result.error);
  if (retryAfter !== undefined) ctx.setHeader("Retry-After", String(retryAfter));
  if (result.error.code === "INTERNAL_SERVER_ERROR" && result.error.cause) {
    const mapped = toTRPCError(result.error.cause);
    if (mapped.code === "INTERNAL_SERVER_ERROR") ctx.app.log.error({ err: result.error.cause, procedure: path }, "internal error");
    throw mapped;
  }
  return result;
});

export const publicProcedure = t.procedure.use(mapErrors);

export const authedProcedure = publicProcedure.use(async ({ ctx, next }) => {
  const caller = await ctx.caller();
  if (!caller) throw new TRPCError({ code: "UNAUTHORIZED", message: "Sign in, or send an API key as 'Authorization: Bearer <key>' or 'X-API-Key'" });
  const limitAs = limitSubject(caller, keyFromHeaders(ctx.header) ? "key" : "cookie");
  // Every call counts, a stream's (re)connect included; refused before the procedure does anything.
  await ctx.app.limits.call(limitAs);
  return next({ ctx: { ...ctx, me: caller, limitAs } });
});

export const adminProcedure = authedProcedure.use(({ ctx, next }) => {
  if (!isAdmin(ctx.me.user)) throw new TRPCError({ code: "FORBIDDEN", message: "This needs the admin or owner role" });
  return next();
});
