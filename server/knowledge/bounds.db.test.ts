import { count, eq, sql } from "drizzle-orm";
import { PDFDocument } from "pdf-lib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { knowledgeChunks, knowledgeDocuments } from "../../db/schema";
import type { App } from "../boot/app";
import { createTestApp, createTestTenant, fieldErrorsOf, type TestCaller } from "../testing/app";
import { healthWhile, serveApp } from "../testing/http";
import { handleUpload } from "../http/upload";

/**
 * What a hostile document costs, through the app: past a bound it is refused as BAD_REQUEST
 * naming the bound and the field, nothing stored; within them it is prepared off the event loop,
 * so other requests on the same process are answered meanwhile.
 */

let app: App;
let api: TestCaller;
let key: string;
let baseId: string;
beforeAll(async () => {
  app = await createTestApp();
  const member = await (await createTestTenant(app)).addUser("member");
  ({ api, apiKey: key } = member);
  baseId = (await api.knowledge.bases.create({ name: "Hostile" })).id;
});
afterAll(() => app.close());

const stored = async () => ({
  documents: Number((await app.db.select({ n: count() }).from(knowledgeDocuments).where(eq(knowledgeDocuments.knowledgeBaseId, baseId)))[0]!.n),
  chunks: Number((await app.db.select({ n: count() }).from(knowledgeChunks).where(eq(knowledgeChunks.knowledgeBaseId, baseId)))[0]!.n),
});

const addMarkdown = (content: string) => api.knowledge.documents.add({ knowledgeBaseId: baseId, title: "Hostile", content, mimeType: "text/markdown" });

async function expectRefused(add: () => Promise<unknown>, message: string) {
  const before = await stored();
  expect(await add().catch((e: unknown) => e)).toMatchObject({ code: "BAD_REQUEST", message });
  expect(await fieldErrorsOf(add())).toEqual(["content"]);
  expect(await stored()).toEqual(before);
}

function upload(file: File) {
  const form = new FormData();
  form.set("knowledgeBaseId", baseId);
  form.set("file", file);
  return handleUpload(app, new Request("http://localhost/api/knowledge/upload", { method: "POST", body: form, headers: { authorization: `Bearer ${key}` } }));
}

describe("a hostile document", () => {
  it("with long headings over many sections is stored with its headings cut, its chunks proportional to it", async () => {
    const long = (c: string) => `${c} ${"x".repeat(10_000)}`;
    const content = [
      "# Title",
      ...["A", "B", "C", "D"].map((c, i) => `${"#".repeat(i + 2)} ${long(c)}`),
      ...Array.from({ length: 500 }, (_, i) => `###### s${i}\n\nBody ${i}.`),
    ].join("\n\n");
    const document = await addMarkdown(content);
    expect(document.chunkCount).toBe(500);
    const [{ bytes }] = (await app.db
      .select({ bytes: sql<number>`sum(octet_length(${knowledgeChunks.heading}) + octet_length(${knowledgeChunks.content}))::int` })
      .from(knowledgeChunks)
      .where(eq(knowledgeChunks.documentId, document.id))) as [{ bytes: number }]; // sum() without `group by`: one row
    // Before the cut: 20 MB of chunks from 45 KB.
    expect(Number(bytes)).toBeLessThan(10 * content.length);
  }, 120_000);

  it("nested past the parser's stack is BAD_REQUEST naming the bound, not a 500", async () => {
    await expectRefused(() => addMarkdown(`${">".repeat(10_000)} deep`), "The document nests deeper than 64 levels");
  }, 60_000);

  it("nested 65 levels of HTML is refused; nothing is stored", async () => {
    const content = `${"<div>".repeat(65)}deep${"</div>".repeat(65)}`;
    await expectRefused(() => api.knowledge.documents.add({ knowledgeBaseId: baseId, title: "Deep", content, mimeType: "text/html" }), "The document nests deeper than 64 levels");
  }, 60_000);

  it("that would make more than 10000 chunks is refused; nothing is stored", async () => {
    const sections = Array.from({ length: 10_001 }, (_, i) => `## s${i}\n\nb${i}`).join("\n\n");
    await expectRefused(() => addMarkdown(sections), "The document would make more than 10000 chunks");
  }, 120_000);

  it("uploaded as a PDF of 501 pages is a 400 naming the bound and the field; nothing is stored", async () => {
    const pdf = await PDFDocument.create();
    for (let i = 0; i < 501; i++) pdf.addPage([200, 200]);
    const before = await stored();
    const res = await upload(new File([new Uint8Array(await pdf.save())], "long.pdf"));
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: { code: "BAD_REQUEST", message: "The PDF has more than 500 pages", field: "file" } });
    expect(await stored()).toEqual(before);
  }, 120_000);
});

describe("a slow document", () => {
  it("does not stall other requests on the same process while it is prepared", async () => {
    const server = await serveApp(app);
    try {
      // Cheap to store (about 200 chunks), slow to parse: each word is 12 elements deep. Parsed here, it would hold
      // the event loop for more than a second; it needs about 200 MB, well inside the document process's 512.
      const words = Array.from({ length: 16_000 }, (_, i) => `${"<span>".repeat(12)}word${i % 7} ${"</span>".repeat(12)}`);
      // Health checks, one after another, for as long as the upload takes; each round's stall counts the pause too.
      const { result: res, workMs, rounds } = await healthWhile(server.url, upload(new File([`<p>${words.join("")}</p>`], "slow.html")), 50);
      expect(res.status).toBe(201);
      // No round waited for the parse. A busy machine can stall one for a moment, which half the upload leaves room for.
      const slowest = Math.max(...rounds.map((round) => round.stallMs));
      expect(workMs).toBeGreaterThan(2 * slowest);
      expect(rounds.length).toBeGreaterThan(3);
    } finally {
      await server.close();
    }
  }, 180_000);
});
