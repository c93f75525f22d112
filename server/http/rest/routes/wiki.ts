import { createRoute, z } from "@hono/zod-openapi";
import { getBase } from "../../../knowledge/repository";
import { notFound } from "../../../platform/errors";
import {
  ok,
  okBeside,
  WIKI_CONTENT_TYPES,
  wikiBaseParam,
  wikiFolderListJson,
  wikiFoldersQuery,
  wikiGraphJson,
  wikiGraphQuery,
  wikiIndexJson,
  wikiIndexQuery,
  wikiPageJson,
  wikiPageListJson,
  wikiPageParams,
  wikiPagesQuery,
  wikiSearchQuery,
  wikiStatsJson,
} from "../schemas";
import { errors, json, router, type RestDeps } from "./shared";

const tags = ["wiki"];

/**
 * The wiki reads WeKnora's MCP server and web app make (search, a page and its revisions, the
 * index, the page list, folders, the link graph, stats, issues). Parley's knowledge bases have no
 * wiki pages: every list is empty, every count 0, and every page (and so its revisions) is 404;
 * each once the base is known to be the caller's (another tenant's is 404 as well). WeKnora
 * answers these without its `data` envelope: the fields sit beside `success` (the issues, a bare
 * list in WeKnora, stay one).
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
      responses: { 200: json(okBeside({ pages: z.array(wikiPageJson) }), "No pages"), ...errors },
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
      responses: { 200: json(okBeside(wikiIndexJson.shape), "An empty index"), ...errors },
    }),
    async (c) => {
      await getBase(deps.db, c.get("caller"), c.req.valid("param").kb_id);
      const types = c.req.valid("query").types ?? WIKI_CONTENT_TYPES;
      const groups: z.output<typeof wikiIndexJson>["groups"] = types.map((type) => ({ type, total: 0, items: [] }));
      return c.json({ success: true as const, intro: "", version: 0, groups }, 200);
    },
  );

  r.openapi(
    createRoute({
      method: "get",
      path: "/knowledgebase/{kb_id}/wiki/pages",
      tags,
      description: "A page of the wiki's pages (`page`, `page_size` as for sessions): always none.",
      request: { params: wikiBaseParam, query: wikiPagesQuery },
      responses: { 200: json(okBeside(wikiPageListJson.shape), "No pages"), ...errors },
    }),
    async (c) => {
      await getBase(deps.db, c.get("caller"), c.req.valid("param").kb_id);
      const { page, page_size } = c.req.valid("query");
      return c.json({ success: true as const, pages: [], total: 0, page, page_size, total_pages: 0 }, 200);
    },
  );

  r.openapi(
    createRoute({
      method: "get",
      path: "/knowledgebase/{kb_id}/wiki/folders",
      tags,
      description: "The wiki folders under `parent_id` (absent: the root): always none.",
      request: { params: wikiBaseParam, query: wikiFoldersQuery },
      responses: { 200: json(okBeside(wikiFolderListJson.shape), "No folders"), ...errors },
    }),
    async (c) => {
      await getBase(deps.db, c.get("caller"), c.req.valid("param").kb_id);
      return c.json({ success: true as const, parent_id: c.req.valid("query").parent_id ?? "", folders: [] }, 200);
    },
  );

  r.openapi(
    createRoute({
      method: "get",
      path: "/knowledgebase/{kb_id}/wiki/graph",
      tags,
      description: "The pages' link graph, `overview` or `ego` around `center` (which it then needs): no nodes, no edges.",
      request: { params: wikiBaseParam, query: wikiGraphQuery },
      responses: { 200: json(okBeside(wikiGraphJson.shape), "An empty graph"), ...errors },
    }),
    async (c) => {
      await getBase(deps.db, c.get("caller"), c.req.valid("param").kb_id);
      const mode = c.req.valid("query").mode ?? "overview";
      return c.json({ success: true as const, nodes: [], edges: [], meta: { mode, total: 0, returned: 0, truncated: false } }, 200);
    },
  );

  r.openapi(
    createRoute({
      method: "get",
      path: "/knowledgebase/{kb_id}/wiki/stats",
      tags,
      description: "The wiki's figures: no pages, links, tasks or issues, and not active.",
      request: { params: wikiBaseParam },
      responses: { 200: json(okBeside(wikiStatsJson.shape), "All zero"), ...errors },
    }),
    async (c) => {
      await getBase(deps.db, c.get("caller"), c.req.valid("param").kb_id);
      return c.json(
        { success: true as const, total_pages: 0, pages_by_type: {}, total_links: 0, orphan_count: 0, recent_updates: [], pending_tasks: 0, pending_issues: 0, is_active: false },
        200,
      );
    },
  );

  r.openapi(
    createRoute({
      method: "get",
      path: "/knowledgebase/{kb_id}/wiki/issues",
      tags,
      description: "Issues flagged on wiki pages (WeKnora answers a bare list): always none.",
      request: { params: wikiBaseParam },
      responses: { 200: json(z.array(z.object({ id: z.string(), slug: z.string(), status: z.string() })), "No issues"), ...errors },
    }),
    async (c) => {
      await getBase(deps.db, c.get("caller"), c.req.valid("param").kb_id);
      return c.json([], 200);
    },
  );

  // A slug may hold `/` (WeKnora's are `<type>/<name>`), which an OpenAPI path parameter cannot,
  // so these routes are plain ones taking the rest of the path, described apart.
  r.openAPIRegistry.registerPath({
    method: "get",
    path: "/knowledgebase/{kb_id}/wiki/pages/{slug}",
    tags,
    description: "A wiki page by its slug (which may hold `/`): always 404 (1003), as Parley's knowledge bases have no wiki pages.",
    request: { params: wikiPageParams },
    responses: { 200: json(ok(wikiPageJson), "Never: there are no wiki pages"), ...errors },
  });
  r.openAPIRegistry.registerPath({
    method: "get",
    path: "/knowledgebase/{kb_id}/wiki/revisions/{slug}",
    tags,
    description: "A wiki page's revisions (or, with `version`, one of them): always 404 (1003), as there is no such page.",
    request: { params: wikiPageParams },
    responses: { 200: json(ok(z.object({ revisions: z.array(z.object({ version: z.number().int() })) })), "Never: there are no wiki pages"), ...errors },
  });
  for (const route of ["pages", "revisions"]) {
    r.get(`/knowledgebase/:kb_id/wiki/${route}/:slug{.+}`, async (c) => {
      const { kb_id } = wikiPageParams.parse(c.req.param());
      await getBase(deps.db, c.get("caller"), kb_id);
      throw notFound("Wiki page (Parley's knowledge bases have no wiki pages)");
    });
  }

  return r;
}
