import { describe, expect, it } from "vitest";
import { splitSentences } from "./text";

describe("splitSentences", () => {
  it("ends a Chinese sentence at 。！？； but not inside a quote or bracket it closes", () => {
    expect(splitSentences("比如“澳大利亚的首都是哪里？”得到的标题类似“澳大利亚的首都”。标题最多 20 个字；英文标题最多 10 个单词。")).toEqual([
      "比如“澳大利亚的首都是哪里？”得到的标题类似“澳大利亚的首都”。",
      "标题最多 20 个字；",
      "英文标题最多 10 个单词。",
    ]);
    expect(splitSentences("Streams are kept for an hour. After that, a snapshot.")).toEqual(["Streams are kept for an hour.", "After that, a snapshot."]);
  });
});
