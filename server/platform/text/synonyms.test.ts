import { describe, expect, it } from "vitest";
import { keywords } from "../models/text";
import { canonicalTerm, matchTerms, nearSynonyms } from "./synonyms";

describe("near-synonyms", () => {
  it("let a question's words meet a passage's: 设定 and 配置, 更改 and 修改, 移除 and 删除, 对话 and 会话", () => {
    expect(matchTerms("应该更改哪些设定")).toEqual(matchTerms("应该修改哪些配置"));
    expect(matchTerms("怎么移除对话")).toEqual(matchTerms("怎么删除会话"));
    expect(canonicalTerm(keywords("remove")[0]!)).toBe(canonicalTerm(keywords("deleted")[0]!));
    expect(canonicalTerm(keywords("conversations")[0]!)).toBe(canonicalTerm(keywords("session")[0]!));
  });

  it("leave other words alone", () => {
    expect(matchTerms("Redis 过期时间")).toEqual(keywords("Redis 过期时间"));
    expect(canonicalTerm("置顶")).toBe("置顶");
    expect(nearSynonyms("置顶")).toEqual(["置顶"]);
  });

  it("give a word its whole group, the word first, for keyword search", () => {
    expect(nearSynonyms("移除")).toEqual(["移除", "删除", "删掉", "去掉"]);
    expect(nearSynonyms("设定")[0]).toBe("设定");
    expect(nearSynonyms("设定")).toContain("配置");
  });
});
