import { Fragment } from "react";

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

export function searchTerms(query: string): string[] {
  return [...new Set(query.trim().split(/\s+/).filter(Boolean))].sort((a, b) => b.length - a.length);
}

/** Text with every occurrence of the query's words wrapped in <mark> (rendered as text, never HTML). */
export function Highlight({ text, query }: { text: string; query: string }) {
  const terms = searchTerms(query);
  if (!terms.length) return <>{text}</>;
  const re = new RegExp(`(${terms.map(escapeRegExp).join("|")})`, "gi");
  const parts = text.split(re);
  return (
    <>
      {parts.map((part, i) =>
        i % 2 === 1 ? <mark key={i}>{part}</mark> : <Fragment key={i}>{part}</Fragment>,
      )}
    </>
  );
}

/**
 * Highlights the query's words inside already-rendered content (Markdown) with the CSS Custom
 * Highlight API, so the DOM React owns is left untouched. Returns the first matching range.
 */
export function paintHighlights(root: HTMLElement | null, query: string, name = "parley-search"): Range | null {
  const registry = typeof CSS !== "undefined" ? (CSS as unknown as { highlights?: Map<string, unknown> }).highlights : undefined;
  const HighlightCtor = (globalThis as unknown as { Highlight?: new (...r: Range[]) => unknown }).Highlight;
  if (!registry || !HighlightCtor) return null;
  registry.delete(name);
  const terms = searchTerms(query).map((t) => t.toLowerCase());
  if (!root || !terms.length) return null;
  const ranges: Range[] = [];
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent?.toLowerCase() ?? "";
    for (const term of terms) {
      let at = text.indexOf(term);
      while (at !== -1) {
        const range = new Range();
        range.setStart(node, at);
        range.setEnd(node, at + term.length);
        ranges.push(range);
        at = text.indexOf(term, at + term.length);
      }
    }
  }
  if (ranges.length) registry.set(name, new HighlightCtor(...ranges));
  return ranges[0] ?? null;
}
