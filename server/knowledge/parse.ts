import { marked, type Token } from "marked";
import TurndownService from "turndown";
import { extractText, getDocumentProxy } from "unpdf";
import { badInput } from "../errors";

/**
 * Turns a document of any supported format into blocks: headings and the bodies between them.
 * Markdown is read with `marked`'s lexer, HTML is converted to Markdown with `turndown` first, PDF
 * text comes from pdf.js (through `unpdf`), page by page; plain text and PDF have no headings.
 */

export const TEXT_FORMATS = ["text/plain", "text/markdown", "text/html"] as const;
export const FILE_FORMATS = [...TEXT_FORMATS, "application/pdf"] as const;
export type TextFormat = (typeof TEXT_FORMATS)[number];
export type FileFormat = (typeof FILE_FORMATS)[number];

export type Block = { kind: "heading"; depth: number; text: string } | { kind: "body"; text: string };

/** What a file name's extension says its format is, or null when Parley cannot read it. */
export function formatOfFileName(name: string): FileFormat | null {
  const extension = name.toLowerCase().match(/\.([a-z]+)$/)?.[1];
  const byExtension: Record<string, FileFormat> = {
    txt: "text/plain",
    text: "text/plain",
    md: "text/markdown",
    markdown: "text/markdown",
    html: "text/html",
    htm: "text/html",
    pdf: "application/pdf",
  };
  return (extension && byExtension[extension]) || null;
}

export async function parseFile(bytes: Uint8Array, format: FileFormat): Promise<Block[]> {
  if (format === "application/pdf") return pdfBlocks(bytes);
  return parseText(new TextDecoder("utf-8").decode(bytes), format);
}

export function parseText(text: string, format: TextFormat): Block[] {
  const clean = text.replace(/^\uFEFF/, "").replace(/\r\n?/g, "\n");
  if (format === "text/markdown") return markdownBlocks(clean);
  if (format === "text/html") return markdownBlocks(htmlToMarkdown(clean));
  return plainBlocks(clean);
}

/** Paragraphs, split at blank lines. */
function plainBlocks(text: string): Block[] {
  return text
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => ({ kind: "body", text: p }));
}

function markdownBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  for (const token of marked.lexer(markdown)) {
    if (token.type === "heading") {
      const text = plainInline(token.text);
      if (text) blocks.push({ kind: "heading", depth: token.depth, text });
    } else if (token.type !== "space" && token.type !== "hr" && token.type !== "def") {
      const text = (token as Token).raw.trim();
      if (text) blocks.push({ kind: "body", text });
    }
  }
  return blocks;
}

/** Heading text without inline Markdown: `code`, **emphasis** and [links](…) keep only their words. */
function plainInline(text: string): string {
  return text
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/[*_`]+/g, "")
    .replace(/\s+/g, " ")
    .trim();
}

function htmlToMarkdown(html: string): string {
  const turndown = new TurndownService({ headingStyle: "atx", codeBlockStyle: "fenced", bulletListMarker: "-" });
  turndown.remove(["script", "style", "noscript", "template", "title", "iframe"]);
  return turndown.turndown(html);
}

async function pdfBlocks(bytes: Uint8Array): Promise<Block[]> {
  let pages: string[];
  try {
    // pdf.js takes ownership of the buffer it is given, so it gets a copy.
    const pdf = await getDocumentProxy(new Uint8Array(bytes));
    pages = (await extractText(pdf, { mergePages: false })).text;
  } catch (error) {
    throw badInput("file", `This PDF could not be read: ${(error as Error).message}`);
  }
  return pages.flatMap((page) => plainBlocks(page));
}
