import type { IncomingMessage, ServerResponse } from "node:http";
import { getRequestListener } from "@hono/node-server";
import { incomingMessageToRequest } from "@trpc/server/adapters/node-http";
import { createHTTPHandler } from "@trpc/server/adapters/standalone";
import type { App } from "../app";
import { checkHealth } from "../health";
import { handleUpload } from "../knowledge/upload";
import { createRestApp } from "../rest";
import { appRouter } from "../routers/_app";
import { createContext, nodeExchange } from "../trpc";
import { sendJson, type ApiRoute, type NodeHandler } from "./server";

/** The largest request body a call may send (refused with 413 `PAYLOAD_TOO_LARGE` once passed). */
export const MAX_BODY_BYTES = 1024 * 1024;
/** … except a call that carries a document (`knowledge.documents.add`: 5 MB of text, JSON-escaped). */
export const MAX_DOCUMENT_BODY_BYTES = 6 * 1024 * 1024;
const DOCUMENT_PROCEDURE = "knowledge.documents.add";

/**
 * The `/api/*` route table, one entry per prefix. Further faces mount here, each as a Node
 * handler built from the app:
 * - `/api/metrics`, Prometheus text: `{ prefix: "/api/metrics", handler: <prom-client registry handler> }`.
 * The server adds the security headers and answers a throwing handler with a JSON 500.
 */
export function apiRoutes(app: App): ApiRoute[] {
  return [
    { prefix: "/api/trpc", handler: trpcHandler(app) },
    // The WeKnora REST face: a Hono app whose routes carry the `/api/v1` prefix themselves.
    { prefix: "/api/v1", handler: getRequestListener(createRestApp(app).fetch) },
    { prefix: "/api/health", handler: onlyMethods(["GET", "HEAD"], healthHandler(app)) },
    { prefix: "/api/knowledge/upload", handler: onlyMethods(["POST"], uploadHandler(app)) },
  ];
}

/** tRPC's own Node adapter: batching and SSE subscriptions as on any tRPC server, body size capped. */
function trpcHandler(app: App): NodeHandler {
  const options = {
    basePath: "/api/trpc/",
    router: appRouter,
    createContext: ({ req, res }: { req: IncomingMessage; res: ServerResponse }) => createContext(app, nodeExchange(req, res)),
  };
  const calls = createHTTPHandler({ ...options, maxBodySize: MAX_BODY_BYTES });
  const documentCalls = createHTTPHandler({ ...options, maxBodySize: MAX_DOCUMENT_BODY_BYTES });
  // The procedure names are in the path, so the cap is chosen before the body is read.
  return (req, res) => (req.url?.split("?", 1)[0].includes(DOCUMENT_PROCEDURE) ? documentCalls : calls)(req, res);
}

/**
 * `GET /api/health`: readiness, 503 naming the failing store. `?live=1`: liveness, 200 while the
 * event loop answers, whatever the stores.
 */
function healthHandler(app: App): NodeHandler {
  return async (req, res) => {
    if (new URL(req.url ?? "/", "http://localhost").searchParams.get("live") === "1") return sendJson(res, 200, { status: "ok" });
    const health = await checkHealth(app);
    sendJson(res, health.status === "ok" ? 200 : 503, health);
  };
}

/** `POST /api/knowledge/upload` (multipart; see knowledge/upload.ts, which caps the body itself). */
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
