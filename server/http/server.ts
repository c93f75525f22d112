import http, { type IncomingMessage, type ServerResponse } from "node:http";

/** A Node request handler; it answers the request (or throws before answering: a JSON 500). */
export type NodeHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/** One entry of the `/api/*` route table: every request whose path is `prefix` or under `prefix/`. */
export interface ApiRoute {
  prefix: string;
  handler: NodeHandler;
}

/**
 * Sent with every response, API and page alike: no MIME sniffing, no framing by other sites, no
 * full URLs (session ids) leaked in the Referer. API responses are never cached.
 */
const SECURITY_HEADERS: Record<string, string> = {
  "X-Content-Type-Options": "nosniff",
  "X-Frame-Options": "DENY",
  "Referrer-Policy": "same-origin",
};
const API_HEADERS: Record<string, string> = {
  "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
  "Cache-Control": "no-store",
};

/**
 * Parley's HTTP server: `/api/*` goes straight to the handler of its prefix in `routes` (no
 * framework in between); an `/api/*` path no route claims is a JSON 404; every other path is a
 * page, served by Next (`pages`).
 */
export function createHttpServer(options: { routes: ApiRoute[]; pages: NodeHandler }): http.Server {
  const { routes, pages } = options;
  return http.createServer((req, res) => {
    for (const name in SECURITY_HEADERS) res.setHeader(name, SECURITY_HEADERS[name]);
    const path = pathOf(req.url ?? "/");
    if (path !== "/api" && !path.startsWith("/api/")) return run(pages, req, res);
    for (const name in API_HEADERS) res.setHeader(name, API_HEADERS[name]);
    const route = routes.find(({ prefix }) => path === prefix || path.startsWith(`${prefix}/`));
    if (!route) return sendJson(res, 404, { error: { code: "NOT_FOUND", message: `No API at ${path}` } });
    return run(route.handler, req, res);
  });
}

function pathOf(url: string): string {
  const end = url.search(/[?#]/);
  return end === -1 ? url : url.slice(0, end);
}

function run(handler: NodeHandler, req: IncomingMessage, res: ServerResponse) {
  try {
    const done = handler(req, res);
    if (done) done.catch((error: unknown) => fail(res, error));
  } catch (error) {
    fail(res, error);
  }
}

/** A handler that threw: logged here, answered as JSON when nothing has been sent yet. */
function fail(res: ServerResponse, error: unknown) {
  console.error("[parley] request failed:", error);
  if (res.headersSent) res.destroy();
  else sendJson(res, 500, { error: { code: "INTERNAL_SERVER_ERROR", message: "Internal server error" } });
}

export function sendJson(res: ServerResponse, status: number, body: unknown) {
  const json = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(json) });
  res.end(json);
}
