import { createRoute, z } from "@hono/zod-openapi";
import type { Caller } from "../../../auth/accounts";
import { defaultStrategy, strategySchema } from "../../../../common/settings";
import {
  documentContent,
  documentsAdded,
  documentsByIds,
  getBase,
  getChunk,
  getDocument,
  listBases,
  listChunks,
  moveTargets,
  searchDocuments,
} from "../../../knowledge/repository";
import type { RetrievalSettings } from "../../../knowledge/retrieve";
import { searchForCaller } from "../../../knowledge/sessionKnowledge";
import {
  activityQuery,
  auditLogJson,
  chunkJson,
  contentDisposition,
  documentFileOf,
  faqEntryJson,
  knowledgeBaseShareJson,
  knowledgeFolderTreeJson,
  okPage,
  processingTraceJson,
  spansQuery,
  tagJson,
  toActivityJson,
  toProcessingTraceJson,
  chunkParam,
  hybridSearchBody,
  hybridSearchQuery,
  knowledgeBaseJson,
  knowledgeBaseParam,
  knowledgeBatchQuery,
  knowledgeListQuery,
  knowledgeJson,
  knowledgeParam,
  knowledgeSearchBody,
  knowledgeSearchQuery,
  mimeTypesFor,
  ok,
  okList,
  pageOf,
  pageQuery,
  searchResultJson,
  sharedKnowledgeBaseJson,
  toChunkJson,
  toKnowledgeBaseJson,
  toKnowledgeJson,
  toReferenceJson,
} from "../schemas";
import { notFound } from "../../../platform/errors";
import type { Context } from "hono";
import { body, errors, json, router, type RestDeps, type RestEnv } from "./shared";

const tags = ["knowledge"];
const DEFAULTS = defaultStrategy();
/** The most hits a search keeps: what a session's strategy may ask for. */
const MAX_MATCH_COUNT = strategySchema.shape.embeddingTopK.unwrap().maxValue ?? 100;
const searchResults = json(ok(z.array(searchResultJson)), "Matching chunks, best first");

/**
 * WeKnora's knowledge-base read routes: bases, their documents ("knowledge") and chunks, and
 * search. Every id is within the caller's tenant (another tenant's is 404, code 1003).
 */
export function knowledgeRoutes(deps: RestDeps) {
  const r = router();
  const embedderId = deps.knowledge.embedder.id;

  r.openapi(
    createRoute({
      method: "get",
      path: "/knowledge-bases",
      tags,
      description: "The knowledge bases of the caller's tenant, newest first (not paged, as in WeKnora).",
      responses: { 200: json(ok(z.array(knowledgeBaseJson)), "Knowledge bases"), ...errors },
    }),
    async (c) => {
      const caller = c.get("caller");
      const bases = await listBases(deps.db, caller);
      return c.json({ success: true as const, data: bases.map((b) => toKnowledgeBaseJson(b, caller, embedderId)) }, 200);
    },
  );

  r.openapi(
    createRoute({
      method: "get",
      path: "/knowledge-bases/{id}",
      tags,
      request: { params: knowledgeBaseParam },
      responses: { 200: json(ok(knowledgeBaseJson), "The knowledge base with its counts"), ...errors },
    }),
    async (c) => {
      const caller = c.get("caller");
      const base = await getBase(deps.db, caller, c.req.valid("param").id);
      return c.json({ success: true as const, data: toKnowledgeBaseJson(base, caller, embedderId) }, 200);
    },
  );

  r.openapi(
    createRoute({
      method: "get",
      path: "/knowledge-bases/{id}/knowledge",
      tags,
      description: "A page of the base's documents, newest first, with the total the filters take (`keyword`, `file_type`; a tag, a folder other than the root or a parse status other than `completed` takes none).",
      request: { params: knowledgeBaseParam, query: knowledgeListQuery },
      responses: { 200: json(okList(knowledgeJson), "A page of documents with the total"), ...errors },
    }),
    async (c) => {
      const caller = c.get("caller");
      const { id } = c.req.valid("param");
      const query = c.req.valid("query");
      const base = await getBase(deps.db, caller, id);
      const takesAny = !query.tag_id && !query.tag_ids && !query.folder_path && (!query.parse_status || query.parse_status === "completed");
      const filter = { keyword: query.keyword ?? "", mimeTypes: query.file_type ? mimeTypesFor([query.file_type]) : undefined, knowledgeBaseId: id };
      const { items, total } = takesAny ? await searchDocuments(deps.db, caller, filter, pageOf(query)) : { items: [], total: 0 };
      return c.json(
        {
          success: true as const,
          data: items.map((d) => toKnowledgeJson({ ...d, knowledgeBaseName: base.name }, caller, embedderId)),
          total,
          page: query.page,
          page_size: query.page_size,
        },
        200,
      );
    },
  );

  // Before /knowledge/{knowledge_id}, which would take "search" and "batch" for ids.
  r.openapi(
    createRoute({
      method: "get",
      path: "/knowledge/search",
      tags,
      description:
        "The tenant's documents whose title or file name contains `keyword` (any case), newest first, from `offset`, at most `limit`; `has_more` says whether more follow, `total` how many match in all.",
      request: { query: knowledgeSearchQuery },
      responses: {
        200: json(z.object({ success: z.literal(true), data: z.array(knowledgeJson), has_more: z.boolean(), total: z.number().int() }), "Matching documents"),
        ...errors,
      },
    }),
    async (c) => {
      const caller = c.get("caller");
      const { keyword, file_types, offset, limit } = c.req.valid("query");
      const filter = { keyword, mimeTypes: file_types?.length ? mimeTypesFor(file_types) : undefined };
      const { items, total } = await searchDocuments(deps.db, caller, filter, { offset, limit });
      return c.json({ success: true as const, data: items.map((d) => toKnowledgeJson(d, caller, embedderId)), has_more: offset + items.length < total, total }, 200);
    },
  );

  r.openapi(
    createRoute({
      method: "get",
      path: "/knowledge/batch",
      tags,
      description: "The tenant's documents among `ids`, in the order asked (unknown ids left out); with `kb_id`, only that base's.",
      request: { query: knowledgeBatchQuery },
      responses: { 200: json(ok(z.array(knowledgeJson)), "The documents found"), ...errors },
    }),
    async (c) => {
      const caller = c.get("caller");
      const { ids, kb_id } = c.req.valid("query");
      const documents = await documentsByIds(deps.db, caller, ids, kb_id);
      return c.json({ success: true as const, data: documents.map((d) => toKnowledgeJson(d, caller, embedderId)) }, 200);
    },
  );

  r.openapi(
    createRoute({
      method: "get",
      path: "/knowledge/{knowledge_id}",
      tags,
      request: { params: knowledgeParam },
      responses: { 200: json(ok(knowledgeJson), "The document"), ...errors },
    }),
    async (c) => {
      const caller = c.get("caller");
      const document = await getDocument(deps.db, caller, c.req.valid("param").knowledge_id);
      return c.json({ success: true as const, data: toKnowledgeJson(document, caller, embedderId) }, 200);
    },
  );

  r.openapi(
    createRoute({
      method: "get",
      path: "/chunks/{knowledge_id}",
      tags,
      description: "A page of the document's chunks, in document order.",
      request: { params: knowledgeParam, query: pageQuery },
      responses: { 200: json(okList(chunkJson), "A page of chunks with the total"), ...errors },
    }),
    async (c) => {
      const caller = c.get("caller");
      const query = c.req.valid("query");
      const { document, items, total } = await listChunks(deps.db, caller, c.req.valid("param").knowledge_id, pageOf(query));
      return c.json({ success: true as const, data: items.map((chunk) => toChunkJson(chunk, document, caller)), total, page: query.page, page_size: query.page_size }, 200);
    },
  );

  r.openapi(
    createRoute({
      method: "get",
      path: "/chunks/by-id/{id}",
      tags,
      request: { params: chunkParam },
      responses: { 200: json(ok(chunkJson), "The chunk"), ...errors },
    }),
    async (c) => {
      const caller = c.get("caller");
      const { document, chunk } = await getChunk(deps.db, caller, c.req.valid("param").id);
      return c.json({ success: true as const, data: toChunkJson(chunk, document, caller) }, 200);
    },
  );

  r.openapi(
    createRoute({
      method: "get",
      path: "/shared-knowledge-bases",
      tags,
      description: "Bases other tenants shared with the caller's: always none, as Parley shares knowledge bases within a tenant only.",
      responses: { 200: json(z.object({ success: z.literal(true), data: z.array(sharedKnowledgeBaseJson), total: z.number().int() }), "No shared bases"), ...errors },
    }),
    (c) => c.json({ success: true as const, data: [], total: 0 }, 200),
  );

  r.openapi(
    createRoute({
      method: "post",
      path: "/knowledge-search",
      tags,
      description:
        "Searches the named bases and documents (at least one) as a session's answer would, with the default strategy: keyword and vector hits over their thresholds, fused and reranked.",
      request: { body: body(knowledgeSearchBody) },
      responses: { 200: searchResults, ...errors },
    }),
    async (c) => {
      const input = c.req.valid("json");
      const { items } = await searchForCaller(deps, c.get("caller"), {
        knowledgeBaseIds: [...(input.knowledge_base_id ? [input.knowledge_base_id] : []), ...(input.knowledge_base_ids ?? [])],
        documentIds: input.knowledge_ids ?? [],
        query: input.query,
      });
      return c.json({ success: true as const, data: items.map(toReferenceJson) }, 200);
    },
  );

  const hybridSearch = (description: string) =>
    ({
      path: "/knowledge-bases/{id}/hybrid-search",
      tags,
      description: `Keyword and vector search of one base, fused: hits under \`keyword_threshold\` / \`vector_threshold\` are dropped (0 or absent: the defaults, ${DEFAULTS.keywordThreshold} and ${DEFAULTS.vectorThreshold}), at most \`match_count\` are kept (0 or absent: ${DEFAULTS.embeddingTopK}; at most ${MAX_MATCH_COUNT}). ${description}`,
      responses: { 200: searchResults, ...errors },
    }) as const;
  const searchBase = async (caller: Caller, id: string, input: z.output<typeof hybridSearchBody>) => {
    const { items } = await searchForCaller(deps, caller, { knowledgeBaseIds: [id], query: input.query_text, settings: hybridSearchSettings(input) });
    return { success: true as const, data: items.map(toReferenceJson) };
  };
  r.openapi(
    createRoute({ method: "post", ...hybridSearch("The fields come as a JSON body."), request: { params: knowledgeBaseParam, body: body(hybridSearchBody) } }),
    async (c) => c.json(await searchBase(c.get("caller"), c.req.valid("param").id, c.req.valid("json")), 200),
  );
  r.openapi(
    createRoute({ method: "get", ...hybridSearch("The fields come as query parameters."), request: { params: knowledgeBaseParam, query: hybridSearchQuery } }),
    async (c) => c.json(await searchBase(c.get("caller"), c.req.valid("param").id, c.req.valid("query")), 200),
  );

  baseSideReads(r, deps);
  documentReads(r, deps);
  return r;
}

/** Reads of a base beside its documents: folders, tags, FAQ entries and shares it has none of, where its documents could move, and what was added to it. */
function baseSideReads(r: ReturnType<typeof router>, deps: RestDeps) {
  const embedderId = deps.knowledge.embedder.id;

  r.openapi(
    createRoute({
      method: "get",
      path: "/knowledge-bases/{id}/knowledge/folders",
      tags,
      description: "The base's folder tree: Parley's bases have no folders, so every document is at the top.",
      request: { params: knowledgeBaseParam },
      responses: { 200: json(ok(knowledgeFolderTreeJson), "The folder tree (no folders)"), ...errors },
    }),
    async (c) => {
      const { documentCount } = await getBase(deps.db, c.get("caller"), c.req.valid("param").id);
      return c.json({ success: true as const, data: { root_document_count: documentCount, total_document_count: documentCount, folders: [] } }, 200);
    },
  );

  // What Parley has none of, paged as WeKnora's PageResult once the base is known to be the caller's.
  for (const [path, what, item] of [
    ["/knowledge-bases/{id}/tags", "tags", tagJson],
    ["/knowledge-bases/{id}/faq/entries", "FAQ entries", faqEntryJson],
  ] as const) {
    r.openapi(
      createRoute({
        method: "get",
        path,
        tags,
        description: `The base's ${what}: always none, as Parley has no ${what}. Paged like WeKnora (\`page\`, \`page_size\`).`,
        request: { params: knowledgeBaseParam, query: pageQuery },
        responses: { 200: json(okPage(item), `No ${what}`), ...errors },
      }),
      async (c) => {
        await getBase(deps.db, c.get("caller"), c.req.valid("param").id);
        const { page, page_size } = c.req.valid("query");
        return c.json({ success: true as const, data: { total: 0, page, page_size, data: [] } }, 200);
      },
    );
  }

  r.openapi(
    createRoute({
      method: "post",
      path: "/knowledge-bases/{id}/faq/search",
      tags,
      description: "Searches the base's FAQ entries: always none, as Parley has no FAQ entries (its documents are searched by `/hybrid-search`).",
      request: { params: knowledgeBaseParam, body: body(z.object({ query_text: z.string().trim().min(1).max(2000) })) },
      responses: { 200: json(ok(z.array(faqEntryJson)), "No FAQ entries"), ...errors },
    }),
    async (c) => {
      await getBase(deps.db, c.get("caller"), c.req.valid("param").id);
      return c.json({ success: true as const, data: [] }, 200);
    },
  );

  r.openapi(
    createRoute({
      method: "get",
      path: "/knowledge-bases/{id}/faq/entries/export",
      tags,
      description: "The base's FAQ entries as a file, as WeKnora exports them (`format=json`: a JSON array; otherwise CSV with a byte-order mark): empty, as Parley has no FAQ entries.",
      request: { params: knowledgeBaseParam, query: z.object({ format: z.enum(["csv", "json", "CSV", "JSON"]).optional() }) },
      responses: { 200: { content: { "text/csv": { schema: z.string() }, "application/json": { schema: z.array(faqEntryJson) } }, description: "An empty export" }, ...errors },
    }),
    async (c) => {
      await getBase(deps.db, c.get("caller"), c.req.valid("param").id);
      const asJson = c.req.valid("query").format?.toLowerCase() === "json";
      c.header("Content-Type", asJson ? "application/json; charset=utf-8" : "text/csv; charset=utf-8");
      c.header("Content-Disposition", `attachment; filename=faq_export.${asJson ? "json" : "csv"}`);
      return c.body(asJson ? "[]" : "\uFEFF", 200);
    },
  );

  // Progress of tasks Parley never runs (FAQ imports, document moves are writes it does not take): no task id is known.
  for (const [path, what] of [
    ["/faq/import/progress/{task_id}", "FAQ import"],
    ["/knowledge/move/progress/{task_id}", "document move"],
  ] as const) {
    r.openapi(
      createRoute({
        method: "get",
        path,
        tags,
        description: `The progress of a ${what} task: Parley runs none, so every task id is 404.`,
        request: { params: z.object({ task_id: z.string().max(200) }) },
        responses: errors,
      }),
      () => {
        throw notFound(`${what[0]!.toUpperCase()}${what.slice(1)} task`);
      },
    );
  }

  r.openapi(
    createRoute({
      method: "get",
      path: "/knowledge-bases/{id}/shares",
      tags,
      description: "Organisations the base is shared with: always none, as Parley shares knowledge bases within a tenant only.",
      request: { params: knowledgeBaseParam },
      responses: { 200: json(ok(z.object({ shares: z.array(knowledgeBaseShareJson), total: z.number().int() })), "No shares"), ...errors },
    }),
    async (c) => {
      await getBase(deps.db, c.get("caller"), c.req.valid("param").id);
      return c.json({ success: true as const, data: { shares: [], total: 0 } }, 200);
    },
  );

  r.openapi(
    createRoute({
      method: "get",
      path: "/knowledge-bases/{id}/move-targets",
      tags,
      description: "The bases a document of this one could move to: the tenant's others that take documents (not the handbook Parley provides), newest first.",
      request: { params: knowledgeBaseParam },
      responses: { 200: json(ok(z.array(knowledgeBaseJson)), "Knowledge bases"), ...errors },
    }),
    async (c) => {
      const caller = c.get("caller");
      const bases = await moveTargets(deps.db, caller, c.req.valid("param").id);
      return c.json({ success: true as const, data: bases.map((b) => toKnowledgeBaseJson(b, caller, embedderId)) }, 200);
    },
  );

  r.openapi(
    createRoute({
      method: "get",
      path: "/knowledge-bases/{id}/activity",
      tags,
      description:
        "The documents added to the base, newest first, as WeKnora's `knowledge.created` activity (Parley keeps no other history of a base). For its creator and admins (403, code 1002, for other members). `next_cursor` is the `after_id` of the next page, 0 when none is left.",
      request: { params: knowledgeBaseParam, query: activityQuery },
      responses: { 200: json(z.object({ success: z.literal(true), data: z.array(auditLogJson), next_cursor: z.number().int() }), "Activity, newest first"), ...errors },
    }),
    async (c) => {
      const caller = c.get("caller");
      const { id } = c.req.valid("param");
      const { after_id, limit, action, outcome, actor } = c.req.valid("query");
      const added = await documentsAdded(deps.db, caller, id, { before: after_id || undefined, limit, addedBy: actor });
      // WeKnora's filters are exact: asking for any other action or outcome finds nothing.
      const shown = (action === undefined || action === "knowledge.created") && (outcome === undefined || outcome === "success") ? added : [];
      const oldest = shown.at(-1)?.number ?? 0;
      return c.json({ success: true as const, data: shown.map((a) => toActivityJson(a, id, caller)), next_cursor: oldest > 1 ? oldest : 0 }, 200);
    },
  );
}

/** A document's processing, and its text as a file to download or view (see documentContent). */
function documentReads(r: ReturnType<typeof router>, deps: RestDeps) {
  r.openapi(
    createRoute({
      method: "get",
      path: "/knowledge/{knowledge_id}/spans",
      tags,
      description:
        "The document's processing as WeKnora's span tree: Parley processes a document once (attempt 1), reading, chunking and embedding it (done; no images, summaries or questions: skipped) before storing it. Stages are not timed.",
      request: { params: knowledgeParam, query: spansQuery },
      responses: { 200: json(ok(processingTraceJson), "The processing trace"), ...errors },
    }),
    async (c) => {
      const document = await getDocument(deps.db, c.get("caller"), c.req.valid("param").knowledge_id);
      const { attempt } = c.req.valid("query");
      if (attempt !== undefined && attempt > 1) throw notFound(`Attempt ${attempt} of this document (it was processed once)`);
      return c.json({ success: true as const, data: toProcessingTraceJson(document) }, 200);
    },
  );

  const file = (disposition: "attachment" | "inline", description: string) =>
    ({
      method: "get",
      tags,
      description: `${description} Parley keeps no copy of a document's source, so this is its text rebuilt from its chunks: Markdown (\`.md\`) for Markdown and web pages, plain text (\`.txt\`) for the rest, PDFs too.`,
      request: { params: knowledgeParam },
      responses: {
        200: { content: { "text/plain": { schema: z.string() }, "text/markdown": { schema: z.string() } }, description: `The document's text (Content-Disposition: ${disposition})` },
        ...errors,
      },
    }) as const;
  const serve = async (c: Context<RestEnv>, id: string, disposition: "attachment" | "inline") => {
    const { document, text } = await documentContent(deps.db, c.get("caller"), id);
    const { name, contentType } = documentFileOf(document);
    c.header("Content-Type", contentType);
    c.header("Content-Disposition", contentDisposition(disposition, name));
    c.header("X-Content-Type-Options", "nosniff");
    return c.body(text, 200);
  };
  r.openapi(
    createRoute({
      method: "get",
      path: "/chunks/{knowledge_id}/{chunk_id}/revisions",
      tags,
      description: "A chunk's edit history: always none, as Parley's chunks are never edited (a document is replaced whole).",
      request: { params: knowledgeParam.extend({ chunk_id: z.uuid() }) },
      responses: { 200: json(ok(z.array(z.object({}))), "No revisions"), ...errors },
    }),
    async (c) => {
      const { knowledge_id, chunk_id } = c.req.valid("param");
      const { document } = await getChunk(deps.db, c.get("caller"), chunk_id);
      if (document.id !== knowledge_id) throw notFound("Chunk");
      return c.json({ success: true as const, data: [] }, 200);
    },
  );

  r.openapi(createRoute({ ...file("attachment", "The document as a file to download."), path: "/knowledge/{knowledge_id}/download" }), (c) =>
    serve(c, c.req.valid("param").knowledge_id, "attachment"),
  );
  r.openapi(createRoute({ ...file("inline", "The document to view in the browser."), path: "/knowledge/{knowledge_id}/preview" }), (c) => serve(c, c.req.valid("param").knowledge_id, "inline"));
}

/**
 * WeKnora's hybrid-search fields as retrieval settings: a zero (what Go clients send for "unset")
 * keeps the default, and nothing past the per-channel thresholds is cut (no rerank threshold).
 */
function hybridSearchSettings(input: z.output<typeof hybridSearchBody>): Partial<RetrievalSettings> {
  const topK = input.match_count ? Math.min(input.match_count, MAX_MATCH_COUNT) : DEFAULTS.embeddingTopK;
  return {
    keywordThreshold: input.keyword_threshold || DEFAULTS.keywordThreshold,
    vectorThreshold: input.vector_threshold || DEFAULTS.vectorThreshold,
    embeddingTopK: topK,
    rerankTopK: topK,
    rerankThreshold: 0,
  };
}
