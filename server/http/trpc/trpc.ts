import type { IncomingMessage, ServerResponse } from "node:http";
import { initTRPC, TRPCError } from "@trpc/server";
import superjson from "superjson";
import { z, ZodError } from "zod";
import type { App } from "../../boot/app";
import { isAdmin } from "../../auth/accounts";
import { AppError, retryAfterOf, toTRPCError } from "../../platform/errors";
import { attachedCaller, callerOf, clientRequestOf, isHttps, type ClientRequest, type RequestCaller } from "../authenticate";
import { requestLogFields, type RequestLogFields } from "../../platform/log";

/** What a request's context needs of its HTTP exchange, whichever server carries it. */
export interface HttpExchange extends ClientRequest {
  /** @internal Adds a `Set-Cookie` header to the response (the sign-in cookie). */
  setCookie: (cookie: string) => void;
  /** @internal Sets a response header (`Retry-After` on a refusal). */
  setHeader: (name: string, value: string) => void;
  /** @internal The fields of the request's log line (who called, which session and message). */
  logFields: RequestLogFields;
  /** @internal The caller the server resolved before reading the body (null: anonymous); undefined when it resolved none. */
  resolvedCaller?: RequestCaller | null;
}

/**
 * A request's context: the app the entry point took from the composition root, and the request.
 * Its members are marked internal: the SDK's declarations (built with `stripInternal`) keep the
 * router's procedures but none of the server behind them.
 */
export interface Context extends HttpExchange {
  /** @internal */
  app: App;
  /**
   * @internal The caller, as the server resolved it (see http/authenticate.ts); a context made in
   * process (no server) resolves it on first use, counting one call.
   */
  caller: () => Promise<RequestCaller | null>;
  /** @internal Whether the client came over HTTPS (PARLEY_TRUST_PROXY: as X-Forwarded-Proto says). */
  isHttps: () => boolean;
}

export function createContext(app: App, http: HttpExchange): Context {
  let resolved: Promise<RequestCaller | null> | undefined;
  return {
    ...http,
    app,
    isHttps: () => isHttps(http, app.env.PARLEY_TRUST_PROXY),
    caller: () => (resolved ??= callerOf(app, http.resolvedCaller, http, { calls: 1 })),
  };
}

/** A Node request's exchange: headers read in place, cookies appended to the Node response, the caller the server resolved. */
export function nodeExchange(req: IncomingMessage, res: ServerResponse): HttpExchange {
  return {
    ...clientRequestOf(req),
    setCookie: (cookie) => void res.appendHeader("set-cookie", cookie),
    setHeader: (name, value) => void (res.headersSent || res.setHeader(name, value)),
    logFields: requestLogFields(req),
    resolvedCaller: attachedCaller(req),
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

export const NEEDS_CALLER_MESSAGE = "Sign in, or send an API key as 'Authorization: Bearer <key>' or 'X-API-Key'";

/**
 * The caller every authed procedure needs. Resolving it counted the call (a stream's (re)connect
 * included), so a call over the limit is refused before the procedure does anything.
 */
export const requireCaller = t.middleware(async ({ ctx, next }) => {
  const caller = await ctx.caller();
  if (!caller) throw new TRPCError({ code: "UNAUTHORIZED", message: NEEDS_CALLER_MESSAGE });
  return next({ ctx: { ...ctx, me: caller, limitAs: caller.limitAs } });
});

export const authedProcedure = publicProcedure.use(requireCaller);

export const adminProcedure = authedProcedure.use(({ ctx, next }) => {
  if (!isAdmin(ctx.me.user)) throw new TRPCError({ code: "FORBIDDEN", message: "This needs the admin or owner role" });
  return next();
});
