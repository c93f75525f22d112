import { createRoute, z } from "@hono/zod-openapi";
import { getBase } from "../../../knowledge/repository";
import { notFound } from "../../../platform/errors";
import { ok, WIKI_CONTENT_TYPES, wikiBaseParam, wikiIndexJson, wikiIndexQuery, wikiPageJson, wikiPageParams, wikiSearchQuery } from "../schemas";
import { errors, json, router, type RestDeps } from "./shared";

const tags = ["wiki"];

/**
 * The wiki reads WeKnora's MCP server makes (search, a page, the index). Parley's knowledge bases
 * have no wiki pages: search finds none, the index lists none, and every page is 404; each once
 * the base is known to be the caller's (another tenant's is 404 as well). WeKnora answers these
 * without its `data` envelope: the fields sit beside `success`.
 */
export function wikiRoutes(deps: RestDeps) {
  const r = router();

  r.openapi(
    createRoute({
      method: "get",
      path: "/knowledgebase/{kb_id}/wiki/search",
      tags,
      description: "Wiki pages matching `q`, at most `limit` (0 or absent: 10): always none.",
      request: { params: wikiBaseParam, query: wikiSearchQuery },
      responses: { 200: json(z.object({ success: z.literal(true), pages: z.array(wikiPageJson) }), "No pages"), ...errors },
    }),
    async (c) => {
      await getBase(deps.db, c.get("caller"), c.req.valid("param").kb_id);
      return c.json({ success: true as const, pages: [] }, 200);
    },
  );

  r.openapi(
    createRoute({
      method: "get",
      path: "/knowledgebase/{kb_id}/wiki/index",
      tags,
      description: "The wiki's index: no intro, and for each page type asked (`types`; absent: WeKnora's content types) no pages.",
      request: { params: wikiBaseParam, query: wikiIndexQuery },
      responses: { 200: json(z.object({ success: z.literal(true), ...wikiIndexJson.shape }), "An empty index"), ...errors },
    }),
    async (c) => {
      await getBase(deps.db, c.get("caller"), c.req.valid("param").kb_id);
      const types = c.req.valid("query").types ?? WIKI_CONTENT_TYPES;
      const groups: z.output<typeof wikiIndexJson>["groups"] = types.map((type) => ({ type, total: 0, items: [] }));
      return c.json({ success: true as const, intro: "", version: 0, groups }, 200);
    },
  );

  // The slug may hold `/` (WeKnora's are `<type>/<name>`), which an OpenAPI path parameter cannot,
  // so the route is a plain one taking the rest of the path, described apart.
  r.openAPIRegistry.registerPath({
    method: "get",
    path: "/knowledgebase/{kb_id}/wiki/pages/{slug}",
    tags,
    description: "A wiki page by its slug (which may hold `/`): always 404 (1003), as Parley's knowledge bases have no wiki pages.",
    request: { params: wikiPageParams },
    responses: { 200: json(ok(wikiPageJson), "Never: there are no wiki pages"), ...errors },
  });
  r.get("/knowledgebase/:kb_id/wiki/pages/:slug{.+}", async (c) => {
    const { kb_id } = wikiPageParams.parse(c.req.param());
    await getBase(deps.db, c.get("caller"), kb_id);
    throw notFound("Wiki page (Parley's knowledge bases have no wiki pages)");
  });

  return r;
}
