import { keywords } from "../models/text";

/**
 * Near-synonyms a question and a document often use for one another ("应该更改哪些设定" asked
 * of a passage that says "修改…配置"). Each group's words stand for its first one when the
 * offline model matches a question's words to a sentence's, and keyword search looks for a
 * Chinese word's whole group (English words already meet their other forms through stemming).
 * Kept small and close in meaning: a loose group would make unrelated passages look like answers.
 */
const NEAR_SYNONYMS: string[][] = [
  ["设置", "设定", "配置", "参数", "变量"],
  ["修改", "更改", "改变", "改动", "调整", "更换"],
  ["删除", "移除", "删掉", "去掉"],
  ["会话", "对话", "聊天"],
  ["启动", "开启", "启用"],
  ["停止", "中止", "终止"],
  ["失败", "出错", "报错"],
  ["丢失", "遗失", "丢了"],
  ["找回", "恢复"],
  ["setting", "variable", "option", "configuration", "config", "parameter"],
  ["change", "modify", "edit", "alter", "adjust"],
  ["delete", "remove"],
  ["session", "conversation", "chat"],
];

/** Each word → its group. */
const GROUP_OF = new Map<string, string[]>(NEAR_SYNONYMS.flatMap((group) => group.map((word) => [word, group] as const)));

/** `word` and its near-synonyms, `word` first. */
export function nearSynonyms(word: string): string[] {
  return [word, ...(GROUP_OF.get(word) ?? []).filter((w) => w !== word)];
}

/** Each word's term (as `keywords` gives it) → its group's first term. */
const CANONICAL = new Map<string, string>(
  NEAR_SYNONYMS.flatMap((group) => {
    const terms = group.map((word) => keywords(word)[0] ?? word);
    return terms.map((term) => [term, terms[0]!] as const); // a group is never empty
  }),
);

/** The term `term` stands for: its near-synonym group's first term, else itself. */
export function canonicalTerm(term: string): string {
  return CANONICAL.get(term) ?? term;
}

/** The terms of `text` that carry meaning (`keywords`), each as the term it stands for. */
export function matchTerms(text: string): string[] {
  return keywords(text).map(canonicalTerm);
}
