import { createTranslator } from "next-intl";
import { describe, expect, it } from "vitest";
import { pickLocale } from "@/i18n/locales";
import en from "@/messages/en.json";
import zh from "@/messages/zh.json";
import { GROUPS } from "./_components/settingsForm";

type Tree = { [key: string]: string | Tree };

/** Every message's dotted key, with its text. */
function flatten(tree: Tree, prefix = ""): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(tree)) {
    if (typeof v === "string") out.set(prefix + k, v);
    else for (const [kk, vv] of flatten(v, `${prefix}${k}.`)) out.set(kk, vv);
  }
  return out;
}

// The settings form's field texts exist only in translations: English comes from the schema's `.meta`.
const SCHEMA_TEXTS = "settings.fields.";
const enKeys = [...flatten(en).keys()];
const zhMessages = flatten(zh);

describe("messages", () => {
  it("en.json and zh.json have the same keys", () => {
    const zhKeys = [...zhMessages.keys()].filter((k) => !k.startsWith(SCHEMA_TEXTS));
    expect(zhKeys.sort()).toEqual([...enKeys].sort());
    expect(enKeys.some((k) => k.startsWith(SCHEMA_TEXTS))).toBe(false);
  });

  it("zh.json names and explains every field of the settings form", () => {
    for (const f of GROUPS.flatMap((g) => g.fields)) {
      expect(zhMessages.get(`${SCHEMA_TEXTS}${f.key}.title`), f.key).toBeTruthy();
      if (f.help) expect(zhMessages.get(`${SCHEMA_TEXTS}${f.key}.description`), f.key).toBeTruthy();
    }
    const fieldKeys = new Set(GROUPS.flatMap((g) => g.fields.map((f) => f.key)));
    const translated = new Set([...zhMessages.keys()].filter((k) => k.startsWith(SCHEMA_TEXTS)).map((k) => k.split(".")[2]));
    expect([...translated].filter((k) => !fieldKeys.has(k!))).toEqual([]);
  });

  it("every message of both languages is valid ICU and takes the same arguments as the English one", () => {
    // An argument is `{name` not right after a plural selector (`one {…}` is a branch's text).
    const argumentsOf = (text: string) => new Set([...text.matchAll(/(?<!\b(?:zero|one|two|few|many|other|=\d+)\s*)\{\s*(\w+)/g)].map((m) => m[1]));
    const enMessages = flatten(en);
    for (const [locale, messages] of [["en", en], ["zh", zh]] as const) {
      const errors: string[] = [];
      const t = createTranslator({ locale, messages, onError: (e) => errors.push(e.message) });
      for (const [key, text] of flatten(messages)) {
        if (key.startsWith(SCHEMA_TEXTS)) continue;
        const names = argumentsOf(enMessages.get(key)!);
        expect(argumentsOf(text), `${locale} ${key}`).toEqual(names);
        const values = Object.fromEntries([...names].map((n) => [n, 2]));
        if (/<\w+>/.test(text)) void t.rich(key as never, { ...values, strong: (c: unknown) => c, link: (c: unknown) => c } as never);
        else t(key as never, values as never);
      }
      expect(errors).toEqual([]);
    }
  });

  it("plurals and numbers follow the language", () => {
    const tEn = createTranslator({ locale: "en", messages: en });
    const tZh = createTranslator({ locale: "zh", messages: zh });
    expect(tEn("knowledge.documents", { count: 1 })).toBe("1 document");
    expect(tEn("knowledge.chunks", { count: 1234 })).toBe("1,234 chunks");
    expect(tZh("knowledge.chunks", { count: 1234 })).toBe("1,234 个分块");
    expect(tZh("sidebar.groups.previous7Days")).toBe("过去 7 天");
    // Chinese has no "one" category: a single item needs an explicit =1 branch.
    expect(tZh("settings.knowledge.searches", { count: 1 })).toBe("回答将从此知识库中查找来源。");
    expect(tZh("settings.knowledge.searches", { count: 2 })).toBe("回答将从这 2 个知识库中查找来源。");
  });
});

describe("pickLocale", () => {
  it("keeps a remembered choice over the browser's languages", () => {
    expect(pickLocale("zh", "en-US,en;q=0.9")).toBe("zh");
    expect(pickLocale("en", "zh-CN,zh;q=0.9")).toBe("en");
  });
  it("follows the browser's first language it speaks, by q-value", () => {
    expect(pickLocale(undefined, "zh-CN,zh;q=0.9,en;q=0.8")).toBe("zh");
    expect(pickLocale(undefined, "zh-Hans-CN")).toBe("zh");
    expect(pickLocale(undefined, "fr-FR,zh;q=0.5,en;q=0.4")).toBe("zh");
    expect(pickLocale(undefined, "en;q=0.3,zh-TW;q=0.8")).toBe("zh");
    expect(pickLocale(undefined, "en-US,en;q=0.9")).toBe("en");
  });
  it("falls back to English for an unknown cookie, no header, or no spoken language", () => {
    expect(pickLocale("fr", null)).toBe("en");
    expect(pickLocale(undefined, "")).toBe("en");
    expect(pickLocale(undefined, "de-DE,fr;q=0.8")).toBe("en");
    expect(pickLocale(undefined, "zh;q=0,en;q=0.1")).toBe("en");
  });
});
