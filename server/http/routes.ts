import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { getRequestListener } from "@hono/node-server";
import { TRPCError } from "@trpc/server";
import { getHTTPStatusCodeFromError } from "@trpc/server/http";
import { incomingMessageToRequest } from "@trpc/server/adapters/node-http";
import { createHTTPHandler } from "@trpc/server/adapters/standalone";
import { getErrorShape } from "@trpc/server/unstable-core-do-not-import";
import type { App } from "../app";
import { keyFromHeaders } from "../auth";
import { AppError } from "../errors";
import { checkHealth } from "../health";
import type { AppHost } from "../host";
import { handleUpload } from "../knowledge/upload";
import { createRestApp } from "../rest";
import { toRestError } from "../rest/errors";
import { appRouter } from "../routers/_app";
import { createContext, nodeExchange } from "../trpc";
import { MAX_BODY_BYTES, refuseJson, sendJson, type ApiRoute, type NodeHandler, type Refuse } from "./server";
import { withSubscriptions } from "./subscriptions";
import { MAX_BATCH_CALLS } from "../../client/limits";

export { MAX_BODY_BYTES };
/** … except a call that carries a document (`knowledge.documents.add`: 5 MB of text, JSON-escaped; the upload route). */
export const MAX_DOCUMENT_BODY_BYTES = 6 * 1024 * 1024;
export { MAX_BATCH_CALLS };
const DOCUMENT_PROCEDURE = "knowledge.documents.add";

/**
 * The `/api/*` route table, one entry per prefix. The server (server.ts) refuses, before any
 * handler runs, calls while the App is not ready or the instance drains (503, `Retry-After`) and
 * bodies over each route's cap (1 MB unless the route says more). Further faces mount here, each
 * as a Node handler built from the ready App with `perApp`.
 */
export function apiRoutes(host: AppHost): ApiRoute[] {
  return [
    {
      prefix: "/api/trpc",
      handler: ownOriginOnly(host, perApp(host, trpcHandler), refuseTrpc),
      // The procedure names are in the path, so the cap is chosen before the body is read.
      maxBodyBytes: (req) => (procedurePath(req).includes(DOCUMENT_PROCEDURE) ? MAX_DOCUMENT_BODY_BYTES : MAX_BODY_BYTES),
      refuse: refuseTrpc,
    },
    // The WeKnora REST face: a Hono app whose routes carry the `/api/v1` prefix themselves.
    { prefix: "/api/v1", handler: perApp(host, (app) => getRequestListener(createRestApp(app).fetch)), refuse: refuseRest },
    { prefix: "/api/health", handler: onlyMethods(["GET", "HEAD"], healthHandler(host)), always: true },
    { prefix: "/api/metrics", handler: onlyMethods(["GET"], metricsHandler(host)), always: true },
    {
      prefix: "/api/knowledge/upload",
      handler: onlyMethods(["POST"], ownOriginOnly(host, perApp(host, uploadHandler), refuseJson)),
      maxBodyBytes: () => MAX_DOCUMENT_BODY_BYTES,
    },
  ];
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

/** Refuses cross-site writes (see isCrossSiteWrite) with 403 before `handler` runs. */
function ownOriginOnly(host: AppHost, handler: NodeHandler, refuse: Refuse): NodeHandler {
  return (req, res) => {
    if (!isCrossSiteWrite(req, host.env.PARLEY_PUBLIC_URL)) return handler(req, res);
    refuse(req, res, 403, "FORBIDDEN", "This request came from another site: sign-in cookies only work from Parley's own pages");
  };
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

function procedurePath(req: IncomingMessage): string {
  return (req.url ?? "").split("?", 1)[0] ?? "";
}

/** tRPC's own Node adapter (batching: at most MAX_BATCH_CALLS a batch); subscriptions stream from subscriptions.ts. */
function trpcHandler(app: App): NodeHandler {
  const context = (req: IncomingMessage, res: ServerResponse) => createContext(app, nodeExchange(req, res));
  return withSubscriptions(
    TRPC_BASE,
    context,
    createHTTPHandler({
      basePath: TRPC_BASE,
      router: appRouter,
      maxBatchSize: MAX_BATCH_CALLS,
      // The server has capped the body already; tRPC's own count stays as a second guard.
      maxBodySize: MAX_DOCUMENT_BODY_BYTES,
      createContext: ({ req, res }: { req: IncomingMessage; res: ServerResponse }) => context(req, res),
    }),
  );
}
const TRPC_BASE = "/api/trpc/";

/** A refusal in tRPC's own error shape (one per call of a batch), so clients see its code (e.g. SERVICE_UNAVAILABLE). */
/** The REST face's refusals in its own envelope (WeKnora's codes), from the one REST mapping. */
const refuseRest: Refuse = (_req, res, status, code, message) => {
  const { body } = toRestError(new AppError(code === "SERVICE_UNAVAILABLE" ? "unavailable" : "bad_input", message));
  sendJson(res, status, body);
};

const refuseTrpc: Refuse = (req, res, status, code, message) => {
  const error = new TRPCError({ code: code as TRPCError["code"], message });
  const config = appRouter._def._config;
  const paths = procedurePath(req).replace(/^\/api\/trpc\/?/, "").split(",");
  const bodyOf = (path: string) => ({
    error: config.transformer.output.serialize(getErrorShape({ config, error, type: "unknown", path: path || undefined, input: undefined, ctx: undefined })) as unknown,
  });
  const batch = new URL(req.url ?? "/", "http://localhost").searchParams.get("batch") === "1";
  sendJson(res, status || getHTTPStatusCodeFromError(error), batch ? paths.map(bodyOf) : bodyOf(paths[0] ?? ""));
};

/**
 * `GET /api/health`: readiness, 503 naming the failing store (or `draining`). `?live=1`:
 * liveness, 200 while the event loop answers, whatever the stores.
 */
function healthHandler(host: AppHost): NodeHandler {
  return async (req, res) => {
    if (new URL(req.url ?? "/", "http://localhost").searchParams.get("live") === "1") return sendJson(res, 200, { status: "ok" });
    if (host.state === "draining") return sendJson(res, 503, { status: "draining" });
    if (!host.app) {
      const failing = Object.keys(host.waitingFor);
      return sendJson(res, 503, {
        status: "error",
        db: host.env.DATABASE_URL ? "postgres" : "pglite",
        redis: host.env.REDIS_URL ? "redis" : "memory",
        failing,
        errors: host.waitingFor,
      });
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
    const response = await handleUpload(app, incomingMessageToRequest(req, res, { maxBodySize: null }));
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
