import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { countTokens } from "../platform/models/text";
import { chunkBlocks, documentText, splitToBudget, textOfChunks } from "./chunk";
import { parseText } from "./parse";

const sentence = (i: number) => `Sentence number ${i} talks about topic ${i} in a few plain words.`;
const paragraph = (from: number, count: number) => Array.from({ length: count }, (_, i) => sentence(from + i)).join(" ");

describe("chunkBlocks", () => {
  it("starts a chunk at every heading and records the heading path, the document title left out", () => {
    const blocks = parseText("# Title\n\nIntro.\n\n## A\n\nText of A.\n\n### A1\n\nText of A1.\n\n## B\n\nText of B.", "text/markdown");
    expect(chunkBlocks(blocks).map((c) => [c.heading, c.content])).toEqual([
      ["", "Intro."],
      ["A", "Text of A."],
      ["A › A1", "Text of A1."],
      ["B", "Text of B."],
    ]);
  });

  it("keeps every chunk within the token budget, packing small blocks together", () => {
    const markdown = ["## Long", ...Array.from({ length: 12 }, (_, i) => paragraph(i * 2, 2))].join("\n\n");
    const chunks = chunkBlocks(parseText(markdown, "text/markdown"), { maxTokens: 120, overlapTokens: 20 });
    expect(chunks.length).toBeGreaterThan(3);
    for (const c of chunks) {
      expect(c.tokenCount).toBe(countTokens(c.content));
      expect(c.tokenCount).toBeLessThanOrEqual(120);
      expect(c.heading).toBe("Long");
    }
    // Small paragraphs share a chunk instead of making one each.
    expect(chunks.length).toBeLessThan(12);
  });

  it("opens each following chunk of a section with the end of the previous one, and never across a heading", () => {
    const markdown = `## One\n\n${paragraph(0, 30)}\n\n## Two\n\n${paragraph(100, 3)}`;
    const chunks = chunkBlocks(parseText(markdown, "text/markdown"), { maxTokens: 100, overlapTokens: 30 });
    const one = chunks.filter((c) => c.heading === "One");
    expect(one.length).toBeGreaterThan(2);
    for (let i = 1; i < one.length; i++) {
      const previousLastSentence = one[i - 1]!.content.split(/(?<=\.)\s+/).at(-1)!;
      expect(one[i]!.content.startsWith(previousLastSentence)).toBe(true);
    }
    const two = chunks.find((c) => c.heading === "Two")!;
    expect(two.content.startsWith(sentence(100))).toBe(true);
    // Every sentence of the section is in some chunk.
    for (let i = 0; i < 30; i++) expect(one.some((c) => c.content.includes(sentence(i)))).toBe(true);
  });

  it("without overlap, chunks share nothing", () => {
    const chunks = chunkBlocks(parseText(paragraph(0, 30), "text/plain"), { maxTokens: 100, overlapTokens: 0 });
    const sentences = chunks.flatMap((c) => c.content.split(/(?<=\.)\s+/));
    expect(sentences).toHaveLength(30);
  });

  it("makes no chunk of an empty document", () => {
    expect(chunkBlocks(parseText("  \n\n ", "text/plain"))).toEqual([]);
  });

  it("records where each chunk lies in the document's text, overlaps included", () => {
    const squash = (s: string) => s.replace(/\s+/g, "");
    const documents = [
      parseText(readFileSync("docs/handbook.md", "utf8"), "text/markdown"),
      parseText(readFileSync("docs/handbook.zh.md", "utf8"), "text/markdown"),
      parseText(`## Runs\n\n${"x".repeat(250)} and ${"y".repeat(120)}.\n\n${paragraph(0, 30)}`, "text/markdown"),
    ];
    for (const blocks of documents) {
      const text = documentText(blocks);
      const chunks = chunkBlocks(blocks, { maxTokens: 100, overlapTokens: 30 });
      expect(chunks.length).toBeGreaterThan(2);
      for (const [i, c] of chunks.entries()) {
        // The same characters, whitespace aside (runs of it are joined or split).
        expect(squash(text.slice(c.startAt, c.endAt))).toBe(squash(c.content));
        const previous = chunks[i - 1];
        if (previous) expect(c.startAt).toBeGreaterThanOrEqual(previous.startAt);
      }
    }
    // A chunk opened by the end of the one before starts inside it.
    const [first, second] = chunkBlocks(parseText(paragraph(0, 30), "text/plain"), { maxTokens: 100, overlapTokens: 30 });
    expect(second!.startAt).toBeLessThan(first!.endAt);
    expect(first!.startAt).toBe(0);
  });
});

describe("textOfChunks", () => {
  it("gives a document's text back from its chunks: each overlap left out, each section's headings written once before it", () => {
    const sentences = Array.from({ length: 30 }, (_, i) => sentence(i)).join("\n\n");
    const markdown = `# Title\n\nIntro.\n\n## One\n\n${sentences}\n\n### Deeper\n\nText of deeper.\n\n## Two\n\nText of two.`;
    const chunks = chunkBlocks(parseText(markdown, "text/markdown"), { maxTokens: 100, overlapTokens: 30 });
    expect(chunks.filter((c, i) => i > 0 && c.startAt < chunks[i - 1]!.endAt).length).toBeGreaterThan(1);
    // The title heading is the document's title, not a section.
    expect(textOfChunks(chunks)).toBe(markdown.replace("# Title\n\n", ""));
  });

  it("gives plain text back paragraph by paragraph, and nothing for no chunks", () => {
    const text = Array.from({ length: 40 }, (_, i) => sentence(i)).join("\n\n");
    expect(textOfChunks(chunkBlocks(parseText(text, "text/plain"), { maxTokens: 60, overlapTokens: 20 }))).toBe(text);
    expect(textOfChunks([])).toBe("");
  });
});

describe("splitToBudget", () => {
  it("splits at lines, then sentences, then words, each piece within budget", () => {
    const pieces = splitToBudget(`${paragraph(0, 8)}\n${"word ".repeat(300)}`, 50);
    for (const p of pieces) expect(countTokens(p)).toBeLessThanOrEqual(50);
    expect(pieces[0]).toBe(`${sentence(0)} ${sentence(1)} ${sentence(2)}`);
    expect(pieces.join(" ").split(/\s+/).filter((w) => w === "word")).toHaveLength(300);
  });

  it("cuts a huge run without spaces quickly instead of tokenising it whole", () => {
    const started = Date.now();
    const pieces = splitToBudget("x".repeat(200_000), 300);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(pieces.join("").replace(/\s/g, "")).toHaveLength(200_000);
    for (const p of pieces) expect(countTokens(p)).toBeLessThanOrEqual(300);
  });
});

describe("Chinese documents", () => {
  const zhSentence = (i: number) => `第${i}句话说明会话上下文保存在Redis中，默认二十四小时后过期。`;
  it("split on Chinese sentence ends, with no spaces needed, and stay within the token budget", () => {
    const text = Array.from({ length: 40 }, (_, i) => zhSentence(i)).join("");
    const pieces = splitToBudget(text, 60);
    expect(pieces.length).toBeGreaterThan(1);
    for (const piece of pieces) {
      expect(countTokens(piece)).toBeLessThanOrEqual(60);
      // Every piece ends where a sentence ends.
      expect(piece).toMatch(/。$/);
    }
    const chunks = chunkBlocks(parseText(`## 上下文\n\n${text}`, "text/markdown"), { maxTokens: 120, overlapTokens: 30 });
    expect(chunks.length).toBeGreaterThan(1);
    for (const c of chunks) expect(c.tokenCount).toBeLessThanOrEqual(120);
    // The overlap repeats whole Chinese sentences.
    expect(chunks[1]!.content.startsWith("第")).toBe(true);
  });

  it("counts a short Chinese text's tokens rather than guessing from its length", () => {
    // 20 characters, more than 20 tokens: a character-count bound would keep it whole.
    const rare = "麤龘靐齉爩鱻灪麣籱虋".repeat(2);
    expect(countTokens(rare)).toBeGreaterThan(20);
    for (const piece of splitToBudget(rare, 20)) expect(countTokens(piece)).toBeLessThanOrEqual(20);
  });
});

