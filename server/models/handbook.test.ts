import { describe, expect, it } from "vitest";
import { searchHandbook } from "./handbook";

describe("searchHandbook", () => {
  it("finds the section a question is about, best first, with scores in 0..1", () => {
    const results = searchHandbook("How do I resume a dropped stream?");
    expect(results[0]).toMatchObject({
      id: "handbook:answers-survive-reloads-dropped-connections-and-crashes",
      title: "Answers survive reloads, dropped connections and crashes",
      source: "Parley handbook",
    });
    expect(results[0].content).toContain("resumes from the id of the last event");
    expect(results.length).toBeLessThanOrEqual(3);
    for (const r of results) {
      expect(r.score).toBeGreaterThan(0);
      expect(r.score).toBeLessThanOrEqual(1);
    }
    expect(results.map((r) => r.score)).toEqual([...results.map((r) => r.score)].sort((a, b) => b - a));
  });

  it("weighs heading words above body words", () => {
    expect(searchHandbook("signing in")[0]).toMatchObject({ id: "handbook:signing-in", score: 1 });
    expect(searchHandbook("scaling out with Redis Cluster")[0].id).toBe("handbook:scaling-out");
    expect(searchHandbook("sliding window compression")[0].id).toBe("handbook:llm-context");
  });

  it("honours the limit and returns nothing for unrelated or empty queries", () => {
    expect(searchHandbook("session", 1)).toHaveLength(1);
    expect(searchHandbook("weather in Paris tomorrow")).toEqual([]);
    expect(searchHandbook("how do I?")).toEqual([]);
  });
});
