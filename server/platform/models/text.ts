import { decode, encode } from "gpt-tokenizer";
import { isHanBoundary, splitWord } from "../../../common/segment";
import type { ChatMessage } from "./types";

/**
 * Small text helpers shared by the offline model, knowledge retrieval and title generation:
 * word tokens, stop words, light stemming, sentence splitting and token counting.
 */

const STOP_WORDS = new Set(
  (
    "a about above after again all also am an and any are aren't as at be because been before being below " +
    "between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down during " +
    "each either else etc ever every few for from further get gets got had hadn't has hasn't have haven't having " +
    "he her here hers herself him himself his how i i'd i'll i'm i've if in into is isn't it it's its itself just " +
    "let let's like may me might more most much must my myself need no nor not now of off on once one only or other " +
    "our ours ourselves out over own please same shall she should shouldn't so some such than that that's the their " +
    "theirs them themselves then there there's these they this those through to too under until up upon us use " +
    "very via was wasn't we were weren't what what's when where where's whether which while who whom whose why will " +
    "with within without won't would wouldn't yes yet you your yours yourself yourselves " +
    "tell know explain thanks thank hi hello hey happen happens happened"
  ).split(" "),
);

/** Chinese function words and question words, as ICU segments them ("是多久" → 是, 多久). */
const CHINESE_STOP_WORDS = new Set(
  (
    "的 了 着 过 是 在 和 与 及 或 而 并 也 都 就 还 又 把 被 给 对 从 向 以 于 为 由 之 其 该 此 这 那 这个 那个 这些 那些 " +
    "这里 那里 这样 那样 有 没有 吗 呢 吧 啊 呀 么 嘛 中 中的 里 上的 的话 一个 一些 些 个 我 你 您 他 她 它 我们 你们 他们 " +
    "什么 怎么 怎样 怎么样 样 如何 为什么 为何 哪 哪个 哪些 哪里 多少 多久 几 是否 是不是 能否 可以 能 能够 会不会 请 请问 " +
    "告诉 一下 介绍 说明 解释 谢谢 你好 知道 想 要 需要 应该"
  ).split(" "),
);

export function isStopWord(word: string): boolean {
  return STOP_WORDS.has(word.toLowerCase()) || CHINESE_STOP_WORDS.has(word);
}

/**
 * Runs of letters and digits as written, keeping inner apostrophes ("don't"); Chinese segmented
 * into dictionary words, with ASCII words inside it ("在Redis中") words of their own.
 */
function rawWords(text: string): string[] {
  return text.match(/[\p{L}\p{N}]+(?:['’][\p{L}]+)*/gu)?.flatMap((w) => splitWord(w.replace(/’/g, "'"))) ?? [];
}

/** The words of `text` as written (case kept), without stop words: what a phrase is about. */
export function contentWords(text: string): string[] {
  return rawWords(text).filter((w) => !isStopWord(w));
}

/**
 * A light suffix stripper, enough to match "streams", "streamed" and "streaming" to one stem.
 * Deliberately crude: both sides of every comparison go through it, so only consistency matters.
 */
function stem(word: string): string {
  let w = word;
  if (w.length > 4 && w.endsWith("ies")) w = `${w.slice(0, -3)}y`;
  else if (w.endsWith("sses")) w = w.slice(0, -2);
  else if (w.length > 3 && w.endsWith("s") && !/(ss|us|is)$/.test(w)) w = w.slice(0, -1);

  if (w.length > 5 && w.endsWith("ing")) w = undouble(w.slice(0, -3));
  else if (w.length > 4 && w.endsWith("ed")) w = undouble(w.slice(0, -2));

  if (w.length > 4 && w.endsWith("e")) w = w.slice(0, -1);
  return w;
}

/** "stopp" → "stop", but "install" and "access" keep their letters. */
function undouble(w: string): string {
  return /([^aeioulsz])\1$/.test(w) ? w.slice(0, -1) : w;
}

/** The stems of the words that carry meaning, in order and with repeats. */
export function keywords(text: string): string[] {
  return rawWords(text.toLowerCase())
    .filter((w) => !isStopWord(w))
    .map(stem);
}

/**
 * Where one sentence ends and the next begins: after ". ! ?" and a space, before a capital, digit or
 * quote; or right after a Chinese sentence end ("。！？；"), which needs no space, unless a closing
 * quote or bracket follows (“哪里？”得到… goes on).
 */
export const SENTENCE_BREAK = /(?<=[.!?])\s+(?=[\p{Lu}\p{N}`"“(])|(?<=[。！？；])\s*(?=[^\s”’」』）)])/u;

/**
 * Sentences of a plain-text or Markdown document, in order. Code blocks, headings, tables and rules
 * are skipped; each list item counts as its own sentence (items rarely end with a full stop).
 */
export function splitSentences(text: string): string[] {
  const blocks: string[] = [];
  let paragraph: string[] = [];
  const flush = () => {
    if (paragraph.length) blocks.push(paragraph.join(" "));
    paragraph = [];
  };
  let inCode = false;
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line.startsWith("```") || line.startsWith("~~~")) {
      inCode = !inCode;
      flush();
      continue;
    }
    if (inCode) continue;
    if (!line || line.startsWith("#") || line.startsWith("|") || /^([-*_]\s*){3,}$/.test(line)) {
      flush();
      continue;
    }
    const item = line.match(/^(?:[-*+]|\d+[.)])\s+(.*)$/);
    if (item) {
      flush();
      paragraph.push(item[1]!); // (.*) always captures
      continue;
    }
    paragraph.push(line.replace(/^>\s?/, ""));
  }
  flush();

  return blocks
    .flatMap((block) => block.split(SENTENCE_BREAK))
    .map((s) => s.replace(/\s+/g, " ").trim())
    .filter(Boolean);
}

// Without `disallowedSpecial`, text that merely mentions a special token ("<|endoftext|>") throws.
const ENCODE_OPTIONS = { disallowedSpecial: new Set<string>() };

export function countTokens(text: string): number {
  return encode(text, ENCODE_OPTIONS).length;
}

/** `text` cut to at most `maxTokens` tokens, at a word boundary, with "…" when cut. */
export function truncateToTokens(text: string, maxTokens: number): string {
  const tokens = encode(text, ENCODE_OPTIONS);
  if (tokens.length <= maxTokens) return text;
  // A cut inside a multi-byte character decodes to U+FFFD; that partial character goes.
  const head = decode(tokens.slice(0, Math.max(0, maxTokens - 1))).replace(/\uFFFD+$/, "");
  // `head` is a prefix of `text`; when the next character is not a space it ends mid-word, unless
  // it ends at a Chinese character (any of which may end a cut: Chinese has no spaces).
  const endsOnWord = /\s/.test(text.charAt(head.length)) || isHanBoundary(head, text.slice(head.length));
  const boundary = head.search(/\s\S*$/);
  const cut = endsOnWord || boundary <= 0 ? head : head.slice(0, boundary);
  return `${cut.trimEnd()}…`;
}

/** Rough per-message cost of the chat format (role and separators), as OpenAI counts it. */
export const MESSAGE_OVERHEAD_TOKENS = 4;

/** Tokens a list of chat messages takes in a prompt. */
export function countMessageTokens(messages: readonly ChatMessage[]): number {
  return messages.reduce((sum, m) => sum + countTokens(m.content) + MESSAGE_OVERHEAD_TOKENS, 0);
}
