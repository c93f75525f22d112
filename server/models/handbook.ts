import { readFileSync } from "node:fs";
import path from "node:path";
import type { Reference } from "../defaults";
import { keywords } from "./text";

/**
 * A stop-gap retriever over Parley's own handbook (docs/handbook.md), so answers have sources
 * before knowledge bases exist. Each `##` section is one reference.
 */

interface Section {
  reference: Omit<Reference, "score">;
  titleTerms: Set<string>;
  /** How often each word occurs in the section's text. */
  bodyCounts: Map<string, number>;
}

const SOURCE = "Parley handbook";

let sections: Section[] | undefined;

function loadSections(): Section[] {
  sections ??= parseSections(readFileSync(path.join(process.cwd(), "docs", "handbook.md"), "utf8"));
  return sections;
}

/** Splits Markdown at `##` headings; text before the first one (the document title) is left out. */
function parseSections(markdown: string): Section[] {
  return markdown
    .split(/^## /m)
    .slice(1)
    .map((chunk) => {
      const newline = chunk.indexOf("\n");
      const title = (newline < 0 ? chunk : chunk.slice(0, newline)).trim();
      const content = newline < 0 ? "" : chunk.slice(newline + 1).trim();
      const slug = title.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, "-").replace(/^-|-$/g, "");
      return {
        reference: { id: `handbook:${slug}`, title, source: SOURCE, content },
        titleTerms: new Set(keywords(title)),
        bodyCounts: keywords(content).reduce((m, t) => m.set(t, (m.get(t) ?? 0) + 1), new Map<string, number>()),
      };
    });
}

/**
 * How well a section covers one query word: fully when its heading has the word (headings say
 * what a section is about), 0.7 to 0.9 when only its text does, more for repeated mentions.
 */
function coverage(section: Section, term: string): number {
  if (section.titleTerms.has(term)) return 1;
  const count = section.bodyCounts.get(term) ?? 0;
  return count === 0 ? 0 : 0.6 + 0.1 * Math.min(count, 3);
}

/**
 * The handbook sections that best match `query`, best first. The score (0..1) is the share of the
 * query's words a section covers, each word weighted by its rarity across sections.
 */
export function searchHandbook(query: string, limit = 3): Reference[] {
  const all = loadSections();
  const terms = [...new Set(keywords(query))];
  if (terms.length === 0) return [];

  // Words found in every section ("parley") tell sections apart less than rare ones.
  const weights = terms.map((t) => {
    const df = all.filter((s) => coverage(s, t) > 0).length;
    return Math.log(1 + all.length / (1 + df));
  });
  const total = weights.reduce((a, b) => a + b, 0);

  return all
    .map((section, order) => {
      const covered = terms.reduce((sum, t, i) => sum + weights[i] * coverage(section, t), 0);
      return { reference: { ...section.reference, score: covered / total }, order };
    })
    .filter((r) => r.reference.score > 0)
    .sort((a, b) => b.reference.score - a.reference.score || a.order - b.order)
    .slice(0, limit)
    .map((r) => r.reference);
}
