import { describe, expect, it } from "vitest";
import { defaultContextConfig, defaultStrategy, defaultSummaryParameters, sessionInputSchema } from "@/common/settings";
import { aboutFields, fieldId, friendlyIssue, fromForm, groupDefaults, GROUPS, limitText, toForm } from "./settingsForm";

const field = (id: string) => GROUPS.flatMap((g) => g.fields).find((f) => fieldId(f) === id)!;

describe("the settings form, read from the schemas' JSON Schema", () => {
  it("has one field per schema field, with the schema's defaults", () => {
    const defaults = { strategy: defaultStrategy(), summaryParameters: defaultSummaryParameters(), contextConfig: defaultContextConfig() };
    for (const g of GROUPS) {
      expect(Object.fromEntries(g.fields.map((f) => [f.key, f.defaultValue]))).toEqual(defaults[g.key]);
    }
  });

  it("takes labels, help, kinds and limits from the schema", () => {
    expect(field("strategy.maxRounds")).toMatchObject({ label: "Conversation rounds", help: "How many earlier turns the model sees.", kind: "int", min: 1, max: 100 });
    expect(field("strategy.keywordThreshold")).toMatchObject({ kind: "number", min: 0, max: 1, step: 0.05 });
    expect(field("summaryParameters.temperature")).toMatchObject({ kind: "number", min: 0, max: 2, step: 0.1 });
    expect(field("summaryParameters.seed")).toMatchObject({ kind: "int", min: 0, max: undefined });
    expect(field("strategy.enableRewrite")).toMatchObject({ kind: "boolean", defaultValue: true });
    expect(field("contextConfig.compressionStrategy")).toMatchObject({ kind: "enum", options: ["sliding_window", "smart"] });
    expect(field("strategy.rerankModelId")).toMatchObject({ kind: "nullable", maxLength: 200, defaultValue: null });
    expect(field("summaryParameters.prompt")).toMatchObject({ kind: "textarea", maxLength: 20000 });
    expect(limitText(field("strategy.maxRounds"))).toBe("1–100 · default 5");
    expect(limitText(field("summaryParameters.seed"))).toBe("≥ 0 · default 0");
    expect(limitText(field("strategy.rerankModelId"))).toBe(`≤ ${(200).toLocaleString()} chars · default none`);
  });

  it("limits the title and description as the schema does, at the edge", () => {
    expect(aboutFields.title).toEqual({ label: "Title", maxLength: 255 });
    expect(aboutFields.description).toEqual({ label: "Description", maxLength: 2000 });
    const max = aboutFields.title.maxLength!;
    expect(sessionInputSchema.safeParse({ title: "x".repeat(max) }).success).toBe(true);
    expect(sessionInputSchema.safeParse({ title: "x".repeat(max + 1) }).success).toBe(false);
  });

  it("turns a session into form values and back into an input the schema accepts", () => {
    const session = { title: "T", description: "", strategy: { ...defaultStrategy(), maxRounds: 7 }, summaryParameters: defaultSummaryParameters(), contextConfig: defaultContextConfig() };
    const values = toForm(session);
    expect(values["strategy.maxRounds"]).toBe("7");
    expect(values["strategy.rerankModelId"]).toBe("");
    expect(values["strategy.enableRewrite"]).toBe(true);
    const input = fromForm(values);
    expect(input.strategy).toEqual(session.strategy);
    expect(sessionInputSchema.parse(input).contextConfig).toEqual(defaultContextConfig());
  });

  it("leaves what is not a number as text, so the schema names the field", () => {
    const values = { ...toForm({ title: "", description: "" }), "strategy.maxRounds": "many", "strategy.embeddingTopK": "500" };
    const result = sessionInputSchema.safeParse(fromForm(values));
    expect(result.success).toBe(false);
    const issues = Object.fromEntries(result.error!.issues.map((i) => [i.path.join("."), friendlyIssue(i)]));
    expect(issues).toEqual({ "strategy.maxRounds": "Enter a number", "strategy.embeddingTopK": "At most 100" });
  });

  it("resets a group to its defaults", () => {
    const g = GROUPS.find((x) => x.key === "contextConfig")!;
    expect(groupDefaults(g)).toEqual({
      "contextConfig.maxTokens": "131072",
      "contextConfig.compressionStrategy": "sliding_window",
      "contextConfig.recentMessageCount": "20",
      "contextConfig.summarizeThreshold": "5",
    });
  });
});
