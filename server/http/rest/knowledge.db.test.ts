import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../boot/app";
import { documentText } from "../../knowledge/chunk";
import { parseText } from "../../knowledge/parse";
import { createTestTenant, type TestTenant } from "../../testing/app";
import { serveTestApp, type ServedTestApp } from "../../testing/http";
import { restClient } from "../../testing/rest";
import { handleUpload } from "../upload";

/**
 * WeKnora's knowledge-base read routes over real HTTP (bases, documents, chunks, knowledge-search
 * and hybrid-search) in the shapes of WeKnora's Go SDK, tenant-walled and paged; and references,
 * in SSE frames and in Message JSON, carrying every field of WeKnora's SearchResult; a document's
 * text as a file and its processing; a base's side reads (folders, tags, FAQ, shares: none; move
 * targets; activity).
 */
let app: App;
let served: ServedTestApp;
let base: string;
let key: string;
let otherKey: string;
let tenantNumber: number;
/** A base with a text document (three sections, so three chunks) and an uploaded file. */
let kbId: string;
let textDocId: string;
let fileDocId: string;
let foreignKbId: string;
let foreignDocId: string;
/** The tenant, and its owner over tRPC. */
let tenant: TestTenant;
let owner: TestTenant["owner"]["api"];
let ownerUserId: string;
const { request, call } = restClient(() => base, () => key);

const ZOO = `# Zoo operations

## Feeding

Giraffes are fed acacia leaves at dawn and dusk by the keepers.

## Cleaning

The penguin pool is drained and scrubbed every Tuesday morning.

## Visitors

The aquarium opens at nine and closes at six, except on public holidays.
`;
const DEPLOY = `## Rollback

To roll back a release, redeploy the previous container image tag and run the rollback migrations.
`;

/** Every field of WeKnora's Go SDK structs (client/knowledgebase.go, knowledge.go, chunk.go). */
const SEARCH_RESULT_FIELDS = [
  "id", "content", "knowledge_id", "chunk_index", "knowledge_title", "start_at", "end_at", "seq", "score", "match_type", "chunk_type", "image_info",
  "metadata", "knowledge_filename", "knowledge_source", "knowledge_channel", "matched_content", "knowledge_base_id", "parent_chunk_id", "sub_chunk_id",
];
const KNOWLEDGE_BASE_FIELDS = [
  "id", "name", "type", "is_temporary", "is_pinned", "description", "tenant_id", "chunking_config", "image_processing_config", "faq_config",
  "embedding_model_id", "summary_model_id", "vlm_config", "storage_provider_config", "storage_config", "extract_config", "auto_tag_config",
  "created_at", "updated_at", "knowledge_count", "chunk_count", "is_processing", "processing_count",
];
const KNOWLEDGE_FIELDS = [
  "id", "tenant_id", "knowledge_base_id", "tag_id", "type", "title", "description", "source", "channel", "parse_status", "summary_status",
  "enable_status", "embedding_model_id", "file_name", "folder_path", "file_type", "file_size", "file_hash", "file_path", "storage_size", "metadata",
  "created_at", "updated_at", "processed_at", "error_message", "knowledge_base_name",
];
const CHUNK_FIELDS = [
  "id", "seq_id", "knowledge_id", "knowledge_base_id", "tenant_id", "tag_id", "content", "chunk_index", "is_enabled", "status", "start_at", "end_at",
  "pre_chunk_id", "next_chunk_id", "chunk_type", "parent_chunk_id", "relation_chunks", "indirect_relation_chunks", "metadata", "content_hash",
  "image_info", "created_at", "updated_at",
];
const sorted = (keys: string[]) => [...keys].sort();

beforeAll(async () => {
  served = await serveTestApp();
  app = served.app;
  base = `${served.url}/api/v1`;
  const t = served.tenant;
  const other = await createTestTenant(app);
  key = t.owner.apiKey;
  otherKey = other.owner.apiKey;
  tenantNumber = t.tenant.number;
  tenant = t;
  owner = t.owner.api;
  ownerUserId = t.owner.user.id;
  kbId = (await t.owner.api.knowledge.bases.create({ name: "Runbooks", description: "How we run things" })).id;
  textDocId = (await t.owner.api.knowledge.documents.add({ knowledgeBaseId: kbId, title: "Zoo operations", content: ZOO, mimeType: "text/markdown" })).id;
  const form = new FormData();
  form.set("knowledgeBaseId", kbId);
  form.set("file", new File([DEPLOY], "deploy-guide.md", { type: "text/markdown" }));
  const uploaded = await handleUpload(app, new Request("http://localhost/api/knowledge/upload", { method: "POST", body: form, headers: { authorization: `Bearer ${key}` } }));
  expect(uploaded.status).toBe(201);
  fileDocId = ((await uploaded.json()) as { id: string }).id;
  foreignKbId = (await other.owner.api.knowledge.bases.create({ name: "Theirs" })).id;
  foreignDocId = (await other.owner.api.knowledge.documents.add({ knowledgeBaseId: foreignKbId, title: "Zoo deploy notes", content: ZOO, mimeType: "text/markdown" })).id;
});
afterAll(() => served?.close());

describe("knowledge bases", () => {
  it("lists the tenant's bases and reads one as WeKnora's KnowledgeBase, with Parley's counts and embedder", async () => {
    const list = await call("GET", "/knowledge-bases");
    expect(list.status).toBe(200);
    expect(list.body.data.map((b: { id: string }) => b.id)).toEqual([kbId]);
    const one = await call("GET", `/knowledge-bases/${kbId}`);
    expect(one.body.data).toEqual(list.body.data[0]);
    const kb = one.body.data;
    expect(sorted(Object.keys(kb))).toEqual(sorted(KNOWLEDGE_BASE_FIELDS));
    expect(kb).toMatchObject({
      name: "Runbooks",
      description: "How we run things",
      type: "document",
      tenant_id: tenantNumber,
      knowledge_count: 2,
      chunk_count: 4,
      embedding_model_id: app.knowledge.embedder.id,
      is_processing: false,
      faq_config: null,
      storage_config: { provider: "", bucket_name: "" },
    });
    expect(kb.chunking_config).toEqual({ chunk_size: expect.any(Number), chunk_overlap: expect.any(Number), separators: [] });
    expect(new Date(kb.created_at).toISOString()).toBe(kb.created_at);
  });

  it("filters a base's documents as the web app asks: keyword (title or file name), file type; a tag, a folder other than the root or a parse status other than completed takes none", async () => {
    const ids = async (query: string) => {
      const res = await call("GET", `/knowledge-bases/${kbId}/knowledge?${query}`);
      expect(res.status).toBe(200);
      return { ids: res.body.data.map((d: { id: string }) => d.id), total: res.body.total };
    };
    expect(await ids("keyword=ZOO")).toEqual({ ids: [textDocId], total: 1 });
    expect(await ids("keyword=guide.md")).toEqual({ ids: [fileDocId], total: 1 });
    expect(await ids("keyword=no-such-doc")).toEqual({ ids: [], total: 0 });
    expect(await ids("keyword=%25")).toEqual({ ids: [], total: 0 });
    expect(await ids("file_type=md&page_size=1")).toEqual({ ids: [fileDocId], total: 2 });
    expect(await ids("file_type=pdf")).toEqual({ ids: [], total: 0 });
    expect(await ids("tag_id=7")).toEqual({ ids: [], total: 0 });
    expect(await ids("folder_path=guides")).toEqual({ ids: [], total: 0 });
    expect(await ids("parse_status=failed")).toEqual({ ids: [], total: 0 });
    expect(await ids("parse_status=completed&keyword=zoo")).toEqual({ ids: [textDocId], total: 1 });
    expect(await ids("keyword=&folder_path=")).toEqual({ ids: [fileDocId, textDocId], total: 2 });
  });

  it("pages a base's documents newest first, each a WeKnora Knowledge; an uploaded file keeps its name", async () => {
    const first = await call("GET", `/knowledge-bases/${kbId}/knowledge?page=1&page_size=1`);
    expect(first.body).toMatchObject({ success: true, total: 2, page: 1, page_size: 1 });
    const second = await call("GET", `/knowledge-bases/${kbId}/knowledge?page=2&page_size=1`);
    expect([...first.body.data, ...second.body.data].map((d: { id: string }) => d.id)).toEqual([fileDocId, textDocId]);
    const [file] = first.body.data;
    expect(sorted(Object.keys(file))).toEqual(sorted(KNOWLEDGE_FIELDS));
    expect(file).toMatchObject({
      knowledge_base_id: kbId,
      tenant_id: tenantNumber,
      type: "file",
      title: "deploy-guide",
      file_name: "deploy-guide.md",
      file_type: "md",
      file_size: Buffer.byteLength(DEPLOY),
      file_hash: expect.stringMatching(/^[0-9a-f]{64}$/),
      parse_status: "completed",
      enable_status: "enabled",
      processed_at: file.created_at,
    });
    expect(second.body.data[0]).toMatchObject({ type: "manual", file_name: "", title: "Zoo operations", file_type: "md" });
    expect((await call("GET", `/knowledge/${fileDocId}`)).body.data).toEqual(file);
  });

  it("pages a document's chunks in order, linked to their neighbours", async () => {
    const page = await call("GET", `/chunks/${textDocId}?page=1&page_size=2`);
    expect(page.body).toMatchObject({ success: true, total: 3, page: 1, page_size: 2 });
    const rest = await call("GET", `/chunks/${textDocId}?page=2&page_size=2`);
    const chunks = [...page.body.data, ...rest.body.data];
    expect(sorted(Object.keys(chunks[0]))).toEqual(sorted(CHUNK_FIELDS));
    expect(chunks.map((c: { chunk_index: number }) => c.chunk_index)).toEqual([0, 1, 2]);
    expect(chunks[0].content).toContain("Giraffes");
    expect(chunks[0]).toMatchObject({ knowledge_id: textDocId, knowledge_base_id: kbId, tenant_id: tenantNumber, pre_chunk_id: "", next_chunk_id: chunks[1].id, chunk_type: "text", is_enabled: true });
    expect(chunks[1]).toMatchObject({ pre_chunk_id: chunks[0].id, next_chunk_id: chunks[2].id });
    expect(chunks[2].next_chunk_id).toBe("");
    expect(chunks[0].content_hash).toMatch(/^[0-9a-f]{64}$/);
    // Offsets into the document's text as Parley parsed it.
    const text = documentText(parseText(ZOO, "text/markdown"));
    for (const c of chunks) expect(text.slice(c.start_at, c.end_at)).toBe(c.content);
    expect(chunks[1].start_at).toBeGreaterThan(chunks[0].end_at);
  });

  it("pages like sessions: 0 or absent is page 1 of 20, above 1000 is 1000, anything else not a whole number is 400 (1010)", async () => {
    for (const query of ["", "?page=0&page_size=0", "?page=&page_size="]) {
      expect((await call("GET", `/chunks/${textDocId}${query}`)).body).toMatchObject({ page: 1, page_size: 20, total: 3 });
    }
    expect((await call("GET", `/knowledge-bases/${kbId}/knowledge?page_size=5000`)).body).toMatchObject({ page: 1, page_size: 1000, total: 2 });
    for (const [query, field] of [["page=-1", "page"], ["page_size=2.5", "page_size"], ["page=abc", "page"], ["page_size=-20", "page_size"]]) {
      for (const path of [`/chunks/${textDocId}`, `/knowledge-bases/${kbId}/knowledge`]) {
        const res = await call("GET", `${path}?${query}`);
        expect(res.status, `${path}?${query}`).toBe(400);
        expect(res.body.error).toMatchObject({ code: 1010, details: { field } });
      }
    }
  });

  it("is tenant-walled: another tenant's ids are 404 (1003), as are unknown ones", async () => {
    const ours = [`/knowledge-bases/${kbId}`, `/knowledge-bases/${kbId}/knowledge`, `/knowledge/${textDocId}`, `/chunks/${textDocId}`];
    for (const path of ours) {
      const res = await call("GET", path, { key: otherKey });
      expect(res.status, path).toBe(404);
      expect(res.body).toMatchObject({ success: false, error: { code: 1003 } });
      expect((await call("GET", path.replace(/[0-9a-f-]{36}/, randomUUID()))).status).toBe(404);
    }
    expect((await call("GET", "/knowledge-bases", { key: otherKey })).body.data.map((b: { id: string }) => b.id)).toEqual([foreignKbId]);
    const searches: [string, string, unknown][] = [
      ["POST", "/knowledge-search", { query: "giraffes", knowledge_base_ids: [kbId] }],
      ["POST", "/knowledge-search", { query: "giraffes", knowledge_ids: [textDocId] }],
      ["POST", `/knowledge-bases/${kbId}/hybrid-search`, { query_text: "giraffes" }],
      ["GET", `/knowledge-bases/${kbId}/hybrid-search?query_text=giraffes`, undefined],
    ];
    for (const [method, path, body] of searches) {
      const res = await call(method, path, { key: otherKey, body });
      expect(res.status, path).toBe(404);
      expect(res.body.error.code).toBe(1003);
    }
    expect((await call("POST", "/knowledge-search", { body: { query: "giraffes", knowledge_base_ids: [kbId, foreignKbId] } })).status).toBe(404);
  });
});

describe("search", () => {
  it("knowledge-search finds chunks of the named bases and documents as WeKnora's SearchResult", async () => {
    const res = await call("POST", "/knowledge-search", { body: { query: "How do I roll back a release?", knowledge_base_id: kbId } });
    expect(res.status).toBe(200);
    const [hit] = res.body.data;
    expect(sorted(Object.keys(hit))).toEqual(sorted(SEARCH_RESULT_FIELDS));
    expect(hit).toMatchObject({
      knowledge_id: fileDocId,
      knowledge_base_id: kbId,
      knowledge_title: "deploy-guide",
      knowledge_filename: "deploy-guide.md",
      chunk_index: 0,
      seq: 0,
      chunk_type: "text",
      sub_chunk_id: [],
      metadata: {},
      matched_content: hit.content,
    });
    expect(hit.content).toContain("redeploy the previous container image");
    const text = documentText(parseText(DEPLOY, "text/markdown"));
    expect(hit.end_at).toBeGreaterThan(hit.start_at);
    expect(text.slice(hit.start_at, hit.end_at)).toBe(hit.content);
    expect([0, 1]).toContain(hit.match_type);
    // Documents alone are a scope too; only what they hold is searched.
    const scoped = await call("POST", "/knowledge-search", { body: { query: "giraffes fed acacia leaves", knowledge_ids: [textDocId] } });
    expect(scoped.body.data.length).toBeGreaterThan(0);
    for (const h of scoped.body.data) expect(h.knowledge_id).toBe(textDocId);
    expect((await call("POST", "/knowledge-search", { body: { query: "How do I roll back a release?", knowledge_ids: [textDocId] } })).body.data).toEqual([]);
    const unscoped = await call("POST", "/knowledge-search", { body: { query: "giraffes" } });
    expect(unscoped.status).toBe(400);
    expect(unscoped.body.error).toMatchObject({ code: 1010, details: { field: "knowledge_base_ids" } });
  });

  it("hybrid-search searches one base by POST body or GET query, zeros meaning the defaults, match_count bounding the hits", async () => {
    const posted = await call("POST", `/knowledge-bases/${kbId}/hybrid-search`, { body: { query_text: "penguin pool scrubbed", vector_threshold: 0, keyword_threshold: 0, match_count: 0 } });
    expect(posted.status).toBe(200);
    expect(posted.body.data[0]).toMatchObject({ knowledge_id: textDocId, chunk_index: 1 });
    expect(sorted(Object.keys(posted.body.data[0]))).toEqual(sorted(SEARCH_RESULT_FIELDS));
    const got = await call("GET", `/knowledge-bases/${kbId}/hybrid-search?query_text=${encodeURIComponent("penguin pool scrubbed")}`);
    expect(got.body.data.map((h: { id: string }) => h.id)).toEqual(posted.body.data.map((h: { id: string }) => h.id));
    // Low thresholds let more through; match_count keeps the best of them.
    const loose = await call("POST", `/knowledge-bases/${kbId}/hybrid-search`, { body: { query_text: "the keepers and the pool", vector_threshold: 0.01, keyword_threshold: 0.01, match_count: 1 } });
    expect(loose.body.data.length).toBeLessThanOrEqual(1);
    const bad = await call("GET", `/knowledge-bases/${kbId}/hybrid-search?query_text=x&match_count=-1`);
    expect(bad.body.error).toMatchObject({ code: 1010, details: { field: "match_count" } });
    expect((await call("POST", `/knowledge-bases/${kbId}/hybrid-search`, { body: {} })).body.error.details.field).toBe("query_text");
  });

  it("are in the OpenAPI document", async () => {
    const doc = (await (await fetch(`${base}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    for (const path of ["/knowledge-bases", "/knowledge-bases/{id}", "/knowledge-bases/{id}/knowledge", "/knowledge/{knowledge_id}", "/chunks/{knowledge_id}", "/knowledge-search"]) {
      expect(Object.keys(doc.paths), path).toContain(`/api/v1${path}`);
    }
    expect(Object.keys(doc.paths["/api/v1/knowledge-bases/{id}/hybrid-search"] ?? {}).sort()).toEqual(["get", "post"]);
  });
});

describe("references", () => {
  it("carry every SearchResult field in knowledge-chat's references frame and in Message JSON", async () => {
    const session = (await call("POST", "/sessions", { body: { title: "Ops", knowledge_base_id: kbId } })).body.data;
    const res = await request("POST", `/knowledge-chat/${session.id}`, { body: { query: "How do I roll back a release?" } });
    const frames = (await res.text())
      .split("\n\n")
      .flatMap((block) => /^data:(.*)$/m.exec(block)?.[1] ?? [])
      .map((data) => JSON.parse(data) as { response_type: string; knowledge_references?: Record<string, unknown>[] });
    const streamed = frames.find((f) => f.response_type === "references")?.knowledge_references ?? [];
    expect(streamed.length).toBeGreaterThan(0);
    for (const ref of streamed) expect(sorted(Object.keys(ref))).toEqual(sorted(SEARCH_RESULT_FIELDS));
    const chunk = (await call("GET", `/chunks/${fileDocId}`)).body.data[0];
    expect(streamed.find((r) => r.knowledge_id === fileDocId)).toMatchObject({
      id: chunk.id,
      knowledge_filename: "deploy-guide.md",
      knowledge_title: "deploy-guide",
      chunk_type: "text",
      start_at: chunk.start_at,
      end_at: chunk.end_at,
      matched_content: chunk.content,
    });
    const loaded = await call("GET", `/messages/${session.id}/load`);
    const answer = loaded.body.data.find((m: { role: string }) => m.role === "assistant");
    expect(answer.knowledge_references).toEqual(streamed);
  });
});

describe("document search and batch reads", () => {
  const ids = (data: { id: string }[]) => data.map((d) => d.id);

  it("GET /knowledge/search finds the tenant's documents by title or file name, any case, newest first, as WeKnora's Knowledge with its base's name", async () => {
    const byFileName = await call("GET", "/knowledge/search?keyword=GUIDE.MD&offset=0&limit=20");
    expect(byFileName.status).toBe(200);
    expect(sorted(Object.keys(byFileName.body))).toEqual(["data", "has_more", "success", "total"]);
    expect(byFileName.body).toMatchObject({ success: true, has_more: false, total: 1 });
    const [file] = byFileName.body.data;
    expect(sorted(Object.keys(file))).toEqual(sorted(KNOWLEDGE_FIELDS));
    expect(file).toEqual((await call("GET", `/knowledge/${fileDocId}`)).body.data);
    expect(file).toMatchObject({ id: fileDocId, knowledge_base_id: kbId, knowledge_base_name: "Runbooks", file_name: "deploy-guide.md" });
    // By title; `query` is WeKnora's other name for the keyword.
    expect(ids((await call("GET", "/knowledge/search?keyword=zoo%20OPER")).body.data)).toEqual([textDocId]);
    expect(ids((await call("GET", "/knowledge/search?query=zoo")).body.data)).toEqual([textDocId]);
    // LIKE's wildcards are plain text.
    for (const keyword of ["%", "_", "\\"]) expect((await call("GET", `/knowledge/search?keyword=${encodeURIComponent(keyword)}`)).body).toMatchObject({ data: [], total: 0 });
  });

  it("pages by offset and limit, saying whether more follow; recent=true without a keyword lists the newest; file_types filters by Knowledge's file_type", async () => {
    // "o" is in both titles ("Zoo operations", "deploy-guide"); the other tenant's "Zoo deploy notes" is never seen.
    const first = await call("GET", "/knowledge/search?keyword=o&offset=0&limit=1");
    expect(first.body).toMatchObject({ total: 2, has_more: true });
    const second = await call("GET", "/knowledge/search?keyword=o&offset=1&limit=1");
    expect(second.body).toMatchObject({ total: 2, has_more: false });
    expect([...ids(first.body.data), ...ids(second.body.data)]).toEqual([fileDocId, textDocId]);
    expect((await call("GET", "/knowledge/search?keyword=o&offset=5")).body).toMatchObject({ data: [], total: 2, has_more: false });
    expect(ids((await call("GET", "/knowledge/search?keyword=o&limit=0")).body.data)).toEqual([fileDocId, textDocId]);
    expect(ids((await call("GET", "/knowledge/search?recent=true")).body.data)).toEqual([fileDocId, textDocId]);
    for (const types of ["file_types=md", "file_types=.MD,txt", "file_types=pdf&file_types=md"]) {
      expect(ids((await call("GET", `/knowledge/search?keyword=o&${types}`)).body.data), types).toEqual([fileDocId, textDocId]);
    }
    expect((await call("GET", "/knowledge/search?keyword=o&file_types=pdf,xlsx")).body).toMatchObject({ data: [], total: 0, has_more: false });
    expect(ids((await call("GET", "/knowledge/search?keyword=o", { key: otherKey })).body.data)).toEqual([foreignDocId]);
    for (const [query, field] of [["", "keyword"], ["keyword=%20%20", "keyword"], ["recent=false", "keyword"], ["keyword=o&limit=-1", "limit"], ["keyword=o&offset=abc", "offset"], ["keyword=o&offset=-1", "offset"], ["recent=maybe", "recent"]]) {
      const res = await call("GET", `/knowledge/search?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body.error).toMatchObject({ code: 1010, details: { field } });
    }
  });

  it("GET /knowledge/batch reads the tenant's documents by id, in the order asked, others simply absent; kb_id keeps one base's", async () => {
    const repeated = await call("GET", `/knowledge/batch?ids=${textDocId}&ids=${fileDocId}`);
    expect(repeated.status).toBe(200);
    expect(sorted(Object.keys(repeated.body))).toEqual(["data", "success"]);
    expect(ids(repeated.body.data)).toEqual([textDocId, fileDocId]);
    expect(repeated.body.data[1]).toEqual((await call("GET", `/knowledge/${fileDocId}`)).body.data);
    const mixed = await call("GET", `/knowledge/batch?ids=${fileDocId},${randomUUID()},not-an-id,${foreignDocId}&ids=${textDocId}&kb_id=`);
    expect(ids(mixed.body.data)).toEqual([fileDocId, textDocId]);
    expect((await call("GET", `/knowledge/batch?ids=${textDocId}`, { key: otherKey })).body.data).toEqual([]);

    // kb_id keeps that base's documents only (a second base, made here: after the tests that count the tenant's bases and documents).
    const scratchKbId = (await owner.knowledge.bases.create({ name: "Scratch" })).id;
    const scratchDocId = (await owner.knowledge.documents.add({ knowledgeBaseId: scratchKbId, title: "Scratch pad", content: DEPLOY, mimeType: "text/markdown" })).id;
    expect(ids((await call("GET", `/knowledge/batch?ids=${scratchDocId},${textDocId}`)).body.data)).toEqual([scratchDocId, textDocId]);
    expect(ids((await call("GET", `/knowledge/batch?ids=${scratchDocId},${textDocId}&kb_id=${kbId}`)).body.data)).toEqual([textDocId]);
    const scratch = (await call("GET", `/knowledge/batch?ids=${scratchDocId}&kb_id=${scratchKbId}`)).body.data;
    expect(scratch).toMatchObject([{ id: scratchDocId, knowledge_base_id: scratchKbId, knowledge_base_name: "Scratch" }]);
    for (const [query, status, code] of [[`ids=${textDocId}&kb_id=${foreignKbId}`, 404, 1003], [`ids=${textDocId}&kb_id=${randomUUID()}`, 404, 1003], [`ids=${textDocId}&kb_id=nope`, 400, 1010], ["ids=", 400, 1010], ["", 400, 1010]] as const) {
      const res = await call("GET", `/knowledge/batch?${query}`);
      expect(res.status, query).toBe(status);
      expect(res.body.error.code).toBe(code);
    }
    expect((await call("GET", "/knowledge/batch")).body.error.details.field).toBe("ids");
  });

  it("GET /chunks/by-id/{id} reads one chunk as /chunks/{knowledge_id} lists it, tenant-walled", async () => {
    const listed = (await call("GET", `/chunks/${textDocId}`)).body.data;
    const one = await call("GET", `/chunks/by-id/${listed[1].id}`);
    expect(one.status).toBe(200);
    expect(one.body).toEqual({ success: true, data: listed[1] });
    for (const [path, k] of [[`/chunks/by-id/${listed[1].id}`, otherKey], [`/chunks/by-id/${randomUUID()}`, key]] as const) {
      const res = await call("GET", path, { key: k });
      expect(res.status, path).toBe(404);
      expect(res.body.error.code).toBe(1003);
    }
    expect((await call("GET", "/chunks/by-id/nope")).body.error).toMatchObject({ code: 1010, details: { field: "id" } });
  });

  it("GET /shared-knowledge-bases lists none: Parley shares knowledge bases within a tenant only", async () => {
    const res = await call("GET", "/shared-knowledge-bases");
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ success: true, data: [], total: 0 });
  });

  it("are in the OpenAPI document", async () => {
    const doc = (await (await fetch(`${base}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    for (const path of ["/knowledge/search", "/knowledge/batch", "/chunks/by-id/{id}", "/shared-knowledge-bases"]) {
      expect(Object.keys(doc.paths[`/api/v1${path}`] ?? {}), path).toEqual(["get"]);
    }
  });
});

describe("document files, processing and a base's side reads", () => {
  /** A second base of the tenant's, with a plain-text document long enough to make overlapping chunks, titled beyond ASCII. */
  let archiveId: string;
  let longDocId: string;
  const LONG = Array.from({ length: 60 }, (_, i) => `Paragraph ${i} of the archive notes says where box ${i} is kept and who may open it.`).join("\n\n");
  beforeAll(async () => {
    archiveId = (await owner.knowledge.bases.create({ name: "Archive" })).id;
    longDocId = (await owner.knowledge.documents.add({ knowledgeBaseId: archiveId, title: "Café notes", content: LONG, mimeType: "text/plain" })).id;
  });

  it("downloads a document's text, rebuilt from its chunks, as a file named after it; preview serves the same inline", async () => {
    const file = await request("GET", `/knowledge/${fileDocId}/download`);
    expect(file.status).toBe(200);
    expect(file.headers.get("content-type")).toBe("text/markdown; charset=utf-8");
    expect(file.headers.get("content-disposition")).toBe(`attachment; filename="deploy-guide.md"; filename*=UTF-8''deploy-guide.md`);
    expect(await file.text()).toBe(DEPLOY.trim());
    // A Markdown document added as text: named by its title; its title heading is its title, so not in its text.
    const manual = await request("GET", `/knowledge/${textDocId}/download`);
    expect(manual.headers.get("content-disposition")).toContain(`filename*=UTF-8''Zoo%20operations.md`);
    expect(await manual.text()).toBe(ZOO.replace("# Zoo operations\n\n", "").trim());
    // Plain text over several chunks, each opening with the end of the one before: that overlap is not repeated.
    expect((await call("GET", `/chunks/${longDocId}`)).body.total).toBeGreaterThan(2);
    const long = await request("GET", `/knowledge/${longDocId}/download`);
    expect(long.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(long.headers.get("content-disposition")).toBe(`attachment; filename="Caf_ notes.txt"; filename*=UTF-8''Caf%C3%A9%20notes.txt`);
    expect(await long.text()).toBe(LONG);
    const preview = await request("GET", `/knowledge/${longDocId}/preview`);
    expect(preview.status).toBe(200);
    expect(preview.headers.get("content-disposition")).toMatch(/^inline; filename="Caf_ notes.txt"/);
    expect(preview.headers.get("x-content-type-options")).toBe("nosniff");
    expect(await preview.text()).toBe(LONG);
  });

  it("gives a document's processing as WeKnora's span tree: read, chunked and embedded, nothing else, by the time it was stored", async () => {
    const document = (await call("GET", `/knowledge/${textDocId}`)).body.data;
    const res = await call("GET", `/knowledge/${textDocId}/spans`);
    expect(res.status).toBe(200);
    const { trace, ...rest } = res.body.data;
    expect(rest).toEqual({ knowledge_id: textDocId, attempt: 1, latest_attempt: 1, current_attempt: 1, parse_status: "completed", current_stage: "" });
    expect(trace).toMatchObject({ name: "knowledge_processing", kind: "root", status: "done", finished_at: document.created_at, output: { chunk_count: 3 } });
    expect(trace.children.map((s: { name: string; status: string }) => [s.name, s.status])).toEqual([
      ["docreader", "done"],
      ["chunking", "done"],
      ["embedding", "done"],
      ["multimodal", "skipped"],
      ["postprocess", "skipped"],
    ]);
    expect(trace.children[1].output).toEqual({ chunk_count: 3 });
    expect((await call("GET", `/knowledge/${textDocId}/spans?attempt=1`)).body).toEqual(res.body);
    expect((await call("GET", `/knowledge/${textDocId}/spans?attempt=2`)).body.error.code).toBe(1003);
    expect((await call("GET", `/knowledge/${textDocId}/spans?attempt=x`)).body.error).toMatchObject({ code: 1010, details: { field: "attempt" } });
  });

  it("lists no folders, tags, FAQ entries or shares, in WeKnora's shapes, paged where WeKnora pages", async () => {
    expect((await call("GET", `/knowledge-bases/${kbId}/knowledge/folders`)).body).toEqual({ success: true, data: { root_document_count: 2, total_document_count: 2, folders: [] } });
    for (const path of ["tags", "faq/entries"]) {
      expect((await call("GET", `/knowledge-bases/${kbId}/${path}`)).body, path).toEqual({ success: true, data: { total: 0, page: 1, page_size: 20, data: [] } });
      expect((await call("GET", `/knowledge-bases/${kbId}/${path}?page=3&page_size=5`)).body.data).toMatchObject({ page: 3, page_size: 5 });
      expect((await call("GET", `/knowledge-bases/${kbId}/${path}?page=-1`)).body.error).toMatchObject({ code: 1010, details: { field: "page" } });
    }
    expect((await call("GET", `/knowledge-bases/${kbId}/shares`)).body).toEqual({ success: true, data: { shares: [], total: 0 } });
  });

  it("searches and exports no FAQ entries, finds no chunk revisions, and knows no import or move task", async () => {
    expect((await call("POST", `/knowledge-bases/${kbId}/faq/search`, { body: { query_text: "zoo", match_count: 5 } })).body).toEqual({ success: true, data: [] });
    expect((await call("POST", `/knowledge-bases/${kbId}/faq/search`, { body: {} })).body.error).toMatchObject({ code: 1010, details: { field: "query_text" } });
    const csv = await request("GET", `/knowledge-bases/${kbId}/faq/entries/export`);
    expect([csv.status, csv.headers.get("content-type"), csv.headers.get("content-disposition")]).toEqual([200, "text/csv; charset=utf-8", "attachment; filename=faq_export.csv"]);
    expect(Buffer.from(await csv.arrayBuffer())).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
    const exported = await request("GET", `/knowledge-bases/${kbId}/faq/entries/export?format=json`);
    expect([exported.headers.get("content-type"), await exported.json()]).toEqual(["application/json; charset=utf-8", []]);

    const { body: chunks } = await call("GET", `/chunks/${textDocId}`);
    const chunkId = (chunks.data as Array<{ id: string }>)[0]!.id;
    expect((await call("GET", `/chunks/${textDocId}/${chunkId}/revisions`)).body).toEqual({ success: true, data: [] });
    // The chunk must be of that document.
    expect((await call("GET", `/chunks/${longDocId}/${chunkId}/revisions`)).body).toMatchObject({ success: false, error: { code: 1003, message: "Chunk not found" } });

    for (const [path, message] of [
      [`/faq/import/progress/${randomUUID()}`, "FAQ import task not found"],
      [`/knowledge/move/progress/${randomUUID()}`, "Document move task not found"],
    ] as const) {
      const res = await call("GET", path);
      expect([res.status, res.body], path).toEqual([404, { success: false, error: expect.objectContaining({ code: 1003, message }) as unknown }]);
    }
  });

  it("lists where a base's documents could move: the tenant's other bases, never itself nor another tenant's", async () => {
    const all = (await call("GET", "/knowledge-bases")).body.data as { id: string }[];
    const targets = (await call("GET", `/knowledge-bases/${kbId}/move-targets`)).body.data as { id: string; name: string }[];
    expect(targets.map((b) => b.id)).toEqual(all.map((b) => b.id).filter((id) => id !== kbId));
    expect(targets.map((b) => b.id)).toContain(archiveId);
    expect(targets.map((b) => b.id)).not.toContain(foreignKbId);
    const archive = targets.find((b) => b.id === archiveId)!;
    expect(sorted(Object.keys(archive))).toEqual(sorted(KNOWLEDGE_BASE_FIELDS));
    expect(archive).toMatchObject({ name: "Archive", knowledge_count: 1 });
    const fromArchive = (await call("GET", `/knowledge-bases/${archiveId}/move-targets`)).body.data.map((b: { id: string }) => b.id);
    expect(fromArchive).toContain(kbId);
    expect(fromArchive).not.toContain(archiveId);
  });

  it("gives a base's activity, the documents added newest first as knowledge.created entries, by WeKnora's cursor; for its creator and admins", async () => {
    const first = await call("GET", `/knowledge-bases/${kbId}/activity?limit=1`);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ success: true, next_cursor: 2 });
    expect(first.body.data).toEqual([
      {
        id: 2,
        tenant_id: tenantNumber,
        actor_user_id: ownerUserId,
        actor_role: "",
        action: "knowledge.created",
        scope_type: "knowledge_base",
        scope_id: kbId,
        target_type: "knowledge",
        target_id: fileDocId,
        target_user_id: "",
        request_path: "",
        request_method: "",
        outcome: "success",
        details: { title: "deploy-guide", source_type: "file", file_type: "md", processing_status: "completed" },
        created_at: (await call("GET", `/knowledge/${fileDocId}`)).body.data.created_at,
      },
    ]);
    const second = await call("GET", `/knowledge-bases/${kbId}/activity?limit=1&after_id=2`);
    expect(second.body.data.map((e: { id: number; target_id: string }) => [e.id, e.target_id])).toEqual([[1, textDocId]]);
    expect(second.body.next_cursor).toBe(0);
    expect(second.body.data[0].details.source_type).toBe("manual");
    const ids = async (query: string) => (await call("GET", `/knowledge-bases/${kbId}/activity?${query}`)).body.data.map((e: { target_id: string }) => e.target_id);
    expect(await ids("")).toEqual([fileDocId, textDocId]);
    expect(await ids(`actor=${ownerUserId}&action=knowledge.created&outcome=success`)).toEqual([fileDocId, textDocId]);
    for (const query of ["action=knowledge.deleted", "outcome=failed", `actor=${randomUUID()}`, "actor=someone"]) expect(await ids(query), query).toEqual([]);
    expect((await call("GET", `/knowledge-bases/${kbId}/activity?limit=-1`)).body.error).toMatchObject({ code: 1010, details: { field: "limit" } });
    // A member sees the activity of a base they made, not of another's.
    const member = await tenant.addUser("member");
    const theirs = (await member.api.knowledge.bases.create({ name: "Member's" })).id;
    expect((await call("GET", `/knowledge-bases/${theirs}/activity`, { key: member.apiKey })).body).toEqual({ success: true, data: [], next_cursor: 0 });
    const refused = await call("GET", `/knowledge-bases/${kbId}/activity`, { key: member.apiKey });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe(1002);
  });

  it("are tenant-walled: another tenant's ids are 404 (1003), as are unknown ones", async () => {
    const paths = [
      `/knowledge-bases/${kbId}/knowledge/folders`,
      `/knowledge-bases/${kbId}/tags`,
      `/knowledge-bases/${kbId}/faq/entries`,
      `/knowledge-bases/${kbId}/shares`,
      `/knowledge-bases/${kbId}/move-targets`,
      `/knowledge-bases/${kbId}/activity`,
      `/knowledge-bases/${kbId}/faq/entries/export`,
      `/chunks/${textDocId}/${textDocId}/revisions`,
      `/knowledge/${textDocId}/spans`,
      `/knowledge/${textDocId}/download`,
      `/knowledge/${textDocId}/preview`,
    ];
    for (const path of paths) {
      for (const [p, k] of [[path, otherKey], [path.replace(/[0-9a-f-]{36}/, randomUUID()), key]] as const) {
        const res = await call("GET", p, { key: k });
        expect(res.status, p).toBe(404);
        expect(res.body).toMatchObject({ success: false, error: { code: 1003 } });
      }
    }
  });

  it("are in the OpenAPI document", async () => {
    const doc = (await (await fetch(`${base}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    const paths = ["/knowledge/folders", "/tags", "/faq/entries", "/shares", "/move-targets", "/activity"].map((p) => `/knowledge-bases/{id}${p}`);
    const reads = ["/knowledge/{knowledge_id}/spans", "/knowledge/{knowledge_id}/download", "/knowledge/{knowledge_id}/preview", "/knowledge-bases/{id}/faq/entries/export"];
    const more = ["/chunks/{knowledge_id}/{chunk_id}/revisions", "/faq/import/progress/{task_id}", "/knowledge/move/progress/{task_id}"];
    for (const path of [...paths, ...reads, ...more]) {
      expect(Object.keys(doc.paths[`/api/v1${path}`] ?? {}), path).toEqual(["get"]);
    }
    expect(Object.keys(doc.paths["/api/v1/knowledge-bases/{id}/faq/search"] ?? {})).toEqual(["post"]);
  });
});
