import { marked } from "marked";
import TurndownService from "turndown";
import { getDocumentProxy } from "unpdf";
import { MAX_PDF_DECODED_BYTES, MAX_PDF_TEXT_BYTES } from "../../common/limits";
import { AppError, badInput } from "../platform/errors";
import { measurePdf, pdfTextTooLong } from "./pdfStreams";

/**
 * Turns a document of any supported format into blocks: headings and the bodies between them.
 * Markdown is read with `marked`'s lexer, HTML is converted to Markdown with `turndown` first, PDF
 * text comes from pdf.js (through `unpdf`), page by page; plain text and PDF have no headings.
 *
 * The parsers recurse and some are superlinear in nesting, so a document is measured before it is
 * parsed: nesting deeper than MAX_NESTING_DEPTH, a PDF of more than MAX_PDF_PAGES pages, whose
 * streams decode to more than MAX_PDF_DECODED_BYTES (every filter layer of every stream, counted
 * while decoding: pdfStreams.ts) or whose text comes to more than MAX_PDF_TEXT_BYTES (counted in
 * the content before pdf.js reads it, and again as pdf.js extracts it) is refused (errors name
 * the `field` given). What is left to pdf.js runs in the document process, whose memory is capped.
 */

/** Deepest nesting of HTML elements, Markdown block quotes or lists a document may have. */
export const MAX_NESTING_DEPTH = 64;
export const MAX_PDF_PAGES = 500;
type PdfPage = Awaited<ReturnType<Awaited<ReturnType<typeof getDocumentProxy>>["getPage"]>>;
type TextContent = Awaited<ReturnType<PdfPage["getTextContent"]>>;
/** pdf.js without `eval` (its font compiler) and without warnings on stdout. */
const PDFJS_OPTIONS = { isEvalSupported: false, verbosity: 0 };

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

export async function parseFile(bytes: Uint8Array, format: FileFormat, field = "file"): Promise<Block[]> {
  // A PDF's text may carry NULs (Postgres stores none): they mark nothing a reader sees.
  if (format === "application/pdf") return (await pdfBlocks(bytes, field)).map((block) => ({ ...block, text: block.text.replaceAll("\0", "") }));
  return parseText(new TextDecoder("utf-8").decode(bytes), format, field);
}

export function parseText(text: string, format: TextFormat, field = "content"): Block[] {
  if (text.includes("\0")) throw badInput(field, "The document has NUL characters: it is not a text file");
  const clean = text.replace(/^\uFEFF/, "").replace(/\r\n?/g, "\n");
  try {
    if (format === "text/markdown") return markdownBlocks(clean, field);
    if (format === "text/html") {
      assertNesting(htmlDepth(clean), field);
      return markdownBlocks(htmlToMarkdown(clean), field);
    }
    return plainBlocks(clean);
  } catch (error) {
    // Inline nesting (emphasis in emphasis…) is not measured beforehand; the stack is the bound.
    if (error instanceof RangeError && /call stack/i.test(error.message)) throw tooDeep(field);
    throw error;
  }
}

const tooDeep = (field: string) => badInput(field, `The document nests deeper than ${MAX_NESTING_DEPTH} levels`);

function assertNesting(depth: number, field: string) {
  if (depth > MAX_NESTING_DEPTH) throw tooDeep(field);
}

/** Elements that never have content, or whose end tag HTML lets a document leave out. */
const UNNESTED = new Set(
  "area base br col embed hr img input link meta source track wbr p li dt dd tr td th thead tbody tfoot option optgroup colgroup rt rp html head body".split(" "),
);

/** How deep the HTML's elements nest, by a linear scan of its tags (the parsers recurse on it). */
export function htmlDepth(html: string): number {
  const open: string[] = [];
  let deepest = 0;
  for (const [tag, closing, name = "", selfClosing] of html.matchAll(/<(\/?)([a-zA-Z][\w:-]*)[^>]*?(\/?)>/g)) {
    const element = name.toLowerCase();
    if (UNNESTED.has(element) || (selfClosing && !closing) || tag.startsWith("<!")) continue;
    if (!closing) deepest = Math.max(deepest, open.push(element));
    else {
      const at = open.lastIndexOf(element);
      if (at >= 0) open.length = at;
    }
  }
  return deepest;
}

/**
 * How deep the Markdown's block quotes and lists nest, line by line (fenced code aside): the
 * quote markers opening a line plus, on a list item, one level per two columns of indentation.
 */
export function markdownDepth(markdown: string): number {
  let deepest = 0;
  let fence: string | null = null;
  for (const line of markdown.split("\n")) {
    const marker = line.match(/^ {0,3}(`{3,}|~{3,})/)?.[1];
    if (fence) {
      if (marker && marker[0] === fence[0] && marker.length >= fence.length) fence = null;
      continue;
    }
    if (marker) {
      fence = marker;
      continue;
    }
    const [prefix, quotes = ""] = line.replace(/\t/g, "    ").match(/^((?:\s*>)*)/)!;
    const rest = line.replace(/\t/g, "    ").slice(prefix.length);
    const item = rest.match(/^(\s*)(?:[-+*]|\d{1,9}[.)])(?:\s|$)/);
    const depth = (quotes.match(/>/g)?.length ?? 0) + (item ? Math.floor(item[1]!.length / 2) + 1 : 0);
    deepest = Math.max(deepest, depth);
  }
  return deepest;
}

/** Paragraphs, split at blank lines. */
function plainBlocks(text: string): Block[] {
  return text
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => ({ kind: "body", text: p }));
}

function markdownBlocks(markdown: string, field: string): Block[] {
  assertNesting(markdownDepth(markdown), field);
  const blocks: Block[] = [];
  for (const token of marked.lexer(markdown)) {
    if (token.type === "heading") {
      const text = plainInline(token.text as string);
      if (text) blocks.push({ kind: "heading", depth: token.depth as number, text });
    } else if (token.type !== "space" && token.type !== "hr" && token.type !== "def") {
      const text = token.raw.trim();
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

async function pdfBlocks(bytes: Uint8Array, field: string): Promise<Block[]> {
  await measurePdf(bytes, { decodedBytes: MAX_PDF_DECODED_BYTES, textBytes: MAX_PDF_TEXT_BYTES }, field);
  const blocks: Block[] = [];
  let textLeft = MAX_PDF_TEXT_BYTES;
  try {
    // pdf.js takes ownership of the buffer it is given, so it gets a copy.
    const pdf = await getDocumentProxy(new Uint8Array(bytes), PDFJS_OPTIONS);
    if (pdf.numPages > MAX_PDF_PAGES) throw badInput(field, `The PDF has more than ${MAX_PDF_PAGES} pages`);
    for (let number = 1; number <= pdf.numPages; number++) {
      const page = await pdf.getPage(number);
      let text = "";
      // Counted batch by batch as pdf.js extracts them, so a page's text stops at the limit.
      const reader = (page.streamTextContent() as ReadableStream<TextContent>).getReader();
      for (let batch = await reader.read(); !batch.done; batch = await reader.read()) {
        for (const item of batch.value.items) {
          if (!("str" in item)) continue;
          textLeft -= Buffer.byteLength(item.str);
          if (textLeft < 0) {
            await reader.cancel();
            throw pdfTextTooLong(field, MAX_PDF_TEXT_BYTES);
          }
          text += item.str + (item.hasEOL ? "\n" : "");
        }
      }
      blocks.push(...plainBlocks(text));
      page.cleanup();
    }
    await pdf.destroy();
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw badInput(field, `This PDF could not be read: ${(error as Error).message}`);
  }
  return blocks;
}
