import { createRoute, z } from "@hono/zod-openapi";
import { assertMessageOfSession } from "../../../sessions/messages";
import { getSession } from "../../../sessions/sessions";
import { notFound } from "../../../platform/errors";
import { artifactDownloadParams, artifactJson, artifactParams, ok, sessionIdParam } from "../schemas";
import { errors, json, router, type RestDeps } from "./shared";

const tags = ["sessions"];
const artifactList = json(ok(z.array(artifactJson)), "Always empty");

/**
 * WeKnora's artifacts: files its skills write during an answer. Parley runs no skills, so a session
 * or message the caller may read has none, and no index names one.
 */
export function artifactRoutes(deps: RestDeps) {
  const r = router();

  r.openapi(
    createRoute({
      method: "get",
      path: "/sessions/{id}/artifacts",
      tags,
      description: "The files answers of the session made: none, as Parley runs no skills.",
      request: { params: sessionIdParam },
      responses: { 200: artifactList, ...errors },
    }),
    async (c) => {
      await getSession(deps.db, c.get("caller"), c.req.valid("param").id, "tenant");
      return c.json({ success: true as const, data: [] }, 200);
    },
  );

  r.openapi(
    createRoute({
      method: "get",
      path: "/sessions/{id}/messages/{message_id}/artifacts",
      tags,
      description: "The files the answer made: none, as Parley runs no skills.",
      request: { params: artifactParams },
      responses: { 200: artifactList, ...errors },
    }),
    async (c) => {
      const { id, message_id } = c.req.valid("param");
      await assertMessageOfSession(deps.db, c.get("caller"), id, message_id);
      return c.json({ success: true as const, data: [] }, 200);
    },
  );

  r.openapi(
    createRoute({
      method: "get",
      path: "/sessions/{id}/messages/{message_id}/artifacts/{index}/download",
      tags,
      description: "A file the answer made, by its index: always 404 (1003), as answers make none.",
      request: { params: artifactDownloadParams },
      responses: { 200: { content: { "application/octet-stream": { schema: z.string() } }, description: "Never: there are no artifacts" }, ...errors },
    }),
    async (c) => {
      const { id, message_id } = c.req.valid("param");
      await assertMessageOfSession(deps.db, c.get("caller"), id, message_id);
      throw notFound("Artifact");
    },
  );

  return r;
}
