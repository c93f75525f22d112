import { describe, expect, it } from "vitest";
import { askedFor, statesAny, type FactKind } from "./intent";

const kinds = (question: string) => [...askedFor(question)].sort();

describe("askedFor", () => {
  it("names the kind of fact a question asks for, in English and Chinese", () => {
    expect(kinds("Which setting caps the answers an instance runs?")).toEqual(["setting"]);
    expect(kinds("应该更改哪些设定？")).toEqual(["setting"]);
    expect(kinds("连接 Postgres 要设置哪个环境变量？")).toEqual(["setting"]);
    expect(kinds("Where does PGlite keep its files?")).toEqual(["file"]);
    expect(kinds("内嵌的 PGlite 把数据存在哪个目录？")).toEqual(["file"]);
    expect(kinds("Which command builds the SDK?")).toEqual(["command"]);
    expect(kinds("How long are events kept?")).toEqual(["number"]);
    expect(kinds("一个实例最多同时运行多少个回答？")).toEqual(["number"]);
  });

  it("takes a how / what should I question as asking for any of them, and other questions for none", () => {
    const any: FactKind[] = ["command", "file", "number", "setting"];
    expect(kinds("How do I scale Parley out?")).toEqual(any);
    expect(kinds("What should I do when Redis is down?")).toEqual(any);
    expect(kinds("怎么删除会话？")).toEqual(any);
    expect(kinds("What happens when an instance crashes?")).toEqual([]);
    expect(kinds("没有 API 密钥时由哪个模型回答？")).toEqual([]);
  });
});

describe("statesAny", () => {
  const all = new Set<FactKind>(["setting", "file", "command", "number"]);
  it("finds settings, paths, commands and numbers, and nothing in plain prose", () => {
    expect(statesAny("`STREAM_TTL_SECONDS` is how long events are kept.", new Set(["setting"]))).toBe(true);
    expect(statesAny("Set PARLEY_BOOTSTRAP_KEY first.", new Set(["setting"]))).toBe(true);
    expect(statesAny("Markdown 导出以会话标题作为 `#` 标题开头。", new Set(["setting"]))).toBe(false);
    expect(statesAny("解决办法是在 /etc/parley/parley.env 中调大这两项。", new Set(["file"]))).toBe(true);
    expect(statesAny("`deploy/nginx.conf` is the tested configuration.", new Set(["file"]))).toBe(true);
    expect(statesAny("`npm run sdk:pack` builds it.", new Set(["command"]))).toBe(true);
    expect(statesAny("默认 16 个。", new Set(["number"]))).toBe(true);
    expect(statesAny("Parley stores only its SHA-256 hash.", new Set(["number"]))).toBe(false);
    expect(statesAny("A revoked key stops working at once.", all)).toBe(false);
    expect(statesAny("`DATABASE_URL` points Parley at Postgres.", new Set(["number"]))).toBe(false);
  });
});
