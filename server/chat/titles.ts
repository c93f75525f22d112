import { isStopWord, keywords, splitSentences, truncateToTokens } from "../platform/models/text";
import type { ChatMessage, ChatModel } from "../platform/models/types";
import { languageOf, type Language } from "../platform/text/language";
import { segmentPieces, segmentWords } from "../../common/segment";

/**
 * Session titles state the user's intent in 4–10 words (a Chinese question: at most 20
 * characters, in Chinese) and never carry the answer (WeKnora's titles often do). A model only ever sees the user's first message, and its title is checked; the
 * fallback, and the offline model's only way, is a title built from the user's own words.
 */

const MIN_WORDS = 4;
const MAX_WORDS = 10;
const MAX_CHARS = 100;
/** Keeps four words under MAX_CHARS whatever the user typed (a pasted hash, a long URL). */
const MAX_WORD_CHARS = 20;
const MODEL_TIMEOUT_MS = 15_000;
/** A Chinese title's length, in characters. */
const MIN_CHINESE_CHARS = 2;
const MAX_CHINESE_CHARS = 20;

export async function generateTitle(model: ChatModel, firstUserMessage: string, signal?: AbortSignal): Promise<string> {
  const fallback = heuristicTitle(firstUserMessage);
  if (model.offline) return fallback;
  const language = languageOf(firstUserMessage);
  try {
    const timeout = AbortSignal.timeout(MODEL_TIMEOUT_MS);
    const reply = await model.complete({
      messages: titlePrompt(firstUserMessage, language),
      temperature: 0.2,
      maxTokens: 40,
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
    const title = sanitiseModelTitle(reply);
    return isAcceptableTitle(title, firstUserMessage, language) ? title : fallback;
  } catch {
    // A title is a nicety: a failing model must not fail the answer it belongs to.
    return fallback;
  }
}

function titlePrompt(message: string, language: Language): ChatMessage[] {
  const length = language === "zh" ? `in Chinese, of at most ${MAX_CHINESE_CHARS} characters,` : "of 4 to 10 words";
  return [
    {
      role: "system",
      content:
        `You name chat conversations. Reply with a title ${length} that states what the user asks for or wants to do. ` +
        "Do not answer the question: no facts, names or numbers that are not in the user's message. " +
        "Reply with the title only, without quotes and without a full stop.",
    },
    { role: "user", content: truncateToTokens(message, 1000) },
  ];
}

// --- checking a model's title ---

const EDGE_PUNCTUATION = /^[\s"'“”‘’«»`*_#()[\]{}<>.,;:!?…。，、：；！？-]+|[\s"'“”‘’«»`*_()[\]{}<>.,;:!?…。，、：；！？-]+$/gu;

function sanitiseModelTitle(reply: string): string {
  const withoutReasoning = reply.replace(/<think>[\s\S]*?<\/think>/gi, "");
  const firstLine = withoutReasoning.split(/\r?\n/).find((line) => line.trim()) ?? "";
  return firstLine
    .replace(/^\s*(?:#+\s*)?(?:\*\*)?(?:title|标题)(?:\*\*)?\s*[:：]\s*/i, "")
    .replace(/["“”«»`]|\*\*/g, "")
    .replace(EDGE_PUNCTUATION, "")
    .replace(/\s+/g, " ");
}

/** Words a title may add to the user's own without adding content. */
const FRAMING_WORDS = new Set(
  "question questions help guide overview explanation comparison difference differences request steps setup troubleshooting understanding asking about"
    .split(" ")
    .flatMap(keywords),
);

function isAcceptableTitle(title: string, message: string, language: Language): boolean {
  if (language === "zh") {
    const chars = Array.from(title).length;
    return languageOf(title) === "zh" && chars >= MIN_CHINESE_CHARS && chars <= MAX_CHINESE_CHARS && !looksLikeAnswer(title, message);
  }
  const count = title.split(" ").filter(Boolean).length;
  return count >= MIN_WORDS && count <= MAX_WORDS && title.length <= MAX_CHARS && !looksLikeAnswer(title, message);
}

/**
 * Signs that a title states an answer rather than the question: it opens like a reply, states a
 * fact ("X is Y"), brings numbers or mostly words the user never wrote, or reads "topic: answer".
 */
function looksLikeAnswer(title: string, message: string): boolean {
  if (/^(yes|no|sure|certainly|of course|here|the answer|answer|it is|it's|you can|you should|you need)\b/i.test(title)) return true;
  if (/^(是的|不是|当然|可以|不可以|答案|没有|有的)/.test(title)) return true;
  if (/\b(is|are|was|were|equals|means)\b/i.test(title) && !/^(how|what|why|when|where|which|who|whether|can|could|does|do|did|is|are|should|would)\b/i.test(title)) {
    return true;
  }
  const numbers = (text: string) => text.match(/\d+(?:[.,]\d+)*/g) ?? [];
  const asked = new Set(numbers(message));
  if (numbers(title).some((n) => !asked.has(n))) return true;

  const messageTerms = new Set(keywords(message));
  const isNew = (term: string) => !messageTerms.has(term) && !FRAMING_WORDS.has(term);
  const after = title.split(/:|\s[-–—]\s/).slice(1).join(" ");
  if (keywords(after).some(isNew)) return true;
  const terms = keywords(title);
  return terms.filter(isNew).length * 2 > terms.length;
}

// --- a title from the user's own words ---

/** Openers and closers that carry no intent, stripped until none is left. */
const LEADING_FILLER = [
  /^(hi|hello|hey|hiya|yo|greetings|good (morning|afternoon|evening|day)|dear \S+)( there| all| team| everyone| folks)?\b[\s,!.:;-]*/i,
  /^(please|pls|plz|kindly|so|ok|okay|well|um+|uh+)\b[\s,!.:;-]*/i,
  /^(can|could|would|will) you( please)?( (tell|show|give|help) me( with)?| explain( to me)?| let me know| describe)?\b[\s,]*/i,
  /^(i (want|would like|'d like|need|wanted) to (know|understand|ask|learn)|i('m| am) (wondering|curious)|i have a question|quick question)( about| if| whether)?\b[\s,:]*/i,
  /^(tell me|explain( to me)?|help me( understand)?|do you know)\b[\s,]*/i,
];
const TRAILING_FILLER = /[\s,]*\b(please|pls|plz|thanks|thank you|thx|ty|cheers)[\s.!?]*$/i;

/** A deterministic title from the user's message alone: 4–10 words, at most 100 characters; Chinese, at most 20 characters. */
export function heuristicTitle(message: string): string {
  const text = message.replace(/<\|[^|>]*\|>/g, " ");
  if (languageOf(text) === "zh") return chineseTitle(text);
  const sentences = splitSentences(text);
  // The first question usually states the intent; context sentences tend to come before it.
  const focus = sentences.find((s) => s.includes("?")) ?? sentences[0] ?? text;

  let phrase = focus.replace(/\s+/g, " ").trim();
  for (let previous = ""; previous !== phrase; ) {
    previous = phrase;
    for (const filler of LEADING_FILLER) phrase = phrase.replace(filler, "");
    phrase = phrase.replace(TRAILING_FILLER, "");
  }

  let words = phrase
    .split(" ")
    .map((w) => Array.from(w.replace(EDGE_PUNCTUATION, "")).slice(0, MAX_WORD_CHARS).join(""))
    .filter((w) => /[\p{L}\p{N}]/u.test(w));

  if (words.length > MAX_WORDS) {
    words = words.slice(0, MAX_WORDS);
    // End on a word that means something, not on "the" or "for".
    while (words.length > MIN_WORDS && isStopWord(words[words.length - 1]!)) words.pop();
  }
  if (words.length < MIN_WORDS) words = padded(words, focus);
  while (words.join(" ").length > MAX_CHARS && words.length > MIN_WORDS) words.pop();

  const title = words.join(" ");
  return title.charAt(0).toUpperCase() + title.slice(1);
}

/** Short requests read as a question about their words: "redis" → "A question about redis". */
function padded(words: string[], focus: string): string[] {
  if (words.length === 0) {
    const greeted = LEADING_FILLER[0]!.test(focus.trim());
    return (greeted ? "Greeting to start a conversation" : "General question for the assistant").split(" ");
  }
  // "How pinning works" reads "Question about how pinning works"; "Redis" keeps its capital.
  const [first = "", ...rest] = words;
  const lead = isStopWord(first) ? first.toLowerCase() : first;
  return words.length === 1 ? ["A", "question", "about", lead] : ["Question", "about", lead, ...rest];
}

/** Chinese openers and closers that carry no intent ("请问", "你好，", "……吗？谢谢"). */
const CHINESE_LEADING_FILLER = /^(你好|您好|嗨|哈喽|请问|请|麻烦你?|帮我|帮忙|我想(知道|问问?|了解)|想问一下|问一下|能不能|能否|告诉我|介绍一下|解释一下)/u;
const CHINESE_TRAILING_FILLER = /(谢谢|多谢|感谢|吗|呢|吧|啊|呀)$/u;

/** At most 20 characters of the message's question, cut between words and not on a function word. */
function chineseTitle(text: string): string {
  const sentences = splitSentences(text);
  const focus = sentences.find((s) => /[?？]/.test(s)) ?? sentences[0] ?? text;
  let phrase = focus.replace(/\s+/g, " ").trim();
  for (let previous = ""; previous !== phrase; ) {
    previous = phrase;
    phrase = phrase.replace(EDGE_PUNCTUATION, "").replace(CHINESE_LEADING_FILLER, "").replace(CHINESE_TRAILING_FILLER, "");
  }
  const words: string[] = [];
  let length = 0;
  for (const piece of segmentPieces(phrase)) {
    const pieceLength = Array.from(piece.trimEnd()).length;
    if (length + pieceLength > MAX_CHINESE_CHARS) break;
    words.push(piece);
    length += Array.from(piece).length;
  }
  const ending = () => segmentWords(words.at(-1) ?? "")[0] ?? "";
  while (words.length > 1 && isStopWord(ending())) words.pop();
  const title = words.join("").replace(EDGE_PUNCTUATION, "");
  if (segmentWords(title).length === 0) return /^(你好|您好|嗨|哈喽)/.test(focus.trim()) ? "开始对话的问候" : "一般问题";
  return segmentWords(title).length === 1 && Array.from(title).length <= MAX_CHINESE_CHARS - 5 ? `关于${title}的问题` : title;
}
