import { count, eq } from "drizzle-orm";
import { PDFDocument, StandardFonts } from "pdf-lib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { knowledgeChunks, knowledgeDocuments } from "../../db/schema";
import { healthWhile, serveTestApp, type ServedTestApp } from "../testing/http";
import { waitFor } from "../testing/wait";
import { PDF_BOMBS } from "./pdfFixtures";

/**
 * No upload, however small, takes the server down (the contract's Operations): each kind of PDF
 * bomb sent to the real upload route is refused with a 400 naming the limit, nothing stored, while
 * /api/health keeps answering within 2 s and this process (the server) stays under 1 GB. A document
 * process that dies mid-parse costs that parse only, and documents wait in a bounded queue.
 */

/** A served test App, with a member's key and a knowledge base of theirs to upload to. */
interface Served extends ServedTestApp {
  key: string;
  baseId: string;
}

async function serve(...args: Parameters<typeof serveTestApp>): Promise<Served> {
  const served = await serveTestApp(...args);
  const { apiKey: key, api } = await served.tenant.addUser("member");
  const baseId = (await api.knowledge.bases.create({ name: "Bombs" })).id;
  return { ...served, key, baseId };
}

const stored = async ({ app, baseId }: Served) => ({
  documents: Number((await app.db.select({ n: count() }).from(knowledgeDocuments).where(eq(knowledgeDocuments.knowledgeBaseId, baseId)))[0]!.n),
  chunks: Number((await app.db.select({ n: count() }).from(knowledgeChunks).where(eq(knowledgeChunks.knowledgeBaseId, baseId)))[0]!.n),
});

function upload({ url, key, baseId }: Served, file: File) {
  const form = new FormData();
  form.set("knowledgeBaseId", baseId);
  form.set("file", file);
  return fetch(`${url}/api/knowledge/upload`, { method: "POST", body: form, headers: { authorization: `Bearer ${key}` } });
}

/** `knowledge.documents.add` as a client sends it: one tRPC mutation over HTTP. */
function addDocument({ url, key, baseId }: Served, content: string) {
  return fetch(`${url}/api/trpc/knowledge.documents.add`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ json: { knowledgeBaseId: baseId, title: "Added", content, mimeType: "text/markdown" } }),
  });
}

/** Markdown that takes a document process seconds to chunk and embed. */
const slowMarkdown = (paragraphs: number) =>
  Array.from({ length: paragraphs }, (_, i) => `Paragraph ${i} says the quarterly widget output rose again. It was a sunny day in region ${i}.`).join("\n\n");

async function textPdf(text: string) {
  const pdf = await PDFDocument.create();
  pdf.addPage([500, 200]).drawText(text, { x: 20, y: 100, size: 12, font: await pdf.embedFont(StandardFonts.Helvetica) });
  return new File([new Uint8Array(await pdf.save())], "fine.pdf");
}

/**
 * Runs `work` while /api/health is asked every 100 ms, one request at a time, and this process's
 * resident size is sampled every 25 ms: the slowest health answer, how many there were, the peak.
 */
async function watched<T>({ url }: Served, work: Promise<T>) {
  let peakRssMb = process.memoryUsage().rss / 1024 / 1024;
  const sampler = setInterval(() => (peakRssMb = Math.max(peakRssMb, process.memoryUsage().rss / 1024 / 1024)), 25);
  try {
    const { result, rounds } = await healthWhile(url, work, 100);
    return { result, slowestHealthMs: Math.max(0, ...rounds.map((round) => round.healthMs)), healthChecks: rounds.length, peakRssMb };
  } finally {
    clearInterval(sampler);
  }
}

describe("a PDF bomb at the upload route", () => {
  let served: Served;
  beforeAll(async () => {
    served = await serve();
  });
  afterAll(() => served?.close());

  it.each(PDF_BOMBS)("$name: a 400 naming the limit, nothing stored; health within 2 s and under 1 GB throughout", async ({ build, refusal }) => {
    const file = new File([await build()], "bomb.pdf");
    const before = await stored(served);
    const { result: res, slowestHealthMs, healthChecks, peakRssMb } = await watched(served, upload(served, file));
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: { code: "BAD_REQUEST", message: refusal, field: "file" } });
    expect(await stored(served)).toEqual(before);
    expect(healthChecks).toBeGreaterThan(0);
    expect(slowestHealthMs).toBeLessThan(2_000);
    expect(peakRssMb).toBeLessThan(1024);
    // The server is still whole: the next document is read as usual.
    const next = await upload(served, await textPdf("Read after the bomb."));
    expect(next.status).toBe(201);
  }, 120_000);
});

describe("a document process that dies mid-parse", () => {
  let served: Served;
  beforeAll(async () => {
    served = await serve({}, { documents: { processes: 1 } });
  });
  afterAll(() => served?.close());

  it("ends that parse with a 400 naming the memory cap, storing nothing; the pool replaces it and the next upload is stored", async () => {
    const { app } = served;
    const before = await stored(served);
    const adding = addDocument(served, slowMarkdown(20_000));
    await waitFor(() => app.documents.running === 1 && app.documents.pids.length === 1, { timeoutMs: 30_000 });
    const [pid] = app.documents.pids;
    await new Promise((resolve) => setTimeout(resolve, 500));
    process.kill(pid!, "SIGKILL");
    const { result: res, slowestHealthMs } = await watched(served, adding);
    expect(res.status).toBe(400);
    expect((await res.json()).error.json).toMatchObject({ message: "The document needs more than 512 MB of memory to read", data: { code: "BAD_REQUEST" } });
    expect(await stored(served)).toEqual(before);
    expect(slowestHealthMs).toBeLessThan(2_000);

    const next = await upload(served, await textPdf("Read by the replacement."));
    expect(next.status).toBe(201);
    expect(app.documents.pids).toHaveLength(1);
    expect(app.documents.pids[0]).not.toBe(pid);
  }, 120_000);
});

describe("the queue of documents", () => {
  let served: Served;
  beforeAll(async () => {
    served = await serve({ PARLEY_MAX_QUEUED_DOCUMENTS: "1" }, { documents: { processes: 1 } });
  });
  afterAll(() => served?.close());

  it("holds PARLEY_MAX_QUEUED_DOCUMENTS documents while the processes are busy; the next is 429 with Retry-After, on tRPC and the upload route, storing nothing", async () => {
    const { app } = served;
    const running = addDocument(served, slowMarkdown(6_000));
    await waitFor(() => app.documents.running === 1, { timeoutMs: 30_000 });
    const queued = upload(served, new File(["# Queued\n\nWaits its turn."], "queued.md"));
    await waitFor(() => app.documents.queued === 1, { timeoutMs: 30_000 });
    const before = await stored(served);

    const refused = await addDocument(served, "# One too many");
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("5");
    expect((await refused.json()).error.json).toMatchObject({
      message: "Too many documents are waiting to be read on this server; try again shortly",
      data: { code: "TOO_MANY_REQUESTS" },
    });
    const refusedUpload = await upload(served, new File(["One too many."], "more.txt"));
    expect(refusedUpload.status).toBe(429);
    expect(await refusedUpload.json()).toMatchObject({ error: { code: "TOO_MANY_REQUESTS" } });
    expect(await stored(served)).toEqual(before);

    expect((await running).status).toBe(200);
    expect((await queued).status).toBe(201);
  }, 120_000);
});
