import { randomUUID } from "node:crypto";
import { OpenAPIHono } from "@hono/zod-openapi";
import { AppError } from "../../platform/errors";
import { requestLogFields } from "../../platform/log";
import { attachedCaller, callerOf } from "../authenticate";
import { respondWithError, unauthorized, validationHook } from "./errors";
import { artifactRoutes } from "./routes/artifacts";
import { attachmentRoutes } from "./routes/attachments";
import { chatRoutes } from "./routes/chat";
import { knowledgeRoutes } from "./routes/knowledge";
import { messageRoutes } from "./routes/messages";
import { sessionRoutes } from "./routes/sessions";
import { wikiRoutes } from "./routes/wiki";
import { suggestionRoutes } from "./routes/suggestions";
import { nodeBindingsOf, type RestDeps, type RestEnv } from "./routes/shared";
import { KEEP_ALIVE_MS } from "./frames";

/** The one route open to anyone (the `doc31` below). */
export const OPENAPI_PATH = "/api/v1/openapi.json";
export { ATTACHMENT_UPLOAD_PATH } from "./routes/attachments";
/** How the face authenticates: API keys only, each request one call. */
export const REST_AUTH = { calls: 1, cookie: false } as const;

export interface RestOptions {
  /** How long an answer stream may stay quiet before a `:` comment keeps it alive. */
  keepAliveMs?: number;
}

/**
 * WeKnora's REST face (`/api/v1`): its session, message and chat routes over the domain modules
 * the tRPC routers call. `server/http/routes.ts` mounts it (`getRequestListener(rest.fetch)`), and
 * the server caps its bodies before it runs (the route table's cap).
 */
export function createRestApp(deps: RestDeps, options: RestOptions = {}) {
  const keepAliveMs = options.keepAliveMs ?? KEEP_ALIVE_MS;
  const rest = new OpenAPIHono<RestEnv>({ defaultHook: validationHook }).basePath("/api/v1");

  rest.use(async (c, next) => {
    // A trace id, as in WeKnora (its Go SDK sends one per context): echoed on every response, errors
    // included, one made when none came, and logged. It never names a turn: Idempotency-Key does.
    const traceId = c.req.header("x-request-id")?.trim().slice(0, 200) || randomUUID();
    const { incoming, outgoing } = nodeBindingsOf(c);
    // On the Node response itself, so it goes out with streams the routes write there too (a
    // header set through Hono makes it re-wrap their RESPONSE_ALREADY_SENT, which then is written twice).
    if (outgoing) outgoing.setHeader("X-Request-ID", traceId);
    else c.header("X-Request-ID", traceId);
    if (incoming) requestLogFields(incoming).traceId = traceId;
    await next();
  });
  rest.use(async (c, next) => {
    // WeKnora's web app posts its chat JSON as `text/event-stream`: every body here is JSON,
    // whatever its Content-Type says (an unparseable one is 400 as usual).
    // Uploads (attachments) are multipart, read by their route.
    const type = c.req.header("content-type");
    if (type !== undefined && !/^application\/([a-z.-]+\+)?json|^multipart\/form-data/i.test(type)) c.req.raw.headers.set("content-type", "application/json");
    await next();
  });

  rest.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "Parley — WeKnora-compatible REST",
      version: "1",
      description: "WeKnora's session, message and chat routes. Authenticate with 'X-API-Key: <key>' or 'Authorization: Bearer <key>'.",
    },
    security: [{ apiKey: [] }, { bearer: [] }],
  });
  rest.openAPIRegistry.registerComponent("securitySchemes", "apiKey", { type: "apiKey", in: "header", name: "X-API-Key" });
  rest.openAPIRegistry.registerComponent("securitySchemes", "bearer", { type: "http", scheme: "bearer" });

  rest.use(async (c, next) => {
    if (c.req.path === OPENAPI_PATH) return next();
    // Keys only (no cookie: nothing here guards against cross-site writes). Resolving counted the
    // request (a continue-stream too), refused before the route does anything.
    const { incoming } = nodeBindingsOf(c);
    const request = { header: (name: string) => c.req.header(name), remoteAddress: incoming?.socket.remoteAddress };
    const caller = await callerOf(deps, attachedCaller(incoming), request, REST_AUTH);
    if (!caller) throw unauthorized();
    const tenantHeader = c.req.header("x-tenant-id");
    if (tenantHeader !== undefined && tenantHeader.trim() !== String(caller.tenant.number)) {
      throw new AppError("forbidden", "X-Tenant-ID is not the tenant of this API key");
    }
    c.set("caller", caller);
    await next();
  });

  rest.route("/", sessionRoutes(deps));
  rest.route("/", chatRoutes(deps, keepAliveMs));
  rest.route("/", messageRoutes(deps));
  rest.route("/", knowledgeRoutes(deps));
  rest.route("/", wikiRoutes(deps));
  rest.route("/", artifactRoutes(deps));
  rest.route("/", attachmentRoutes(deps));
  rest.route("/", suggestionRoutes(deps));

  rest.notFound((c) => respondWithError(c, new AppError("not_found", `No route ${c.req.method} ${c.req.path}`)));
  rest.onError((error, c) => respondWithError(c, error));
  return rest;
}
export type RestApp = ReturnType<typeof createRestApp>;
