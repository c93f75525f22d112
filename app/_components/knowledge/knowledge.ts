"use client";
import { MAX_DOCUMENT_BYTES } from "@/common/limits";
import type { RouterOutputs } from "../trpc";

export type KnowledgeBase = RouterOutputs["knowledge"]["bases"]["list"]["items"][number];
export type KnowledgeDocument = RouterOutputs["knowledge"]["documents"]["list"]["items"][number];
export type SearchItem = RouterOutputs["knowledge"]["search"]["items"][number];

/** File name extensions the upload route reads (server/knowledge/parse.ts formatOfFileName). */
export const UPLOAD_EXTENSIONS = [".txt", ".text", ".md", ".markdown", ".html", ".htm", ".pdf"];
export const UPLOAD_ACCEPT = UPLOAD_EXTENSIONS.join(",");

/** A base Parley provides (the handbook): nobody created it, and nobody may change it. */
export const isProvided = (base: Pick<KnowledgeBase, "createdBy">) => base.createdBy === null;

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(n < 10 * 1024 ? 1 : 0)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** Why a file cannot be uploaded, before sending it (a `knowledge.upload` message and its values); null when it can. */
export function fileProblem(file: { name: string; size: number }): { key: "unsupported" | "noExtension" | "tooLarge" | "empty"; values?: Record<string, string> } | null {
  const extension = /\.[^.]+$/.exec(file.name.toLowerCase())?.[0] ?? "";
  if (!UPLOAD_EXTENSIONS.includes(extension)) return extension ? { key: "unsupported", values: { extension } } : { key: "noExtension" };
  if (file.size > MAX_DOCUMENT_BYTES) return { key: "tooLarge", values: { size: formatBytes(file.size) } };
  if (file.size === 0) return { key: "empty" };
  return null;
}

/** File types by name; plain text has none (the page says "Text" in its language). */
const MIME_LABELS: Record<string, string> = {
  "text/markdown": "Markdown",
  "text/html": "HTML",
  "application/pdf": "PDF",
};
export const mimeLabel = (mime: string): string | undefined => (mime === "text/plain" ? undefined : (MIME_LABELS[mime] ?? mime));

const STOP_WORDS = new Set(
  "a an and are as at be but by can do does for from had has have how i if in into is it its me my no not of on or our so than that the their them then there these they this to was we were what when where which who whom why will with you your".split(
    " ",
  ),
);

/**
 * The words of a search to highlight in its results: letters and digits only, no filler words, and
 * longer words cut back to their stem (the server matches stems: "keepers" finds "keeper").
 */
export function highlightQuery(query: string): string {
  const words = (query.match(/[\p{L}\p{N}]+/gu) ?? []).filter((w) => w.length > 1 && !STOP_WORDS.has(w.toLowerCase()));
  const stems = words.map((w) => (w.length > 5 ? w.replace(/(ing|ed|es|s)$/i, "") : w));
  return [...new Set(stems)].join(" ");
}

/**
 * A window of `text` around the first place one of `query`'s words appears, about `size`
 * characters long, with ellipses where it was cut.
 */
export function snippet(text: string, query: string, size = 320): { text: string; cut: boolean } {
  const clean = text.replace(/\s+/g, " ").trim();
  if (clean.length <= size) return { text: clean, cut: false };
  const lower = clean.toLowerCase();
  const hits = highlightQuery(query)
    .split(" ")
    .filter(Boolean)
    .map((w) => lower.indexOf(w.toLowerCase()))
    .filter((i) => i >= 0);
  const first = hits.length ? Math.min(...hits) : 0;
  let start = Math.max(0, first - Math.round(size / 4));
  if (start > 0) {
    const space = clean.indexOf(" ", start);
    start = space >= 0 && space < first ? space + 1 : start;
  }
  let end = Math.min(clean.length, start + size);
  if (end < clean.length) {
    const space = clean.lastIndexOf(" ", end);
    if (space > start + size / 2) end = space;
  }
  return { text: `${start > 0 ? "… " : ""}${clean.slice(start, end)}${end < clean.length ? " …" : ""}`, cut: true };
}
