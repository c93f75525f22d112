import type { IncomingMessage, ServerResponse } from "node:http";
import type { App } from "../boot/app";
import type { AppHost } from "../boot/host";
import { readShare } from "../sessions/shares";
import { AppError, retryAfterOf } from "../platform/errors";
import { clientAddress, clientRequestOf } from "./authenticate";
import { sendJson, type NodeHandler } from "./server";

/**
 * Shared conversations over HTTP, for anyone with the link (no caller): the JSON at
 * `GET /api/share/<token>`, and the guard in front of the page `/share/<token>` (rendered by Next).
 * Both count against one limit per client address, and neither is ever indexed.
 */

const NOINDEX = "noindex, nofollow";
/** The one answer for every token that shows nothing, so a guess learns nothing. */
const UNKNOWN = { error: { code: "NOT_FOUND", message: "This link is unknown or no longer shared" } };

/** Counts one read from the request's client address; false (after answering 429 in `refuse`'s shape) past the limit. */
async function readAllowed(app: App, req: IncomingMessage, res: ServerResponse, refuse: (message: string) => void): Promise<boolean> {
  try {
    await app.limits.shareRead(clientAddress(clientRequestOf(req), app.env.PARLEY_TRUST_PROXY));
    return true;
  } catch (error) {
    if (!(error instanceof AppError && error.kind === "rate_limited")) throw error;
    res.setHeader("Retry-After", String(retryAfterOf(error) ?? 60));
    refuse(error.message);
    return false;
  }
}

/** `GET /api/share/<token>` → `{ title, createdAt, messages: [{ role, content, references, createdAt }] }`, or 404. */
export function shareJsonHandler(app: App): NodeHandler {
  return async (req, res) => {
    res.setHeader("X-Robots-Tag", NOINDEX);
    if (!(await readAllowed(app, req, res, (message) => sendJson(res, 429, { error: { code: "TOO_MANY_REQUESTS", message } })))) return;
    const token = /^\/api\/share\/([^/?#]+)$/.exec((req.url ?? "").split("?", 1)[0]!)?.[1];
    const shared = token ? await readShare(app.db, token) : null;
    if (!shared) return sendJson(res, 404, UNKNOWN);
    sendJson(res, 200, shared);
  };
}

/**
 * The pages' handler with the share page's guard in front: `/share/<token>` counts against the
 * address's share limit (429 past it) and is marked noindex; every other page passes untouched.
 */
export function withSharePageGuard(host: Pick<AppHost, "app">, pages: NodeHandler): NodeHandler {
  return async (req, res) => {
    const app = host.app;
    if (app && /^\/share\/[^/]+\/?$/.test((req.url ?? "").split("?", 1)[0]!)) {
      res.setHeader("X-Robots-Tag", NOINDEX);
      const allowed = await readAllowed(app, req, res, (message) => {
        res.writeHead(429, { "Content-Type": "text/plain; charset=utf-8" });
        res.end(message);
      });
      if (!allowed) return;
    }
    return pages(req, res);
  };
}
