import { describe, expect, it } from "vitest";
import { evaluateRetrieval, formatEvaluation } from "./evaluate";

describe("the labelled set", () => {
  it("ranks the same with pgvector as with plain arrays, and every anchor names a chunk", async () => {
    const withPgvector = await evaluateRetrieval({ vectors: "pgvector" });
    const withArrays = await evaluateRetrieval({ vectors: "array" });
    expect(withPgvector.vectors).toBe("pgvector");
    expect(withArrays.vectors).toBe("array");
    expect(withPgvector.questions).toBeGreaterThanOrEqual(40);
    expect(withArrays.rankings).toEqual(withPgvector.rankings);
    expect(withArrays.methods).toEqual(withPgvector.methods);
    // The set is a regression check too: hybrid retrieval finds the answer in its top 5 for most questions.
    const hybrid = withPgvector.methods.find((m) => m.method === "hybrid")!;
    expect(hybrid.hitAt5).toBeGreaterThanOrEqual(0.85);
    expect(formatEvaluation(withPgvector)).toMatch(/\| hybrid \| \d+\.\d% \| \d+\.\d% \| 0 \|/);
  }, 180_000);
});
