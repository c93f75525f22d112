import type { IncomingMessage, ServerResponse } from "node:http";
import type { App } from "../boot/app";
import type { AppHost } from "../boot/host";
import { readShare } from "../sessions/shares";
import { clientAddress, clientRequestOf } from "./authenticate";
import { admitUnlessRefused, refuseJson, sendJson, type NodeHandler, type Refuse } from "./server";

/**
 * Shared conversations over HTTP, for anyone with the link (no caller): the JSON at
 * `GET /api/share/<token>`, and the guard in front of the page `/share/<token>` (rendered by Next).
 * Both count against one limit per client address, and neither is ever indexed.
 */

const NOINDEX = "noindex, nofollow";
/** The one answer for every token that shows nothing, so a guess learns nothing. */
const UNKNOWN = { error: { code: "NOT_FOUND", message: "This link is unknown or no longer shared" } };

/** Counts one read from the request's client address; false (after answering 429 with `refuse`) past the limit. */
function readAllowed(app: App, req: IncomingMessage, res: ServerResponse, refuse: Refuse): Promise<boolean> {
  return admitUnlessRefused(req, res, refuse, () => app.limits.shareRead(clientAddress(clientRequestOf(req), app.env.PARLEY_TRUST_PROXY)));
}

/** The share page's refusal: plain text, as the page is not JSON. */
const refusePlainText: Refuse = (_req, res, status, _code, message) => {
  res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8" });
  res.end(message);
};

/** `GET /api/share/<token>` → `{ title, createdAt, messages: [{ role, content, references, createdAt }] }`, or 404. */
export function shareJsonHandler(app: App): NodeHandler {
  return async (req, res) => {
    res.setHeader("X-Robots-Tag", NOINDEX);
    if (!(await readAllowed(app, req, res, refuseJson))) return;
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
      if (!(await readAllowed(app, req, res, refusePlainText))) return;
    }
    return pages(req, res);
  };
}
