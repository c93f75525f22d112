import { describe, expect, it } from "vitest";
import { headingOverlap, rerankScore } from "./rerank";
import { atLeast, fuseAndRerank, SAME_LANGUAGE_PREFERENCE, type ScoredChunk } from "./retrieve";

function chunk(id: string, keyword: number, vector: number | null, heading = "", content = id): ScoredChunk {
  return { id, documentId: "d", knowledgeBaseId: "b", position: Number(id.replace(/\D/g, "")) || 0, startAt: 0, endAt: 0, heading, source: "Doc", fileName: null, content, keyword, vector };
}

describe("thresholds", () => {
  it("keep a score exactly at the threshold and drop one just under it", () => {
    const items = [chunk("a", 0.3, null), chunk("b", 0.3 - Number.EPSILON, null), chunk("c", 0.9, null)];
    expect(atLeast(items, (c) => c.keyword, 0.3).map((c) => c.id)).toEqual(["a", "c"]);
    expect(atLeast(items, (c) => c.keyword, 0.30000000000000004).map((c) => c.id)).toEqual(["c"]);
  });

  it("drop a missing score whatever the threshold", () => {
    expect(atLeast([chunk("a", 0, null)], (c) => c.vector, 0)).toEqual([]);
  });
});

describe("fuseAndRerank", () => {
  it("takes the union once, marking how each chunk matched", () => {
    const fused = fuseAndRerank("q", [chunk("k1", 0.9, 0.2), chunk("both1", 0.6, 0.7)], [chunk("both1", 0.6, 0.7), chunk("v1", 0.1, 0.8)]);
    expect(Object.fromEntries(fused.map((h) => [h.id, h.matchedBy]))).toEqual({ k1: "keyword", both1: "both", v1: "vector" });
  });

  it("orders by the reranker's score, best first, and equal scores by keyword, vector, then place", () => {
    const fused = fuseAndRerank(
      "scaling out",
      [chunk("p3", 0.5, 0.5), chunk("p2", 0.5, 0.5), chunk("p9", 0.2, 0.1), chunk("p1", 0.5, 0.5, "Scaling out")],
      [chunk("p5", 0.1, 0.95), chunk("p4", 0.5, 0.5)],
    );
    expect(fused.map((h) => h.id)).toEqual(["p5", "p1", "p2", "p3", "p4", "p9"]);
    const scores = fused.map((h) => h.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
  });

  it("agreeing evidence outranks either kind alone", () => {
    const [first] = fuseAndRerank("q", [chunk("kw", 0.7, 0), chunk("both", 0.7, 0.7)], [chunk("v", 0, 0.7)]);
    expect(first!.id).toBe("both");
  });
});

describe("the question's language", () => {
  const english = (id: string, keyword: number, vector: number | null) => chunk(id, keyword, vector, "", "Delete a session to remove it with all of its messages.");
  const chinese = (id: string, keyword: number, vector: number | null) => chunk(id, keyword, vector, "", "删除会话会把它连同全部消息一起移除。");
  const order = (question: string, hits: ScoredChunk[]) => fuseAndRerank(question, hits, []).map((h) => h.id);

  it("puts a chunk written in it first when both languages match about as well", () => {
    const hits = [english("en", 0.6, 0.6), chinese("zh", 0.55, 0.6)];
    expect(order("怎么删除会话？", hits)).toEqual(["zh", "en"]);
    expect(order("How do I delete a session?", hits)).toEqual(["en", "zh"]);
    expect(order("How do I delete a session?", [english("en", 0.55, 0.6), chinese("zh", 0.6, 0.6)])).toEqual(["en", "zh"]);
  });

  it("keeps a clearly better match in the other language first, and every score as the evidence makes it", () => {
    expect(order("怎么删除会话？", [english("en", 0.9, 0.9), chinese("zh", 0.2, 0.3)])).toEqual(["en", "zh"]);
    // A match across languages (a multilingual embedder's) keeps its score, so the same thresholds keep it.
    const [alone] = fuseAndRerank("怎么删除会话？", [], [english("en", 0, 0.7)]);
    expect(alone!.score).toBe(rerankScore({ keyword: 0, vector: 0.7, heading: 0 }));
    expect(atLeast([alone!], (h) => h.score, 0.5)).toHaveLength(1);
    expect(SAME_LANGUAGE_PREFERENCE).toBeLessThanOrEqual(0.1);
  });
});

describe("rerankScore", () => {
  it("stays within 0..1, grows with every feature, and ignores a missing vector score", () => {
    expect(rerankScore({ keyword: 0, vector: 0, heading: 0 })).toBe(0);
    expect(rerankScore({ keyword: 1, vector: 1, heading: 1 })).toBeLessThan(1);
    expect(rerankScore({ keyword: 1, vector: null, heading: 0 })).toBeCloseTo(0.8, 10);
    expect(rerankScore({ keyword: 0.5, vector: 0.5, heading: 0 })).toBeGreaterThan(rerankScore({ keyword: 0.5, vector: 0.4, heading: 0 }));
    expect(rerankScore({ keyword: 0.5, vector: -0.3, heading: 0 })).toBe(rerankScore({ keyword: 0.5, vector: 0, heading: 0 }));
  });

  it("one strong kind of evidence passes the default rerankThreshold (0.5), a weak one does not", () => {
    expect(rerankScore({ keyword: 0.7, vector: 0, heading: 0 })).toBeGreaterThanOrEqual(0.5);
    expect(rerankScore({ keyword: 0.3, vector: 0.2, heading: 0 })).toBeLessThan(0.5);
  });

  it("headingOverlap is the share of the question's words in the heading", () => {
    expect(headingOverlap("How do I scale out Parley?", "Scaling out")).toBe(0.5);
    expect(headingOverlap("the of", "Anything")).toBe(0);
  });
});
