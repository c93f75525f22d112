import { describe, expect, it } from "vitest";
import { retentionDaysOf } from "./retention";

describe("retentionDaysOf", () => {
  it("reads empty as keep forever", () => {
    expect(retentionDaysOf("")).toBeNull();
    expect(retentionDaysOf("   ")).toBeNull();
  });
  it("reads days above 0, fractions with a point or a comma", () => {
    expect(retentionDaysOf("30")).toBe(30);
    expect(retentionDaysOf(" 0.5 ")).toBe(0.5);
    expect(retentionDaysOf("1,5")).toBe(1.5);
    expect(retentionDaysOf("36500")).toBe(36_500);
  });
  it("refuses 0, negatives, words and more than a hundred years", () => {
    for (const text of ["0", "-3", "abc", "1e999", "36501", "3 days"]) expect(retentionDaysOf(text), text).toBeUndefined();
  });
});
