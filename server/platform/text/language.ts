import { DEFAULT_FALLBACK_RESPONSE } from "../../../common/settings";
import { hanRuns, hasHan } from "../../../common/segment";

/**
 * Which language Parley's own sentences take: the question's. Chinese when its Han characters
 * are at least as many as its Latin words ("会话上下文在Redis中…" is Chinese, "What does 会话
 * mean?" English).
 */
export type Language = "en" | "zh";

const hanCount = (text: string) => hanRuns(text).reduce((n, run) => n + Array.from(run).length, 0);

export function languageOf(text: string): Language {
  if (!hasHan(text)) return "en";
  const latin = text.match(/[A-Za-z]+/g)?.length ?? 0;
  return hanCount(text) >= latin ? "zh" : "en";
}

/** At least this share of a passage's letters are Han characters when it is written in Chinese. */
const CHINESE_PASSAGE_HAN_SHARE = 0.1;

/**
 * The language a passage is written in, to match it with a question's. Chinese prose quoting
 * code, paths and API names may hold more Latin letters than Han characters ("创建会话：POST
 * /api/v1/sessions …"), while English text holds next to no Han: so a passage is Chinese once a
 * tenth of its letters are Han.
 */
export function passageLanguage(text: string): Language {
  const han = hanCount(text);
  const latin = text.match(/[A-Za-z]/g)?.length ?? 0;
  return han > 0 && han >= CHINESE_PASSAGE_HAN_SHARE * (han + latin) ? "zh" : "en";
}

const CHINESE_FALLBACK_RESPONSE = "抱歉，我无法回答这个问题。";

/**
 * `strategy.fallbackResponse` for `question`: Parley's default sentence in the question's
 * language; a response the session set itself, verbatim.
 */
export function fallbackResponseFor(configured: string, question: string): string {
  return configured === DEFAULT_FALLBACK_RESPONSE && languageOf(question) === "zh" ? CHINESE_FALLBACK_RESPONSE : configured;
}

/**
 * Words joined as the language writes them: a space between two words unless one of them is
 * Chinese ("会话 上下文" reads "会话上下文", "Redis 过期" reads "Redis过期").
 */
export function joinWords(words: string[]): string {
  return words.reduce((text, word, i) => (i === 0 ? word : hasHan(text.slice(-1)) || hasHan(word.charAt(0)) ? text + word : `${text} ${word}`), "");
}
