import { mkdirSync, statSync } from "node:fs";
import path from "node:path";
import { expect, test, type Page } from "@playwright/test";
import { PDFDocument, StandardFonts } from "pdf-lib";
import { BASE, lastAnswer, newUser, signIn, trpc, type Session } from "./helpers";

const PDF_TITLE = "Vargoy lighthouse log";
const PDF_LINES = [
  "The lighthouse keeper of Vargøy is Ingrid Solberg.",
  "She lights the lamp every evening at dusk and writes each passing ship into the log.",
  "The Vargøy lighthouse was built in 1893 from granite quarried on the island.",
];

/** A small real PDF (pdf-lib, standard Helvetica) whose text is the sentences above. */
async function lighthousePdf(): Promise<Buffer> {
  const pdf = await PDFDocument.create();
  const page = pdf.addPage([595, 842]);
  const font = await pdf.embedFont(StandardFonts.Helvetica);
  PDF_LINES.forEach((line, i) => page.drawText(line, { x: 48, y: 780 - i * 22, size: 12, font }));
  return Buffer.from(await pdf.save());
}

/** Drops files on the drop area the way a browser does: a `drop` event carrying a DataTransfer. */
async function dropFiles(page: Page, files: { name: string; mimeType: string; buffer: Buffer }[]) {
  const dataTransfer = await page.evaluateHandle((list) => {
    const dt = new DataTransfer();
    for (const f of list) {
      const bytes = Uint8Array.from(atob(f.base64), (c) => c.charCodeAt(0));
      dt.items.add(new File([bytes], f.name, { type: f.mimeType }));
    }
    return dt;
  }, files.map((f) => ({ name: f.name, mimeType: f.mimeType, base64: f.buffer.toString("base64") })));
  const zone = page.getByTestId("dropzone");
  await zone.dispatchEvent("dragenter", { dataTransfer });
  await expect(zone).toHaveClass(/is-dragging/);
  await zone.dispatchEvent("drop", { dataTransfer });
  await expect(zone).not.toHaveClass(/is-dragging/);
}

async function ask(page: Page, question: string) {
  const box = page.getByRole("textbox", { name: "Message" });
  await box.fill(question);
  await box.press("Enter");
}

test.describe("knowledge", () => {
  test("create a base, drop a PDF, see its chunks, search it, and get answers citing it in a chat", async ({ page }) => {
    test.setTimeout(120_000);
    const user = await newUser(page.request, "member", "kb");
    const tag = Date.now().toString(36);
    const baseName = `Lighthouses ${tag}`;
    await signIn(page, user.key);

    // Reached from the chat sidebar.
    await page.goto("/");
    await page.getByRole("link", { name: "Knowledge bases" }).click();
    await expect(page).toHaveURL(/\/knowledge/);
    await expect(page.getByRole("heading", { name: "Knowledge bases", level: 1 })).toBeVisible();

    // Create a base.
    await page.getByRole("button", { name: "New base" }).click();
    const dialog = page.getByRole("dialog", { name: "New knowledge base" });
    await dialog.getByLabel("Name").fill(baseName);
    await dialog.getByLabel("Description").fill("Logs and history of the Finnmark lighthouses.");
    await dialog.getByRole("button", { name: "Create" }).click();
    await expect(dialog).toBeHidden();
    await expect(page.getByRole("heading", { name: baseName, level: 2 })).toBeVisible();
    await expect(page.getByRole("list", { name: "Knowledge bases" }).getByRole("button", { name: new RegExp(baseName) })).toHaveAttribute("aria-current", "true");
    await expect(page.getByTestId("base-counts")).toContainText("0 documents · 0 chunks");
    const baseId = new URL(page.url()).searchParams.get("base")!;
    expect(baseId).toMatch(/^[0-9a-f-]{36}$/);

    // Drag and drop a real PDF.
    await dropFiles(page, [{ name: `${PDF_TITLE}.pdf`, mimeType: "application/pdf", buffer: await lighthousePdf() }]);
    const uploads = page.getByRole("list", { name: "Uploads" });
    await expect(uploads.getByRole("listitem").filter({ hasText: `${PDF_TITLE}.pdf` })).toContainText("Added · 1 chunk");
    const docs = page.getByRole("table");
    const pdfRow = docs.getByRole("row").filter({ hasText: PDF_TITLE });
    await expect(pdfRow.getByTestId("chunk-count")).toHaveText("1");
    await expect(pdfRow).toContainText("Ready");
    await expect(pdfRow).toContainText("PDF");
    await expect(page.getByTestId("base-counts")).toContainText("1 document · 1 chunk");

    // The file picker takes several files at once; unsupported and too-large ones are refused with a reason.
    await page.getByLabel("Files to upload").setInputFiles([
      { name: "tides.md", mimeType: "text/markdown", buffer: Buffer.from("# Tides\n\nSpring tides at Vardø reach three metres.\n") },
      { name: "notes.docx", mimeType: "application/octet-stream", buffer: Buffer.from("PK not really a docx") },
      { name: "huge.txt", mimeType: "text/plain", buffer: Buffer.alloc(5 * 1024 * 1024 + 10, "a") },
    ]);
    await expect(uploads.getByRole("listitem").filter({ hasText: "tides.md" })).toContainText("Added · 1 chunk");
    await expect(uploads.getByRole("listitem").filter({ hasText: "notes.docx" })).toContainText("“.docx” files are not supported");
    await expect(uploads.getByRole("listitem").filter({ hasText: "huge.txt" })).toContainText("Too large: 5.0 MB. The limit is 5 MB per file.");
    await expect(docs.getByRole("row").filter({ hasText: "tides" }).getByTestId("chunk-count")).toHaveText("1");

    // The progress bar follows the bytes sent: a bigger file over a throttled connection.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send("Network.enable");
    await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 20, downloadThroughput: -1, uploadThroughput: 40 * 1024 });
    const line = "Keeper's log: wind from the north-west, visibility fair, the lamp lit at dusk and put out at dawn.\n";
    await page.getByLabel("Files to upload").setInputFiles({ name: "keeper-log.txt", mimeType: "text/plain", buffer: Buffer.from(line.repeat(2000)) });
    const bar = page.getByRole("progressbar", { name: "Uploading keeper-log.txt" });
    await expect.poll(async () => Number((await bar.getAttribute("aria-valuenow")) ?? 0), { timeout: 10_000 }).toBeGreaterThan(5);
    const midway = Number(await bar.getAttribute("aria-valuenow"));
    expect(midway).toBeLessThan(100);
    await expect(uploads.getByRole("listitem").filter({ hasText: "keeper-log.txt" })).toContainText(/Added · \d+ chunks/, { timeout: 30_000 });
    await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    await cdp.detach();

    // Search: the PDF's chunk, the words highlighted, how it matched and its scores.
    await page.getByRole("searchbox", { name: "Search the knowledge base" }).fill("lighthouse keeper Vargøy");
    await page.getByRole("searchbox", { name: "Search the knowledge base" }).press("Enter");
    const results = page.getByRole("list", { name: "Search results" });
    const first = results.getByRole("listitem").first();
    await expect(first).toContainText(PDF_TITLE);
    await expect(first).toContainText("Ingrid Solberg");
    await expect(first.locator("mark").filter({ hasText: /^lighthouse$/i }).first()).toBeVisible();
    await expect(first.locator("mark").filter({ hasText: "Vargøy" }).first()).toBeVisible();
    await expect(first).toHaveAttribute("data-matched-by", "both");
    await expect(first.getByLabel("Matched by keyword and vector")).toBeVisible();
    await expect(first.locator(".kb-match .badge")).toHaveText(["keyword", "vector"]);
    await expect(first.getByRole("term")).toHaveText(["Keyword", "Vector", "Rerank"]);
    await expect(first.getByRole("definition").first()).toContainText(/\d\.\d\d/);
    const api = await trpc<{ items: { documentId: string; matchedBy: string; scores: { rerank: number } }[] }>(
      page.request,
      "query",
      "knowledge.search",
      { knowledgeBaseIds: [baseId], query: "lighthouse keeper Vargøy" },
      user.key,
    );
    await expect(results.getByRole("listitem")).toHaveCount(api.items.length);
    await expect(first).toContainText(api.items[0]!.scores.rerank.toFixed(2));

    // Nothing above the thresholds: said so, and why.
    await page.getByRole("searchbox", { name: "Search the knowledge base" }).fill("quantum zebra marmalade");
    await page.getByRole("searchbox", { name: "Search the knowledge base" }).press("Enter");
    await expect(page.getByRole("status").filter({ hasText: "Nothing came back" })).toContainText("threshold");

    // A new chat answers from the handbook; in its settings, choose this base instead.
    await page.getByRole("link", { name: "Chats" }).click();
    await expect(page.getByRole("heading", { name: "How can I help?" })).toBeVisible();
    await ask(page, "Who is the lighthouse keeper of Vargøy?");
    await expect(lastAnswer(page)).toHaveAttribute("data-status", "completed", { timeout: 40_000 });
    await expect(lastAnswer(page)).not.toContainText(PDF_TITLE);
    const sessionId = new URL(page.url()).searchParams.get("c")!;

    await page.getByRole("button", { name: "Chat settings" }).click();
    const settings = page.getByRole("dialog", { name: "Chat settings" });
    const knowledge = settings.getByRole("group", { name: /Knowledge/ });
    await expect(knowledge.getByRole("checkbox", { name: /^Parley handbook/ })).toBeChecked();
    await knowledge.getByRole("checkbox", { name: /^Parley handbook/ }).uncheck();
    await knowledge.getByRole("checkbox", { name: new RegExp(`^${baseName}`) }).check();
    await expect(knowledge).toContainText("Answers search this base for sources.");
    await settings.getByRole("button", { name: "Save" }).click();
    await expect(settings.getByRole("status")).toHaveText("Saved.");
    const saved = await trpc<Session & { knowledgeBaseId: string | null; agentConfig: { knowledgeBases: string[] } }>(
      page.request,
      "query",
      "session.get",
      { id: sessionId },
      user.key,
    );
    expect(saved.knowledgeBaseId).toBe(baseId);
    expect(saved.agentConfig.knowledgeBases).toEqual([]);
    await settings.getByRole("button", { name: "Close settings" }).click();

    // The same question now streams an answer whose sources include the PDF.
    await ask(page, "Who is the lighthouse keeper of Vargøy?");
    const answer = lastAnswer(page);
    await expect(answer).toHaveAttribute("data-status", "streaming");
    await expect(answer).toHaveAttribute("data-status", "completed", { timeout: 40_000 });
    await expect(answer.getByTestId("assistant-content")).toContainText("Ingrid Solberg");
    await expect(answer.getByRole("region", { name: "Sources" })).toContainText(PDF_TITLE);

    // Reopened, the settings show the saved choice.
    await page.getByRole("button", { name: "Chat settings" }).click();
    await expect(knowledge.getByRole("checkbox", { name: new RegExp(`^${baseName}`) })).toBeChecked();
    await expect(knowledge.getByRole("checkbox", { name: /^Parley handbook/ })).not.toBeChecked();
  });

  test("who may change what: the handbook is read-only, others' bases take documents, your own you rename and delete", async ({ page }) => {
    const tag = Date.now().toString(36);
    // Signed out: sent to sign in, and back here afterwards.
    await page.goto("/knowledge");
    await expect(page).toHaveURL(/\/signin\?next=(%2F|\/)knowledge$/);

    const alice = await newUser(page.request, "member", "alice");
    const bob = await newUser(page.request, "member", "bob");
    const bobs = await trpc<{ id: string }>(page.request, "mutation", "knowledge.bases.create", { name: `Bob's runbooks ${tag}` }, bob.key);
    await signIn(page, alice.key);

    // The handbook: read-only, no edit, no upload.
    await page.goto("/knowledge");
    await page.getByRole("list", { name: "Knowledge bases" }).getByRole("button", { name: /^Parley handbook/ }).click();
    await expect(page.getByRole("heading", { name: /Parley handbook/, level: 2 })).toContainText("Read-only");
    await expect(page.getByText("cannot be changed by hand")).toBeVisible();
    await expect(page.getByRole("button", { name: /^Edit/ })).toHaveCount(0);
    await expect(page.getByRole("button", { name: /^Delete/ })).toHaveCount(0);
    await expect(page.getByTestId("dropzone")).toHaveCount(0);
    await expect(page.getByRole("table")).toContainText("Parley README");

    // Bob's base: Alice may add documents, not rename or delete it.
    await page.goto(`/knowledge?base=${bobs.id}`);
    await expect(page.getByRole("heading", { name: `Bob's runbooks ${tag}`, level: 2 })).toBeVisible();
    await expect(page.getByText("Only its creator or an admin can rename or delete it")).toBeVisible();
    await expect(page.getByRole("button", { name: `Edit Bob's runbooks ${tag}` })).toHaveCount(0);
    await page.getByRole("button", { name: "Paste text" }).click();
    const paste = page.getByRole("form", { name: "Paste text" });
    await paste.getByLabel("Title").fill("Restart procedure");
    await paste.getByLabel("Text").fill("# Restart\n\nDrain the queue, then restart the fluxcapacitor twice.\n");
    await paste.getByRole("button", { name: "Add document" }).click();
    await expect(paste.getByRole("status")).toHaveText("Added “Restart procedure” · 1 chunk.");
    const row = page.getByRole("table").getByRole("row").filter({ hasText: "Restart procedure" });
    await expect(row.getByTestId("chunk-count")).toHaveText("1");
    // She added it, so she may delete it.
    await row.getByRole("button", { name: "Delete Restart procedure" }).click();
    const confirmDoc = page.getByRole("dialog", { name: "Delete document?" });
    await confirmDoc.getByRole("button", { name: "Delete document" }).click();
    await expect(confirmDoc).toBeHidden();
    await expect(page.getByText("No documents yet")).toBeVisible();

    // Her own base: rename, then delete with confirmation.
    await page.getByRole("button", { name: "New base" }).click();
    const create = page.getByRole("dialog", { name: "New knowledge base" });
    await create.getByLabel("Name").fill(`Drafts ${tag}`);
    await create.getByLabel("Name").press("Enter");
    await expect(page.getByRole("heading", { name: `Drafts ${tag}`, level: 2 })).toBeVisible();
    await page.getByRole("button", { name: `Edit Drafts ${tag}` }).click();
    const edit = page.getByRole("dialog", { name: `Edit Drafts ${tag}` });
    await edit.getByLabel("Name").fill(`Final drafts ${tag}`);
    await edit.getByRole("button", { name: "Save" }).click();
    await expect(page.getByRole("heading", { name: `Final drafts ${tag}`, level: 2 })).toBeVisible();
    await expect(page.getByRole("list", { name: "Knowledge bases" })).toContainText(`Final drafts ${tag}`);
    await page.getByRole("button", { name: `Delete Final drafts ${tag}` }).click();
    const confirm = page.getByRole("dialog", { name: "Delete knowledge base?" });
    await expect(confirm).toContainText(`Final drafts ${tag}`);
    await confirm.getByRole("button", { name: "Cancel" }).click();
    await expect(page.getByRole("heading", { name: `Final drafts ${tag}`, level: 2 })).toBeVisible();
    await page.getByRole("button", { name: `Delete Final drafts ${tag}` }).click();
    await confirm.getByRole("button", { name: "Delete base" }).click();
    await expect(confirm).toBeHidden();
    await expect(page.getByRole("list", { name: "Knowledge bases" })).not.toContainText(`Final drafts ${tag}`);
    const left = await trpc<{ items: { name: string }[] }>(page.request, "query", "knowledge.bases.list", undefined, alice.key);
    expect(left.items.map((b) => b.name)).not.toContain(`Final drafts ${tag}`);
  });

  test("screenshots of the knowledge page, light and dark, desktop and 375px", async ({ page }) => {
    test.setTimeout(90_000);
    const DIR = path.join(process.cwd(), "e2e", "screenshots");
    mkdirSync(DIR, { recursive: true });
    const shots: string[] = [];
    const shoot = async (name: string, fullPage = false) => {
      const file = path.join(DIR, `${name}.png`);
      await page.screenshot({ path: file, fullPage });
      shots.push(file);
    };

    const user = await newUser(page.request, "member", "shots");
    const tag = Date.now().toString(36);
    const base = await trpc<{ id: string }>(
      page.request,
      "mutation",
      "knowledge.bases.create",
      { name: `Coastal lights ${tag}`, description: "Keepers' logs, tide tables and the history of the lighthouses on the Varanger peninsula." },
      user.key,
    );
    const upload = await page.request.post(`${BASE}/api/knowledge/upload`, {
      headers: { authorization: `Bearer ${user.key}` },
      multipart: { knowledgeBaseId: base.id, file: { name: `${PDF_TITLE}.pdf`, mimeType: "application/pdf", buffer: await lighthousePdf() } },
    });
    expect(upload.status()).toBe(201);
    await trpc(
      page.request,
      "mutation",
      "knowledge.documents.add",
      {
        knowledgeBaseId: base.id,
        title: "Tide tables",
        mimeType: "text/markdown",
        content: "# Tide tables\n\n## Spring tides\n\nSpring tides at Vardø reach three metres; the lighthouse keeper records them at dawn.\n",
      },
      user.key,
    );
    await signIn(page, user.key);

    const views = { desktop: { width: 1280, height: 800 }, mobile: { width: 375, height: 812 } } as const;
    for (const scheme of ["light", "dark"] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      for (const [vp, size] of Object.entries(views)) {
        await page.setViewportSize(size);
        if (vp === "mobile") {
          await page.goto("/knowledge");
          await expect(page.getByRole("heading", { name: "Knowledge bases", level: 1 })).toBeVisible();
          await shoot(`knowledge-list-${scheme}-${vp}`);
        }
        await page.goto(`/knowledge?base=${base.id}`);
        const documentRows = page.locator("tr[data-document-id]");
        await expect(documentRows).toHaveCount(2);
        await page.getByRole("searchbox", { name: "Search the knowledge base" }).fill("lighthouse keeper");
        await page.getByRole("searchbox", { name: "Search the knowledge base" }).press("Enter");
        await expect(page.getByRole("list", { name: "Search results" }).getByRole("listitem").first()).toBeVisible();
        await page.getByLabel("Files to upload").setInputFiles([
          { name: "notes.docx", mimeType: "application/octet-stream", buffer: Buffer.from("x") },
          { name: "tides-2024.md", mimeType: "text/markdown", buffer: Buffer.from(`# Tides ${scheme} ${vp}\n\nNeap tides at Vardø.\n`) },
        ]);
        await expect(page.getByRole("list", { name: "Uploads" })).toContainText("Added · 1 chunk");
        await expect(documentRows).toHaveCount(3);
        await page.evaluate(() => window.scrollTo(0, 0));
        await shoot(`knowledge-${scheme}-${vp}`);
        await shoot(`knowledge-full-${scheme}-${vp}`, true);
        // The uploaded note goes again, so the next view starts from the same documents.
        const docs = await trpc<{ items: { id: string; title: string }[] }>(page.request, "query", "knowledge.documents.list", { knowledgeBaseId: base.id }, user.key);
        for (const d of docs.items.filter((d) => d.title === "tides-2024")) await trpc(page.request, "mutation", "knowledge.documents.delete", { id: d.id }, user.key);
      }
      // The chat settings with the knowledge section.
      await page.setViewportSize(views.desktop);
      const session = await trpc<{ id: string }>(page.request, "mutation", "session.create", { title: "Lighthouse questions", knowledgeBaseId: base.id }, user.key);
      await page.goto(`/?c=${session.id}`);
      await page.getByRole("button", { name: "Chat settings" }).click();
      await expect(page.getByRole("dialog", { name: "Chat settings" }).getByRole("checkbox", { name: /^Coastal lights/ })).toBeChecked();
      await shoot(`settings-knowledge-${scheme}-desktop`);
    }
    for (const file of shots) expect(statSync(file).size).toBeGreaterThan(5_000);
  });
});
