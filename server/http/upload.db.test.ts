import { PDFDocument, StandardFonts } from "pdf-lib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../boot/app";
import { createTestApp, createTestTenant, type TestCaller } from "../testing/app";
import { serveApp, signInCookie } from "../testing/http";
import { MAX_DOCUMENT_BYTES } from "../knowledge/ingest";
import { handleUpload } from "./upload";

let app: App;
let key: string;
let api: TestCaller;
let baseId: string;
beforeAll(async () => {
  app = await createTestApp();
  const t = await createTestTenant(app);
  const member = await t.addUser("member");
  key = member.apiKey;
  api = member.api;
  baseId = (await api.knowledge.bases.create({ name: "Uploads" })).id;
});
afterAll(() => app.close());

function uploadRequest(fields: { knowledgeBaseId?: string; title?: string; file?: File }, headers: Record<string, string> = { authorization: `Bearer ${key}` }) {
  const form = new FormData();
  if (fields.knowledgeBaseId) form.set("knowledgeBaseId", fields.knowledgeBaseId);
  if (fields.title) form.set("title", fields.title);
  if (fields.file) form.set("file", fields.file);
  return new Request("http://localhost/api/knowledge/upload", { method: "POST", body: form, headers });
}
const upload = (...args: Parameters<typeof uploadRequest>) => handleUpload(app, uploadRequest(...args));

async function pdfFile(text: string) {
  const pdf = await PDFDocument.create();
  const page = pdf.addPage([500, 200]);
  page.drawText(text, { x: 20, y: 100, size: 12, font: await pdf.embedFont(StandardFonts.Helvetica) });
  return new File([new Uint8Array(await pdf.save())], "report.pdf", { type: "application/pdf" });
}

describe("POST /api/knowledge/upload", () => {
  it("stores a Markdown file as a document, titled by its file name unless a title is given", async () => {
    const file = new File(["# Runbook\n\n## Restart\n\nRestart the fluxcapacitor twice."], "runbook.md", { type: "text/markdown" });
    const res = await upload({ knowledgeBaseId: baseId, file });
    expect(res.status).toBe(201);
    const document = await res.json();
    expect(document).toMatchObject({ knowledgeBaseId: baseId, title: "runbook", mimeType: "text/markdown", status: "ready", chunkCount: 1 });
    expect((await api.knowledge.documents.list({ knowledgeBaseId: baseId })).items.map((d) => d.id)).toContain(document.id);
    const titled = await (await upload({ knowledgeBaseId: baseId, title: "Page", file: new File(["<p>Hello</p>"], "x.html") })).json();
    expect(titled).toMatchObject({ title: "Page", mimeType: "text/html" });
  });

  it("reads a PDF, and its text is searchable", async () => {
    const res = await upload({ knowledgeBaseId: baseId, file: await pdfFile("Quarterly widget output rose by nine percent.") }, { "x-api-key": key });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ mimeType: "application/pdf", title: "report" });
    const { items } = await api.knowledge.search({ knowledgeBaseIds: [baseId], query: "widget output" });
    expect(items[0]!.content).toContain("Quarterly widget output rose by nine percent.");
  });

  it("accepts the sign-in cookie like tRPC does, and nothing without a key", async () => {
    const cookie = await signInCookie(app, key);
    expect((await upload({ knowledgeBaseId: baseId, file: new File(["Cookie text."], "c.txt") }, { cookie })).status).toBe(201);
    const res = await upload({ knowledgeBaseId: baseId, file: new File(["x"], "x.txt") }, {});
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: { code: "UNAUTHORIZED" } });
  });

  it("answers bad input with 400 naming the field, and another tenant's base with 404", async () => {
    const expectError = async (res: Response, status: number, error: Record<string, string>) => {
      expect(res.status).toBe(status);
      expect((await res.json()).error).toMatchObject(error);
    };
    await expectError(await upload({ file: new File(["x"], "x.txt") }), 400, { code: "BAD_REQUEST", field: "knowledgeBaseId" });
    await expectError(await upload({ knowledgeBaseId: baseId }), 400, { code: "BAD_REQUEST", field: "file" });
    await expectError(await upload({ knowledgeBaseId: baseId, file: new File(["x"], "sheet.xlsx") }), 400, { code: "BAD_REQUEST", field: "file" });
    await expectError(await upload({ knowledgeBaseId: baseId, file: new File(["%PDF-1.4 broken"], "broken.pdf") }), 400, { code: "BAD_REQUEST", field: "file" });
    await expectError(await upload({ knowledgeBaseId: baseId, file: new File([" \n "], "empty.txt") }), 400, { code: "BAD_REQUEST", field: "content" });
    const foreign = (await (await createTestTenant(app)).owner.api.knowledge.bases.create({ name: "Theirs" })).id;
    await expectError(await upload({ knowledgeBaseId: foreign, file: new File(["x"], "x.txt") }), 404, { code: "NOT_FOUND" });
    const notMultipart = new Request("http://localhost/api/knowledge/upload", { method: "POST", body: "{}", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" } });
    await expectError(await handleUpload(app, notMultipart), 400, { code: "BAD_REQUEST", field: "file" });
  });

  it("takes a file of exactly 5 MB and refuses a larger one with 413", async () => {
    const head = "Exactly at the limit.";
    const exact = new File([head + " ".repeat(MAX_DOCUMENT_BYTES - head.length)], "edge.txt");
    expect(exact.size).toBe(5 * 1024 * 1024);
    const ok = await upload({ knowledgeBaseId: baseId, file: exact });
    expect(ok.status).toBe(201);
    expect(await ok.json()).toMatchObject({ sizeBytes: 5 * 1024 * 1024 });
    const over = await upload({ knowledgeBaseId: baseId, file: new File([head + " ".repeat(MAX_DOCUMENT_BYTES - head.length + 1)], "over.txt") });
    expect(over.status).toBe(413);
    expect(await over.json()).toEqual({ error: { code: "PAYLOAD_TOO_LARGE", message: expect.stringContaining("5 MB"), field: "file" } });
    // A body announced as far too large is refused before it is read.
    const announced = new Request("http://localhost/api/knowledge/upload", {
      method: "POST",
      body: "x",
      headers: { authorization: `Bearer ${key}`, "content-type": "multipart/form-data; boundary=x", "content-length": String(50 * 1024 * 1024) },
    });
    expect((await handleUpload(app, announced)).status).toBe(413);
  });

  it("is what the server serves at POST /api/knowledge/upload", async () => {
    const server = await serveApp(app);
    try {
      const request = uploadRequest({ knowledgeBaseId: baseId, file: new File(["Routed text."], "routed.txt") });
      const res = await fetch(`${server.url}/api/knowledge/upload`, { method: "POST", body: await request.formData(), headers: { authorization: `Bearer ${key}` } });
      expect(res.status).toBe(201);
      expect(await res.json()).toMatchObject({ title: "routed", mimeType: "text/plain" });
    } finally {
      await server.close();
    }
  });

  it("refuses NUL characters (which Postgres cannot store) in the title or a text file as 400, storing nothing", async () => {
    const before = (await api.knowledge.documents.list({ knowledgeBaseId: baseId })).items.length;
    const titled = await upload({ knowledgeBaseId: baseId, title: "a\0b", file: new File(["fine"], "x.txt") });
    expect(titled.status).toBe(400);
    expect(await titled.json()).toMatchObject({ error: { code: "BAD_REQUEST", field: "title" } });
    const binary = await upload({ knowledgeBaseId: baseId, file: new File(["text\0more"], "x.txt") });
    expect(binary.status).toBe(400);
    expect(await binary.json()).toMatchObject({ error: { code: "BAD_REQUEST", field: "file" } });
    expect((await api.knowledge.documents.list({ knowledgeBaseId: baseId })).items).toHaveLength(before);
  });
});
