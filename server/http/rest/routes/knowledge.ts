import { createRoute, z } from "@hono/zod-openapi";
import type { Caller } from "../../../auth/accounts";
import { defaultStrategy, strategySchema } from "../../../../common/settings";
import { documentsByIds, getBase, getChunk, getDocument, listBases, listChunks, listDocuments, searchDocuments } from "../../../knowledge/repository";
import type { RetrievalSettings } from "../../../knowledge/retrieve";
import { searchForCaller } from "../../../knowledge/sessionKnowledge";
import {
  chunkJson,
  chunkParam,
  hybridSearchBody,
  hybridSearchQuery,
  knowledgeBaseJson,
  knowledgeBaseParam,
  knowledgeBatchQuery,
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
import { body, errors, json, router, type RestDeps } from "./shared";

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
      description: "A page of the base's documents, newest first.",
      request: { params: knowledgeBaseParam, query: pageQuery },
      responses: { 200: json(okList(knowledgeJson), "A page of documents with the total"), ...errors },
    }),
    async (c) => {
      const caller = c.get("caller");
      const { id } = c.req.valid("param");
      const query = c.req.valid("query");
      const base = await getBase(deps.db, caller, id);
      const documents = await listDocuments(deps.db, caller, id, pageOf(query));
      return c.json(
        {
          success: true as const,
          data: documents.map((d) => toKnowledgeJson({ ...d, knowledgeBaseName: base.name }, caller, embedderId)),
          total: base.documentCount,
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

  return r;
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
