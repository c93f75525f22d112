import http, { type IncomingMessage, type ServerResponse } from "node:http";
import { getHTTPStatusCodeFromError } from "@trpc/server/http";
import { retryAfterOf, toTRPCError } from "../platform/errors";
import { loggedPath, requestLogFields, type Logger } from "../platform/log";
import type { Metrics } from "../platform/metrics";

/** A Node request handler; it answers the request (or throws before answering: a JSON 500). */
export type NodeHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/** Answers an error the server raises before a route's handler runs, in that route's own shape. */
export type Refuse = (req: IncomingMessage, res: ServerResponse, status: number, code: string, message: string) => void;

/** One entry of the `/api/*` route table: every request whose path is `prefix` or under `prefix/`. */
export interface ApiRoute {
  prefix: string;
  handler: NodeHandler;
  /**
   * Runs first, from the request's headers alone (its body unread): works out who calls and may
   * answer the request itself (a refusal), returning false when it did.
   */
  admit?: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;
  /** The largest body this request may send, given what `admit` found (the route table sets it: routes.ts); enforced by the server. */
  maxBodyBytes: (req: IncomingMessage) => number;
  /** The route's error shape (default `{ error: { code, message } }`). */
  refuse?: Refuse;
  /** Served whatever the instance's state (health, metrics); other routes need a ready App. */
  always?: boolean;
}

/** What the server asks of the process around it: may calls reach the App, where to log and count. */
export interface ServerHost {
  readonly state: "starting" | "ready" | "draining";
  readonly log: Logger;
  readonly metrics: Pick<Metrics, "httpRequests" | "httpDuration">;
}

/** Seconds a client is asked to wait (`Retry-After`) while the instance starts or drains. */
export const RETRY_AFTER_SECONDS = 2;

/**
 * Sent with every response, API and page alike: no MIME sniffing, no framing by other sites, no
 * full URLs (session ids) leaked in the Referer. API responses are never cached.
 */
const SECURITY_HEADERS: Record<string, string> = {
  "X-Content-Type-Options": "nosniff",
  "X-Frame-Options": "DENY",
  "Referrer-Policy": "same-origin",
};
/**
 * The Content-Security-Policy of pages: nothing remote (no image, script, style, font or
 * connection to another origin, no <object>, no <base> or form posting elsewhere, no framing).
 * Next's App Router writes its hydration data as inline scripts with no nonce (a nonce would make
 * every page dynamic), so inline scripts are allowed; in dev mode Next also evaluates code and
 * talks to its compiler over a WebSocket.
 */
export function pageContentSecurityPolicy(dev = false): string {
  return [
    "default-src 'self'",
    `script-src 'self' 'unsafe-inline'${dev ? " 'unsafe-eval'" : ""}`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    `connect-src 'self'${dev ? " ws: wss:" : ""}`,
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}

const API_HEADERS: Record<string, string> = {
  "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
  "Cache-Control": "no-store",
};

export const refuseJson: Refuse = (_req, res, status, code, message) => sendJson(res, status, { error: { code, message } });

/**
 * A refusal sent while the body is unread: the connection closes after it, so the body is never
 * read (Node would otherwise read and drop it to keep the connection).
 */
export function refuseBeforeBody(req: IncomingMessage, res: ServerResponse, refuse: Refuse, status: number, code: string, message: string) {
  if (req.headers["content-length"] !== undefined || req.headers["transfer-encoding"] !== undefined) res.setHeader("Connection", "close");
  refuse(req, res, status, code, message);
}

/**
 * Runs a check that may refuse the request (a limit, a wrong key, a store down): true when it
 * passes; otherwise the refusal is answered with `refuse`, with the error's status, code and
 * `Retry-After`, and false is returned. Anything that is not a refusal (a 500) is thrown.
 */
export async function admitUnlessRefused(req: IncomingMessage, res: ServerResponse, refuse: Refuse, check: () => Promise<unknown>): Promise<boolean> {
  try {
    await check();
    return true;
  } catch (error) {
    const refusal = toTRPCError(error);
    if (refusal.code === "INTERNAL_SERVER_ERROR") throw error;
    const retryAfter = retryAfterOf(error);
    if (retryAfter !== undefined) res.setHeader("Retry-After", String(retryAfter));
    refuseBeforeBody(req, res, refuse, getHTTPStatusCodeFromError(refusal), refusal.code, refusal.message);
    return false;
  }
}

/**
 * Parley's HTTP server: `/api/*` goes straight to the handler of its prefix in `routes` (no
 * framework in between); an `/api/*` path no route claims is a JSON 404; every other path is a
 * page, served by Next (`pages`). Before a route's handler runs, the server refuses what it must
 * not take: calls while the App is not ready or the instance drains (503 with `Retry-After`), what
 * the route's `admit` refuses (who calls, from the headers), and bodies over the route's cap for
 * that caller (413, from Content-Length before anything is read, or counted as a chunked body
 * arrives). Every request is logged once it ends, and counted.
 */
export function createHttpServer(options: { routes: ApiRoute[]; pages: NodeHandler; host: ServerHost; dev?: boolean }): http.Server {
  const { routes, pages, host } = options;
  const pageCsp = pageContentSecurityPolicy(options.dev);
  const server = http.createServer((req, res) => {
    const path = pathOf(req.url ?? "/");
    const isApi = path === "/api" || path.startsWith("/api/");
    const route = isApi ? routes.find(({ prefix }) => path === prefix || path.startsWith(`${prefix}/`)) : undefined;
    observe(host, req, res, path, isApi ? (route?.prefix ?? "unknown") : "page");
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    // A draining instance closes each connection it answers, so clients move to another one.
    if (host.state === "draining") res.setHeader("Connection", "close");
    if (!isApi) {
      res.setHeader("Content-Security-Policy", pageCsp);
      return run(host.log, pages, req, res);
    }
    for (const [name, value] of Object.entries(API_HEADERS)) res.setHeader(name, value);
    if (!route) return sendJson(res, 404, { error: { code: "NOT_FOUND", message: `No API at ${path}` } });
    const refuse = route.refuse ?? refuseJson;
    if (!route.always && host.state !== "ready") {
      res.setHeader("Retry-After", String(RETRY_AFTER_SECONDS));
      const message = host.state === "draining" ? "This instance is shutting down; retry on another" : "Parley is starting: waiting for Postgres or Redis";
      return refuse(req, res, 503, "SERVICE_UNAVAILABLE", message);
    }
    return run(host.log, admitted(route, refuse), req, res);
  });
  // Node closes an idle kept-alive connection after 5 s; a client (or nginx's upstream pool) that
  // sends on it just then gets a reset. Idle connections outlive the usual 60 s of proxies and
  // clients instead, so the client side closes them first.
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  server.headersTimeout = KEEP_ALIVE_MS + 1_000;
  return server;
}

/** How long an idle kept-alive connection stays open (above nginx's and browsers' 60 s). */
const KEEP_ALIVE_MS = 65_000;

/** The route's handler, behind its admission and its body cap. */
function admitted(route: ApiRoute, refuse: Refuse): NodeHandler {
  return async (req, res) => {
    if (route.admit && !(await route.admit(req, res))) return;
    if (!capBody(req, res, route.maxBodyBytes(req), refuse)) return;
    return route.handler(req, res);
  };
}

/** Logs the request when its response ends (streams: when they close) and counts it. */
function observe(host: ServerHost, req: IncomingMessage, res: ServerResponse, path: string, route: string) {
  const started = performance.now();
  const method = req.method ?? "GET";
  res.once("close", () => {
    const seconds = (performance.now() - started) / 1000;
    const status = res.headersSent ? res.statusCode : 0;
    host.metrics.httpRequests.inc({ method, route, status: String(status) });
    host.metrics.httpDuration.observe({ method, route }, seconds);
    // Pages and their assets are many and say little: they log at debug.
    const line = { method, path: loggedPath(path), status, ms: Math.round(seconds * 1000), ...requestLogFields(req) };
    if (route === "page") host.log.debug(line, "request");
    else host.log.info(line, "request");
  });
}

/**
 * Refuses a body over `limit` before the handler reads it: a declared Content-Length at once, a
 * chunked body as soon as its count passes the limit (its further chunks are dropped). False when
 * the request was refused.
 */
function capBody(req: IncomingMessage, res: ServerResponse, limit: number, refuse: Refuse): boolean {
  const message = `The request body is larger than ${limit} bytes`;
  const declared = req.headers["content-length"];
  if (declared !== undefined) {
    if (Number(declared) <= limit) return true;
    res.setHeader("Connection", "close");
    refuse(req, res, 413, "PAYLOAD_TOO_LARGE", message);
    return false;
  }
  if (req.headers["transfer-encoding"] === undefined) return true;
  // Node's HTTP parser hands the body to the request stream through push(): counting there sees
  // every chunk before any reader does, whichever library reads it (and what arrived while the
  // route admitted the request waits in the stream's buffer).
  let received = req.readableLength;
  let refused = false;
  const push = req.push.bind(req);
  req.push = (chunk, encoding) => {
    if (chunk === null) return push(chunk, encoding);
    if (refused) return true;
    received += (chunk as Buffer).length;
    if (received <= limit) return push(chunk, encoding);
    refused = true;
    if (!res.headersSent) {
      res.setHeader("Connection", "close");
      refuse(req, res, 413, "PAYLOAD_TOO_LARGE", message);
    }
    // The connection closes once the 413 is out; what the handler read so far it never completes.
    return true;
  };
  return true;
}

function pathOf(url: string): string {
  const end = url.search(/[?#]/);
  return end === -1 ? url : url.slice(0, end);
}

function run(log: Logger, handler: NodeHandler, req: IncomingMessage, res: ServerResponse) {
  try {
    const done = handler(req, res);
    if (done) done.catch((error: unknown) => fail(log, res, error));
  } catch (error) {
    fail(log, res, error);
  }
}

/** A handler that threw: logged here, answered as JSON when nothing has been sent yet. */
function fail(log: Logger, res: ServerResponse, error: unknown) {
  // Already answered (a body refused mid-stream): the handler's late failure is expected.
  if (res.writableEnded) return;
  log.error({ err: error }, "request failed");
  if (res.headersSent) res.destroy();
  else sendJson(res, 500, { error: { code: "INTERNAL_SERVER_ERROR", message: "Internal server error" } });
}

export function sendJson(res: ServerResponse, status: number, body: unknown) {
  const json = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(json) });
  res.end(json);
}
