import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addFinishedTurn, createTestTenant, type TestTenant, type TestUser } from "../../testing/app";
import { serveTestApp, type ServedTestApp } from "../../testing/http";
import { restClient } from "../../testing/rest";

/**
 * WeKnora's reads of what Parley has none of, over real HTTP: the wiki reads of its MCP server (no
 * pages) and a session's and an answer's artifacts (none); each tenant-walled, and in the OpenAPI
 * document.
 */
let served: ServedTestApp;
let base: string;
let t: TestTenant;
let member: TestUser;
let otherKey: string;
let kbId: string;
let foreignKbId: string;
/** A session of the member's with one finished turn. */
let sessionId: string;
let answerId: string;
const { call } = restClient(() => base, () => t.owner.apiKey);

beforeAll(async () => {
  served = await serveTestApp();
  base = `${served.url}/api/v1`;
  t = served.tenant;
  member = await t.addUser("member");
  const other = await createTestTenant(served.app);
  otherKey = other.owner.apiKey;
  kbId = (await t.owner.api.knowledge.bases.create({ name: "Runbooks" })).id;
  foreignKbId = (await other.owner.api.knowledge.bases.create({ name: "Theirs" })).id;
  sessionId = (await call("POST", "/sessions", { key: member.apiKey, body: { title: "Ops" } })).body.data.id;
  ({ answerId } = await addFinishedTurn(served.app, sessionId, "Where are the runbooks?", "In the Runbooks base."));
});
afterAll(() => served?.close());

const expectError = (res: { status: number; body: { success: boolean; error: { code: number; message: string } } }, status: number, code: number, message?: RegExp) => {
  expect(res.status).toBe(status);
  expect(res.body).toMatchObject({ success: false, error: { code } });
  if (message) expect(res.body.error.message).toMatch(message);
};

describe("wiki", () => {
  it("search finds no pages; `q` is required", async () => {
    expect((await call("GET", `/knowledgebase/${kbId}/wiki/search?q=runbooks&limit=5`)).body).toEqual({ success: true, pages: [] });
    const missing = await call("GET", `/knowledgebase/${kbId}/wiki/search`);
    expectError(missing, 400, 1010);
    expect(missing.body.error.details.field).toBe("q");
    expect((await call("GET", `/knowledgebase/${kbId}/wiki/search?q=x&limit=-1`)).body.error.details.field).toBe("limit");
  });

  it("the index has no intro and no pages, a group per page type asked (WeKnora's content types when none are)", async () => {
    const res = await call("GET", `/knowledgebase/${kbId}/wiki/index?limit=50`);
    expect(res.body).toEqual({
      success: true,
      intro: "",
      version: 0,
      groups: ["summary", "entity", "concept", "synthesis", "comparison"].map((type) => ({ type, total: 0, items: [] })),
    });
    expect((await call("GET", `/knowledgebase/${kbId}/wiki/index?types=entity,concept&cursor=50`)).body.groups).toEqual([
      { type: "entity", total: 0, items: [] },
      { type: "concept", total: 0, items: [] },
    ]);
    expect((await call("GET", `/knowledgebase/${kbId}/wiki/index?cursor=abc`)).body.error.details.field).toBe("cursor");
  });

  it("every page is 404 (1003), and so are its revisions, slugs with `/` too", async () => {
    for (const slug of ["entity/acme-corp", "overview"]) {
      expectError(await call("GET", `/knowledgebase/${kbId}/wiki/pages/${slug}`), 404, 1003, /^Wiki page/);
      expectError(await call("GET", `/knowledgebase/${kbId}/wiki/revisions/${slug}`), 404, 1003, /^Wiki page/);
      expectError(await call("GET", `/knowledgebase/${kbId}/wiki/revisions/${slug}?version=1`), 404, 1003, /^Wiki page/);
    }
  });

  it("the page list, folders, graph, stats and issues are empty, in WeKnora's shapes", async () => {
    expect((await call("GET", `/knowledgebase/${kbId}/wiki/pages?page=2&page_size=5`)).body).toEqual({ success: true, pages: [], total: 0, page: 2, page_size: 5, total_pages: 0 });
    expect((await call("GET", `/knowledgebase/${kbId}/wiki/pages?page=0&page_size=0`)).body).toMatchObject({ page: 1, page_size: 20 });
    expect((await call("GET", `/knowledgebase/${kbId}/wiki/folders`)).body).toEqual({ success: true, parent_id: "", folders: [] });
    expect((await call("GET", `/knowledgebase/${kbId}/wiki/folders?parent_id=f1`)).body).toEqual({ success: true, parent_id: "f1", folders: [] });
    expect((await call("GET", `/knowledgebase/${kbId}/wiki/graph`)).body).toEqual({ success: true, nodes: [], edges: [], meta: { mode: "overview", total: 0, returned: 0, truncated: false } });
    expect((await call("GET", `/knowledgebase/${kbId}/wiki/graph?mode=ego&center=entity/acme`)).body.meta.mode).toBe("ego");
    expect((await call("GET", `/knowledgebase/${kbId}/wiki/graph?mode=ego`)).body.error).toMatchObject({ code: 1010, details: { field: "center" } });
    expect((await call("GET", `/knowledgebase/${kbId}/wiki/graph?mode=sideways`)).body.error).toMatchObject({ code: 1010, details: { field: "mode" } });
    expect((await call("GET", `/knowledgebase/${kbId}/wiki/stats`)).body).toEqual({
      success: true,
      total_pages: 0,
      pages_by_type: {},
      total_links: 0,
      orphan_count: 0,
      recent_updates: [],
      pending_tasks: 0,
      pending_issues: 0,
      is_active: false,
    });
    expect((await call("GET", `/knowledgebase/${kbId}/wiki/issues?status=open`)).body).toEqual([]);
  });

  it("is tenant-walled: another tenant's base (or an unknown one) is 404 (1003) on every read; a malformed id is 400", async () => {
    for (const path of ["wiki/search?q=x", "wiki/index", "wiki/pages/entity/acme-corp", "wiki/revisions/entity/acme-corp", "wiki/pages", "wiki/folders", "wiki/graph", "wiki/stats", "wiki/issues"]) {
      for (const [id, key] of [[kbId, otherKey], [randomUUID(), t.owner.apiKey]] as const) {
        expectError(await call("GET", `/knowledgebase/${id}/${path}`, { key }), 404, 1003, /^Knowledge base not found/);
      }
      expect((await call("GET", `/knowledgebase/nope/${path}`)).body.error).toMatchObject({ code: 1010, details: { field: "kb_id" } });
    }
    expect((await call("GET", `/knowledgebase/${foreignKbId}/wiki/index`, { key: otherKey })).status).toBe(200);
  });
});

describe("artifacts", () => {
  it("a session and an answer have none; downloading one is 404 (1003)", async () => {
    for (const key of [member.apiKey, t.owner.apiKey]) {
      // The owner, an admin, reads any session of the tenant, as the other session routes let them.
      expect((await call("GET", `/sessions/${sessionId}/artifacts`, { key })).body).toEqual({ success: true, data: [] });
      expect((await call("GET", `/sessions/${sessionId}/messages/${answerId}/artifacts`, { key })).body).toEqual({ success: true, data: [] });
      expectError(await call("GET", `/sessions/${sessionId}/messages/${answerId}/artifacts/0/download`, { key }), 404, 1003, /^Artifact not found/);
    }
    expect((await call("GET", `/sessions/${sessionId}/messages/${answerId}/artifacts/-1/download`)).body.error).toMatchObject({ code: 1010, details: { field: "index" } });
  });

  it("only of a session the caller may read, and a message of that session: anything else is 404 (1003)", async () => {
    const colleague = await t.addUser("member");
    const ownSession = (await call("POST", "/sessions", { key: colleague.apiKey })).body.data.id;
    const cases: [string, string, RegExp][] = [
      [`/sessions/${sessionId}/artifacts`, otherKey, /^Session/],
      [`/sessions/${sessionId}/artifacts`, colleague.apiKey, /^Session/],
      [`/sessions/${randomUUID()}/artifacts`, member.apiKey, /^Session/],
      [`/sessions/${sessionId}/messages/${answerId}/artifacts`, otherKey, /^Session/],
      [`/sessions/${sessionId}/messages/${answerId}/artifacts`, colleague.apiKey, /^Session/],
      [`/sessions/${ownSession}/messages/${answerId}/artifacts`, colleague.apiKey, /^Message/],
      [`/sessions/${sessionId}/messages/${randomUUID()}/artifacts`, member.apiKey, /^Message/],
      [`/sessions/${sessionId}/messages/${answerId}/artifacts/0/download`, otherKey, /^Session/],
      [`/sessions/${ownSession}/messages/${answerId}/artifacts/0/download`, colleague.apiKey, /^Message/],
    ];
    for (const [path, key, message] of cases) expectError(await call("GET", path, { key }), 404, 1003, message);
  });
});

it("are in the OpenAPI document", async () => {
  const doc = (await (await fetch(`${base}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
  const paths = [
    "/knowledgebase/{kb_id}/wiki/search",
    "/knowledgebase/{kb_id}/wiki/index",
    "/knowledgebase/{kb_id}/wiki/pages/{slug}",
    "/knowledgebase/{kb_id}/wiki/revisions/{slug}",
    "/knowledgebase/{kb_id}/wiki/pages",
    "/knowledgebase/{kb_id}/wiki/folders",
    "/knowledgebase/{kb_id}/wiki/graph",
    "/knowledgebase/{kb_id}/wiki/stats",
    "/knowledgebase/{kb_id}/wiki/issues",
    "/sessions/{id}/artifacts",
    "/sessions/{id}/messages/{message_id}/artifacts",
    "/sessions/{id}/messages/{message_id}/artifacts/{index}/download",
  ];
  for (const path of paths) expect(Object.keys(doc.paths[`/api/v1${path}`] ?? {}), path).toEqual(["get"]);
});
