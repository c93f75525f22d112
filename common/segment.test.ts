import { describe, expect, it } from "vitest";
import { toTsQuery } from "../server/sessions/sessions";
import { fallbackResponseFor, joinWords, languageOf, passageLanguage } from "../server/platform/text/language";
import { hanRuns, isHanBoundary, segmentPieces, segmentWords, spacedHanSql, splitWord, tsQueryOperand } from "./segment";

describe("segmentWords", () => {
  it("splits Chinese into dictionary words and keeps ASCII words between Chinese characters", () => {
    expect(segmentWords("会话上下文在Redis中的默认过期时间是多久？")).toEqual(["会话", "上下文", "在", "Redis", "中的", "默认", "过期", "时间", "是", "多久"]);
    expect(splitWord("使用Redis")).toEqual(["使用", "Redis"]);
  });

  it("leaves text without Chinese as runs of letters and digits", () => {
    expect(segmentWords("How do I scale Parley-out? v2")).toEqual(["How", "do", "I", "scale", "Parley", "out", "v2"]);
    expect(splitWord("Ünïcödé")).toEqual(["Ünïcödé"]);
  });

  it("cuts text into pieces that put it back together whole", () => {
    const text = "默认24小时，过期后上下文自动失效。";
    const pieces = segmentPieces(text);
    expect(pieces.join("")).toBe(text);
    expect(pieces).toContain("失效。");
  });

  it("finds Han runs and where Chinese text may be cut", () => {
    expect(hanRuns("TTL过期：默认24小时")).toEqual(["过期", "默认", "小时"]);
    expect(isHanBoundary("默认", "Redis")).toBe(true);
    expect(isHanBoundary("Red", "is")).toBe(false);
  });
});

describe("tsquery terms", () => {
  it("searches a Chinese word as the phrase of its characters, and English as before", () => {
    expect(tsQueryOperand("过期")).toBe("过 <-> 期");
    expect(toTsQuery("过期时间")).toBe("(过 <-> 期) & (时 <-> 间)");
    expect(toTsQuery("在Redis中")).toBe("(在) & redis & (中)");
    expect(toTsQuery("budget report")).toBe("budget & report:*");
    expect(toTsQuery("budget | !zanzibar")).toBe("budget & zanzibar:*");
  });

  it("indexes Han characters one by one and drops CJK punctuation, as one immutable SQL expression", () => {
    const expression = spacedHanSql("title");
    expect(expression).toContain("regexp_replace(title,");
    expect(expression).toContain("\\u4e00-\\u9fff");
    expect(expression).toContain("\\U00020000-\\U0003134f");
  });
});

describe("language", () => {
  it("is Chinese when Han characters are at least as many as Latin words", () => {
    expect(languageOf(QUESTION)).toBe("zh");
    expect(languageOf("Redis是什么")).toBe("zh");
    expect(languageOf("What does 会话 mean in the docs?")).toBe("en");
    expect(languageOf("How long are streams kept?")).toBe("en");
  });

  it("joins words with spaces only between non-Chinese words", () => {
    expect(joinWords(["会话", "上下文", "Redis", "默认"])).toBe("会话上下文Redis默认");
    expect(joinWords(["stream", "TTL"])).toBe("stream TTL");
  });

  it("puts Parley's default fallback, not a session's own, in the question's language", () => {
    expect(fallbackResponseFor("Sorry, I am unable to answer this question.", QUESTION)).toBe("抱歉，我无法回答这个问题。");
    expect(fallbackResponseFor("Sorry, I am unable to answer this question.", "Why?")).toBe("Sorry, I am unable to answer this question.");
    expect(fallbackResponseFor("Only Parley questions.", QUESTION)).toBe("Only Parley questions.");
  });
});

const QUESTION = "会话上下文在Redis中的默认过期时间是多久？";

describe("passageLanguage", () => {
  it("takes Chinese prose quoting code and paths as Chinese, and English with a stray Chinese word as English", () => {
    expect(passageLanguage("- 创建会话：POST /api/v1/sessions - 获取单个会话：GET /api/v1/sessions/{id} - 获取租户会话列表：GET /api/v1/sessions?page=1&page_size=20")).toBe("zh");
    expect(passageLanguage("`DATABASE_URL` 让 Parley 使用一个 Postgres 服务器（通过 postgres-js）。")).toBe("zh");
    expect(passageLanguage("Sessions are called 会话 in the Chinese UI, and chats in the English one, which is what most people use every day.")).toBe("en");
    expect(passageLanguage("How do I scale Parley out?")).toBe("en");
  });
});
