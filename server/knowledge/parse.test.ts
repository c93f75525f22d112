import { PDFDocument, StandardFonts } from "pdf-lib";
import { describe, expect, it } from "vitest";
import { formatOfFileName, parseFile, parseText, type Block } from "./parse";

const body = (text: string): Block => ({ kind: "body", text });
const heading = (depth: number, text: string): Block => ({ kind: "heading", depth, text });

/** A real one-page PDF, written with pdf-lib. */
async function tinyPdf(lines: string[]): Promise<Uint8Array> {
  const pdf = await PDFDocument.create();
  const page = pdf.addPage([400, 400]);
  const font = await pdf.embedFont(StandardFonts.Helvetica);
  lines.forEach((line, i) => page.drawText(line, { x: 20, y: 360 - i * 40, size: 12, font }));
  return pdf.save();
}

describe("parseText", () => {
  it("reads Markdown structure: headings (inline markup removed) and the blocks between them", () => {
    const markdown = "# Guide\n\nIntro *text*.\n\n## Set `up`\n\n- one\n- two\n\n```sh\nnpm start\n```\n\n### [Deep](https://x.y) end\n\nLast.";
    expect(parseText(markdown, "text/markdown")).toEqual([
      heading(1, "Guide"),
      body("Intro *text*."),
      heading(2, "Set up"),
      body("- one\n- two"),
      body("```sh\nnpm start\n```"),
      heading(3, "Deep end"),
      body("Last."),
    ]);
  });

  it("turns HTML into the same structure, dropping scripts, styles and the title", () => {
    const html =
      "<html><head><title>Ignored</title><style>p{}</style></head><body><h1>Manual</h1><p>Hello <b>world</b>.</p>" +
      "<script>alert(1)</script><h2>Install</h2><ul><li>Run it</li><li>Stop it</li></ul></body></html>";
    expect(parseText(html, "text/html")).toEqual([heading(1, "Manual"), body("Hello **world**."), heading(2, "Install"), body("-   Run it\n-   Stop it")]);
  });

  it("splits plain text at blank lines and never reads Markdown into it", () => {
    expect(parseText("\uFEFF# not a heading\r\nsame paragraph\r\n\r\n\r\nSecond one.", "text/plain")).toEqual([body("# not a heading\nsame paragraph"), body("Second one.")]);
  });
});

describe("parseFile", () => {
  it("extracts the text of a PDF", async () => {
    const blocks = await parseFile(await tinyPdf(["Parley reads PDF files.", "Each page becomes text."]), "application/pdf");
    const text = blocks.map((b) => b.text).join(" ");
    expect(text).toContain("Parley reads PDF files.");
    expect(text).toContain("Each page becomes text.");
    expect(blocks.every((b) => b.kind === "body")).toBe(true);
  });

  it("refuses a damaged PDF as bad input on the file field", async () => {
    await expect(parseFile(new TextEncoder().encode("%PDF-1.7 this is not really a pdf"), "application/pdf")).rejects.toMatchObject({
      kind: "bad_input",
      field: "file",
    });
  });

  it("decodes text files as UTF-8", async () => {
    expect(await parseFile(new TextEncoder().encode("## Café\n\nÜber"), "text/markdown")).toEqual([heading(2, "Café"), body("Über")]);
  });
});

describe("formatOfFileName", () => {
  it("knows .txt, .md, .html and .pdf, in any case, and nothing else", () => {
    expect(formatOfFileName("notes.TXT")).toBe("text/plain");
    expect(formatOfFileName("README.md")).toBe("text/markdown");
    expect(formatOfFileName("page.htm")).toBe("text/html");
    expect(formatOfFileName("paper.pdf")).toBe("application/pdf");
    expect(formatOfFileName("sheet.xlsx")).toBeNull();
    expect(formatOfFileName("no-extension")).toBeNull();
  });
});
