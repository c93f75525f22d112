import { deflateSync } from "node:zlib";
import { PDFDocument, PDFName } from "pdf-lib";
import { describe, expect, it } from "vitest";
import { AppError } from "../platform/errors";
import { chunkBlocks } from "./chunk";
import { parseFile, parseText } from "./parse";

/**
 * The bounds on what one document may cost to read (parse.ts, chunk.ts), at their edges. The
 * numbers are written out: they are what the errors promise callers.
 */

const markdown = (text: string) => parseText(text, "text/markdown");

async function expectRefused(work: () => unknown, field: string, message: string) {
  const error = await Promise.resolve()
    .then(work)
    .then(
      () => null,
      (e: unknown) => e,
    );
  expect(error).toBeInstanceOf(AppError);
  expect(error).toMatchObject({ kind: "bad_input", field, message });
}

describe("the heading path each chunk repeats", () => {
  it("is cut per heading, so chunks stay proportional to the document", () => {
    const long = (c: string) => `${c} ${"x".repeat(10_000)}`;
    const text = [
      "# Title",
      ...["A", "B", "C", "D"].map((c, i) => `${"#".repeat(i + 2)} ${long(c)}`),
      ...Array.from({ length: 1000 }, (_, i) => `###### s${i}\n\nBody ${i}.`),
    ].join("\n\n");
    const chunks = chunkBlocks(markdown(text));
    expect(chunks).toHaveLength(1000);
    const output = chunks.reduce((bytes, c) => bytes + c.heading.length + c.content.length, 0);
    // 1000 chunks under four 10 KB headings: 40 MB of output from 60 KB before the cut.
    expect(output).toBeLessThan(10 * text.length);
    for (const c of chunks) for (const heading of c.heading.split(" › ")) expect(heading.length).toBeLessThanOrEqual(100);
    expect(chunks[0]!.heading).toMatch(/^A x+… › B x+… › C x+… › D x+… › s0$/);
  });
});

describe("the chunk count", () => {
  const sections = (n: number) => Array.from({ length: n }, (_, i) => `## s${i}\n\nb${i}`).join("\n\n");
  it("takes 10000 chunks and refuses a document that would make more", async () => {
    expect(chunkBlocks(markdown(sections(10_000)))).toHaveLength(10_000);
    await expectRefused(() => chunkBlocks(markdown(sections(10_001))), "content", "The document would make more than 10000 chunks");
  });
});

describe("nesting", () => {
  const tooDeep = "The document nests deeper than 64 levels";
  it("reads Markdown quotes and lists 64 levels deep and refuses 65", async () => {
    const quotes = (n: number) => `${"> ".repeat(n)}deep`;
    const list = (n: number) => Array.from({ length: n }, (_, i) => `${"  ".repeat(i)}- item ${i}`).join("\n");
    expect(markdown(quotes(64))).toHaveLength(1);
    expect(markdown(list(64))).toHaveLength(1);
    await expectRefused(() => markdown(quotes(65)), "content", tooDeep);
    await expectRefused(() => markdown(list(65)), "content", tooDeep);
  });

  it("refuses Markdown nested past the parser's stack with the same error, quickly", async () => {
    const started = Date.now();
    await expectRefused(() => markdown(`${">".repeat(10_000)} deep`), "content", tooDeep);
    await expectRefused(() => markdown(Array.from({ length: 2_000 }, (_, i) => `${"  ".repeat(i)}- ${i}`).join("\n")), "content", tooDeep);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("reads HTML elements 64 levels deep and refuses 65, whatever the elements", async () => {
    const nested = (n: number, tag: string) => `${`<${tag}>`.repeat(n)}deep${`</${tag}>`.repeat(n)}`;
    expect(parseText(nested(64, "div"), "text/html")).toEqual([{ kind: "body", text: "deep" }]);
    // Elements whose end tag HTML may leave out do not count; the one they sit in does.
    expect(parseText(`<ul>${"<li>x".repeat(200)}</ul><p>a<p>b`, "text/html").length).toBeGreaterThan(0);
    await expectRefused(() => parseText(nested(65, "div"), "text/html"), "content", tooDeep);
    await expectRefused(() => parseText(nested(65, "blockquote"), "text/html"), "content", tooDeep);
    await expectRefused(() => parseText(nested(20_000, "span"), "text/html"), "content", tooDeep);
  });
});

describe("PDF", () => {
  async function blankPdf(pages: number) {
    const pdf = await PDFDocument.create();
    for (let i = 0; i < pages; i++) pdf.addPage([200, 200]);
    return pdf.save();
  }

  it("reads 500 pages and refuses 501", async () => {
    expect(await parseFile(await blankPdf(500), "application/pdf")).toEqual([]);
    await expectRefused(async () => parseFile(await blankPdf(501), "application/pdf"), "file", "The PDF has more than 500 pages");
  }, 60_000);

  it("refuses a small PDF whose streams would decode past 64 MB before decoding them", async () => {
    const pdf = await PDFDocument.create();
    const page = pdf.addPage([200, 200]);
    // 64 MB and a byte of spaces (empty content to a PDF reader), 64 KB once compressed.
    const content = deflateSync(Buffer.alloc(64 * 1024 * 1024 + 1, " "));
    expect(content.byteLength).toBeLessThan(100_000);
    page.node.set(PDFName.of("Contents"), pdf.context.register(pdf.context.stream(content, { Filter: "FlateDecode" })));
    const bytes = await pdf.save({ useObjectStreams: false });
    const started = Date.now();
    await expectRefused(() => parseFile(bytes, "application/pdf"), "file", "The PDF's streams decode to more than 64 MB");
    expect(Date.now() - started).toBeLessThan(5_000);
  }, 60_000);
});
