import { createRoute, z } from "@hono/zod-openapi";
import { generateSessionTitle } from "../../../chat/answers";
import { createSession, getSession, listSessions, updateSession } from "../../../sessions/sessions";
import { clearSession, removeSession, removeSessions } from "../../../sessions/removal";
import {
  batchDeleteBody,
  generateTitleBody,
  listQuery,
  ok,
  okList,
  sessionBody,
  sessionIdParam,
  sessionJson,
  toSessionInput,
  toSessionJson,
} from "../schemas";
import { body, done, errors, json, router, type RestDeps } from "./shared";

const tags = ["sessions"];
const pinned = z.object({ success: z.literal(true), is_pinned: z.boolean() });

/** Session rows of WeKnora's table: create, list, get, update, delete (one, many, all), pin, clear, title. */
export function sessionRoutes(deps: RestDeps) {
  const r = router();

  r.openapi(
    createRoute({ method: "post", path: "/sessions", tags, request: { body: body(sessionBody) }, responses: { 201: json(ok(sessionJson), "The new session"), ...errors } }),
    async (c) => {
      const caller = c.get("caller");
      const session = await createSession(deps.db, caller, toSessionInput(c.req.valid("json")));
      return c.json({ success: true as const, data: toSessionJson(session, caller) }, 201);
    },
  );

  r.openapi(
    createRoute({
      method: "get",
      path: "/sessions",
      tags,
      description: "The caller's sessions, pinned first (latest pin first), then most recently updated.",
      request: { query: listQuery },
      responses: { 200: json(okList(sessionJson), "A page of sessions with the total"), ...errors },
    }),
    async (c) => {
      const caller = c.get("caller");
      const { page, page_size, keyword } = c.req.valid("query");
      const { items, total } = await listSessions(deps.db, caller, { limit: page_size, offset: (page - 1) * page_size, search: keyword, withTotal: true });
      return c.json({ success: true as const, data: items.map((s) => toSessionJson(s, caller)), total: total ?? 0, page, page_size }, 200);
    },
  );

  // Before `/sessions/{id}`, which would otherwise take "batch" for an id.
  r.openapi(
    createRoute({ method: "delete", path: "/sessions/batch", tags, request: { body: body(batchDeleteBody) }, responses: done("Sessions deleted") }),
    async (c) => {
      const input = c.req.valid("json");
      const deleted = await removeSessions(deps, c.get("caller"), input.delete_all ? { all: true } : { ids: input.ids ?? [] });
      return c.json({ success: true as const, message: `${deleted} sessions deleted` }, 200);
    },
  );

  r.openapi(
    createRoute({ method: "get", path: "/sessions/{id}", tags, request: { params: sessionIdParam }, responses: { 200: json(ok(sessionJson), "The session"), ...errors } }),
    async (c) => {
      const caller = c.get("caller");
      const session = await getSession(deps.db, caller, c.req.valid("param").id, "tenant");
      return c.json({ success: true as const, data: toSessionJson(session, caller) }, 200);
    },
  );

  r.openapi(
    createRoute({
      method: "put",
      path: "/sessions/{id}",
      tags,
      request: { params: sessionIdParam, body: body(sessionBody) },
      responses: { 200: json(ok(sessionJson), "The updated session (configs deep-merged)"), ...errors },
    }),
    async (c) => {
      const caller = c.get("caller");
      const session = await updateSession(deps.db, caller, c.req.valid("param").id, toSessionInput(c.req.valid("json")));
      return c.json({ success: true as const, data: toSessionJson(session, caller) }, 200);
    },
  );

  r.openapi(
    createRoute({ method: "delete", path: "/sessions/{id}", tags, request: { params: sessionIdParam }, responses: done("Session deleted") }),
    async (c) => {
      await removeSession(deps, c.get("caller"), c.req.valid("param").id);
      return c.json({ success: true as const, message: "Session deleted successfully" }, 200);
    },
  );

  for (const method of ["post", "delete"] as const) {
    r.openapi(
      createRoute({
        method,
        path: "/sessions/{id}/pin",
        tags,
        request: { params: sessionIdParam },
        responses: { 200: json(pinned, method === "post" ? "Pinned" : "Unpinned"), ...errors },
      }),
      async (c) => {
        const session = await updateSession(deps.db, c.get("caller"), c.req.valid("param").id, { pinned: method === "post" });
        return c.json({ success: true as const, is_pinned: session.pinned }, 200);
      },
    );
  }

  r.openapi(
    createRoute({ method: "delete", path: "/sessions/{id}/messages", tags, request: { params: sessionIdParam }, responses: done("Messages cleared") }),
    async (c) => {
      const deleted = await clearSession(deps, c.get("caller"), c.req.valid("param").id);
      return c.json({ success: true as const, message: `${deleted} messages cleared` }, 200);
    },
  );

  r.openapi(
    createRoute({
      method: "post",
      path: "/sessions/{id}/generate_title",
      tags,
      description: "Titles the session from the first user message of `messages` when given, else from its own first question.",
      request: { params: sessionIdParam, body: body(generateTitleBody) },
      responses: { 200: json(ok(z.string()), "The title, also stored on the session"), ...errors },
    }),
    async (c) => {
      const question = c.req.valid("json").messages?.find((m) => m.role === "user")?.content;
      const { title } = await generateSessionTitle(deps, c.get("caller"), c.req.valid("param").id, question);
      return c.json({ success: true as const, data: title }, 200);
    },
  );

  return r;
}
