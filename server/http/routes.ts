import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { getRequestListener } from "@hono/node-server";
import { TRPCError } from "@trpc/server";
import { getHTTPStatusCodeFromError } from "@trpc/server/http";
import { incomingMessageToRequest } from "@trpc/server/adapters/node-http";
import { createHTTPHandler } from "@trpc/server/adapters/standalone";
import type { App } from "../boot/app";
import { keyFromHeaders } from "../auth/accounts";
import { AppError, kindOfCode } from "../platform/errors";
import { checkHealth } from "./health";
import type { AppHost } from "../boot/host";
import { handleUpload } from "./upload";
import { shareJsonHandler } from "./share";
import { ATTACHMENT_UPLOAD_PATH, createRestApp, OPENAPI_PATH, REST_AUTH, type RestOptions } from "./rest";
import { toRestError } from "./rest/errors";
import { appRouter } from "./trpc/routers/_app";
import { trpcErrorBody } from "./trpc/internals";
import { createContext, NEEDS_CALLER_MESSAGE, nodeExchange, requireCaller } from "./trpc/trpc";
import { attachCaller, attachedCaller, authenticate, clientRequestOf, type AuthOptions } from "./authenticate";
import { admitUnlessRefused, refuseBeforeBody, refuseJson, sendJson, type ApiRoute, type NodeHandler, type Refuse } from "./server";
import { answerPlainCalls, plainRequest } from "./trpc/plainCalls";
import { streamSubscription } from "./trpc/subscriptions";
import { MAX_BATCH_CALLS, MAX_DOCUMENT_BODY_BYTES } from "../../common/limits";

/**
 * The largest request body a call may send (refused with 413 `PAYLOAD_TOO_LARGE` beyond it), on
 * every route, except a call that carries a document from a known caller (`knowledge.documents.add`,
 * the upload route, a chat attachment's upload: MAX_DOCUMENT_BODY_BYTES, a document limit).
 */
export const MAX_BODY_BYTES = 1024 * 1024;
export { MAX_BATCH_CALLS, MAX_DOCUMENT_BODY_BYTES };
const DOCUMENT_PROCEDURE = "knowledge.documents.add";

/**
 * The `/api/*` route table, one entry per prefix. The server (server.ts) refuses, before any
 * handler runs, calls while the App is not ready or the instance drains (503, `Retry-After`), then
 * admits the request from its headers (cross-site writes refused, the caller resolved and its
 * calls counted: `admitCaller`), then refuses a body over the route's cap for that caller
 * (MAX_BODY_BYTES unless the route says more, and never more for an anonymous one). Further faces
 * mount here, each as a Node handler built from the ready App with `perApp`. `rest`: the REST
 * face's own options (a test shortens its keep-alive).
 */
export function apiRoutes(host: AppHost, options: { rest?: RestOptions } = {}): ApiRoute[] {
  const known = (req: IncomingMessage) => !!attachedCaller(req);
  const callBody = () => MAX_BODY_BYTES;
  return [
    {
      prefix: "/api/trpc",
      admit: admitCaller(host, refuseTrpc, { ownOriginOnly: true, auth: trpcAuth }),
      handler: anonymousNeedsNoCaller(perApp(host, trpcHandler)),
      // Only the document procedure called alone takes a document's size; a batch naming it does not.
      maxBodyBytes: (req) => (known(req) && procedureNames(req).join() === DOCUMENT_PROCEDURE && !isBatch(req) ? MAX_DOCUMENT_BODY_BYTES : MAX_BODY_BYTES),
      refuse: refuseTrpc,
    },
    // The WeKnora REST face: a Hono app whose routes carry the `/api/v1` prefix themselves.
    {
      prefix: "/api/v1",
      admit: admitCaller(host, refuseRest, { auth: (req) => (pathOf(req) === OPENAPI_PATH ? null : REST_AUTH) }),
      handler: perApp(host, (app) => getRequestListener(createRestApp(app, options.rest).fetch)),
      // A chat attachment's upload carries a document; every other call is a call.
      maxBodyBytes: (req) => (known(req) && req.method === "POST" && ATTACHMENT_UPLOAD_PATH.test(pathOf(req)) ? MAX_DOCUMENT_BODY_BYTES : MAX_BODY_BYTES),
      refuse: refuseRest,
    },
    // Shared conversations: anyone with the link, no caller (limited per client address in the handler).
    { prefix: "/api/share", handler: onlyMethods(["GET", "HEAD"], perApp(host, shareJsonHandler)), maxBodyBytes: callBody },
    { prefix: "/api/health", handler: onlyMethods(["GET", "HEAD"], healthHandler(host)), maxBodyBytes: callBody, always: true },
    { prefix: "/api/metrics", handler: onlyMethods(["GET"], metricsHandler(host)), maxBodyBytes: callBody, always: true },
    {
      prefix: "/api/knowledge/upload",
      admit: admitCaller(host, refuseJson, { ownOriginOnly: true, auth: () => ({ calls: 1 }) }),
      handler: onlyMethods(["POST"], perApp(host, uploadHandler)),
      maxBodyBytes: (req) => (known(req) ? MAX_DOCUMENT_BODY_BYTES : MAX_BODY_BYTES),
    },
  ];
}

/**
 * A route's admission, from the headers alone: a cookie-authenticated write from another site is
 * refused first (nothing counted), then the caller is resolved and its calls counted (`auth`: how,
 * or null when nothing the request calls needs a caller) and attached to the request for the
 * route's face. A refusal (the call limit, the wrong-key limit, a store down) is the route's own
 * error, with `Retry-After` when it asks for one.
 */
function admitCaller(
  host: AppHost,
  refuse: Refuse,
  options: { ownOriginOnly?: boolean; auth: (req: IncomingMessage) => AuthOptions | null },
): NonNullable<ApiRoute["admit"]> {
  return async (req, res) => {
    if (options.ownOriginOnly && isCrossSiteWrite(req, host.env.PARLEY_PUBLIC_URL)) {
      refuseBeforeBody(req, res, refuse, 403, "FORBIDDEN", "This request came from another site: sign-in cookies only work from Parley's own pages");
      return false;
    }
    const app = host.app;
    if (!app) throw new Error("No App to serve yet");
    const auth = options.auth(req);
    return admitUnlessRefused(req, res, refuse, async () => attachCaller(req, auth ? await authenticate(app, clientRequestOf(req), auth) : null));
  };
}

/**
 * Whether a write that a browser's cookie could authenticate comes from another site: a request
 * that is not a read, carries no API key (a key is never ambient, so Bearer and X-API-Key calls
 * pass) and has an `Origin` other than Parley's own: PARLEY_PUBLIC_URL's origin when set, else the
 * request's Host. Browsers send `Origin` with every cross-site POST; a request without one is not
 * a browser's and passes.
 */
export function isCrossSiteWrite(req: IncomingMessage, publicUrl: string | undefined): boolean {
  if (req.method === "GET" || req.method === "HEAD") return false;
  if (keyFromHeaders((name) => req.headers[name] as string | undefined)) return false;
  const origin = req.headers.origin;
  if (origin === undefined) return false;
  if (!URL.canParse(origin)) return true;
  const from = new URL(origin);
  return publicUrl && URL.canParse(publicUrl) ? from.origin !== new URL(publicUrl).origin : from.host !== req.headers.host;
}

/** A handler built once per App, from the App the host serves (the server only calls it once one is ready). */
export function perApp(host: Pick<AppHost, "app">, build: (app: App) => NodeHandler): NodeHandler {
  let built: { app: App; handler: NodeHandler } | undefined;
  return (req, res) => {
    const app = host.app;
    if (!app) throw new Error("No App to serve yet");
    if (built?.app !== app) built = { app, handler: build(app) };
    return built.handler(req, res);
  };
}

function pathOf(req: IncomingMessage): string {
  return (req.url ?? "").split("?", 1)[0] ?? "";
}

/** The procedures a tRPC request calls, named in its path (`a.b,c.d` for a batch). */
function procedureNames(req: IncomingMessage): string[] {
  return pathOf(req).replace(/^\/api\/trpc\/?/, "").split(",");
}
const isBatch = (req: IncomingMessage) => new URL(req.url ?? "/", "http://localhost").searchParams.get("batch") === "1";

/** The router's procedures by path (flat), and whether each needs a caller (built on authedProcedure). */
const procedures = appRouter._def.procedures as unknown as Record<string, { _def: { middlewares: unknown[] } }>;
const needsCaller = (name: string): boolean | undefined =>
  Object.hasOwn(procedures, name) ? procedures[name]!._def.middlewares.some((m) => requireCaller._middlewares.includes(m as never)) : undefined;

/**
 * How a tRPC request authenticates: each procedure it calls that needs a caller counts one call
 * (a batch of n such calls, n); null when every one is public (auth.signIn, auth.signOut), so that
 * a sign-in never looks at the cookie it may replace. A name the router lacks is resolved for
 * (tRPC answers it NOT_FOUND) but not counted.
 */
function trpcAuth(req: IncomingMessage): AuthOptions | null {
  const needs = procedureNames(req).map(needsCaller);
  return needs.every((n) => n === false) ? null : { calls: needs.filter((n) => n === true).length };
}

/**
 * Refuses an anonymous tRPC request that calls anything but a public procedure with UNAUTHORIZED
 * before its body is read: nothing an anonymous request sends is parsed beyond what signing in
 * needs. A GET carries no body (its input is in the URL): tRPC answers it in its own shape, a
 * subscription's refusal as SSE, which its clients read.
 */
function anonymousNeedsNoCaller(handler: NodeHandler): NodeHandler {
  return (req, res) => {
    if (req.method === "GET" || attachedCaller(req) || procedureNames(req).every((name) => needsCaller(name) === false)) return handler(req, res);
    refuseBeforeBody(req, res, refuseTrpc, 401, "UNAUTHORIZED", NEEDS_CALLER_MESSAGE);
  };
}

/** Plain calls answered directly (trpc/plainCalls.ts), the rest by tRPC's own Node adapter (batching: at most MAX_BATCH_CALLS a batch). */
function trpcHandler(app: App): NodeHandler {
  const context = (req: IncomingMessage, res: ServerResponse) => createContext(app, nodeExchange(req, res));
  const adapter = createHTTPHandler({
    basePath: TRPC_BASE,
    router: appRouter,
    maxBatchSize: MAX_BATCH_CALLS,
    // The server has capped the body already; tRPC's own count stays as a second guard.
    maxBodySize: MAX_DOCUMENT_BODY_BYTES,
    createContext: ({ req, res }: { req: IncomingMessage; res: ServerResponse }) => context(req, res),
  });
  return (req, res) => {
    const request = plainRequest(req, TRPC_BASE, MAX_BATCH_CALLS);
    if (!request) return adapter(req, res);
    const ctx = context(req, res);
    return request.type === "subscription" ? streamSubscription(ctx, req, res, request) : answerPlainCalls(ctx, res, request);
  };
}
const TRPC_BASE = "/api/trpc/";

/** The REST face's refusals in its own envelope (WeKnora's codes), from the one REST mapping; a body too large is bad input (1000). */
const refuseRest: Refuse = (_req, res, status, code, message) => {
  const { body } = toRestError(new AppError(kindOfCode(code) ?? "bad_input", message));
  sendJson(res, status, body);
};

/** A refusal in tRPC's own error shape (one per call of a batch), so clients see its code (e.g. SERVICE_UNAVAILABLE). */
const refuseTrpc: Refuse = (req, res, status, code, message) => {
  const error = new TRPCError({ code: code as TRPCError["code"], message });
  sendJson(res, status || getHTTPStatusCodeFromError(error), trpcErrorBody(error, procedureNames(req), isBatch(req)));
};

/**
 * `GET /api/health`: readiness, 503 naming the failing store (or `starting`, `draining`). `?live=1`:
 * liveness, 200 while the event loop answers, whatever the stores.
 */
function healthHandler(host: AppHost): NodeHandler {
  return async (req, res) => {
    if (new URL(req.url ?? "/", "http://localhost").searchParams.get("live") === "1") return sendJson(res, 200, { status: "ok" });
    if (host.state === "draining") return sendJson(res, 503, { status: "draining" });
    if (!host.app) {
      const stores = { db: host.env.DATABASE_URL ? "postgres" : "pglite", redis: host.env.REDIS_URL ? "redis" : "memory" };
      const failing = Object.keys(host.waitingFor);
      // Its first attempt is still running (migrations, the bootstrap): nothing has failed yet.
      if (failing.length === 0) return sendJson(res, 503, { status: "starting", ...stores });
      return sendJson(res, 503, { status: "error", ...stores, failing, errors: host.waitingFor });
    }
    const health = await checkHealth(host.app);
    sendJson(res, health.status === "ok" ? 200 : 503, health);
  };
}

/** `GET /api/metrics`: Prometheus text; with METRICS_TOKEN set, only for `Authorization: Bearer <METRICS_TOKEN>`. */
function metricsHandler(host: AppHost): NodeHandler {
  const token = host.env.METRICS_TOKEN;
  const expected = token ? Buffer.from(`Bearer ${token}`) : null;
  return async (req, res) => {
    if (expected) {
      const given = Buffer.from(req.headers.authorization ?? "");
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        res.setHeader("WWW-Authenticate", "Bearer");
        return sendJson(res, 401, { error: { code: "UNAUTHORIZED", message: "Send 'Authorization: Bearer <METRICS_TOKEN>'" } });
      }
    }
    const { registry } = host.metrics;
    const text = await registry.metrics();
    res.writeHead(200, { "Content-Type": registry.contentType });
    res.end(text);
  };
}

/** `POST /api/knowledge/upload` (multipart; see knowledge/upload.ts, which caps the file itself). */
function uploadHandler(app: App): NodeHandler {
  return async (req, res) => {
    const response = await handleUpload(app, incomingMessageToRequest(req, res, { maxBodySize: null }), attachedCaller(req));
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.end(Buffer.from(await response.arrayBuffer()));
  };
}

function onlyMethods(methods: string[], handler: NodeHandler): NodeHandler {
  return (req, res) => {
    if (methods.includes(req.method ?? "GET")) return handler(req, res);
    res.setHeader("Allow", methods.join(", "));
    sendJson(res, 405, { error: { code: "METHOD_NOT_SUPPORTED", message: `Use ${methods.join(" or ")}` } });
  };
}
