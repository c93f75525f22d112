import { setImmediate, setTimeout as sleep } from "node:timers/promises";
import type { Reference } from "../../../common/settings";
import { joinWords, languageOf, type Language } from "../text/language";
import { hasHan, segmentPieces, segmentWords } from "../../../common/segment";
import { matchTerms } from "../text/synonyms";
import { askedFor, statesAny } from "./intent";
import { contentWords, countMessageTokens, countTokens, keywords, splitSentences, truncateToTokens } from "./text";
import type { ChatMessage, ChatModel } from "./types";

/**
 * The built-in offline model: an honest extractive answerer. It answers only with sentences taken
 * from the references it is given, cited inline, and says so plainly when it has none. It never
 * writes a fact of its own.
 */

export const OFFLINE_MODEL_NAME = "Parley offline model (built-in)";

/** At most this many source sentences in one answer, and about this many words. */
const MAX_SENTENCES = 5;
const WORD_BUDGET = 140;
/** "Several sentences": an answer with fewer strong matches is topped up. */
const MIN_SENTENCES = 3;
/** A sentence shorter than this is a fragment (a label, a lone list item), not an answer. */
const MIN_SENTENCE_WORDS = 4;
/** A sentence scoring under this share of the best one is a weak match. */
const RELATIVE_CUTOFF = 0.4;
/** A sentence stating what the question asks for (a setting, a path, a number…) counts this much more. */
const ANSWER_BOOST = 1;
/** A problem's fix is looked for this many sentences after a sentence describing it. */
const FIX_DISTANCE = 3;
/** Without a delay, give the event loop a turn every this many words. */
const WORDS_PER_TURN = 32;

export function createOfflineModel({ tokenDelayMs }: { tokenDelayMs: number }): ChatModel {
  return {
    name: OFFLINE_MODEL_NAME,
    offline: true,

    async *stream({ messages, references, maxTokens, signal }) {
      signal.throwIfAborted();
      const full = composeAnswer(lastUserMessage(messages), references);
      const answer = maxTokens ? truncateToTokens(full, maxTokens) : full;
      const deltas = streamPieces(answer);
      for (const [index, text] of deltas.entries()) {
        yield { type: "delta", text };
        await pause(tokenDelayMs, index, signal);
      }
      const promptTokens = countMessageTokens(messages) + references.reduce((n, r) => n + countTokens(r.content), 0);
      const completionTokens = countTokens(answer);
      yield { type: "usage", usage: { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens } };
    },

    async complete({ messages, maxTokens, signal }) {
      signal.throwIfAborted();
      const instructions = messages.filter((m) => m.role === "system").map((m) => m.content);
      const text = instructions.some((s) => /summar/i.test(s))
        ? summarise(messages.filter((m) => m.role !== "system"))
        : composeAnswer(lastUserMessage(messages), []);
      return maxTokens ? truncateToTokens(text, maxTokens) : text;
    },
  };
}

/** Waits between words; stops promptly (throwing the signal's reason) when aborted. */
async function pause(delayMs: number, index: number, signal: AbortSignal): Promise<void> {
  if (delayMs > 0) await sleep(delayMs, undefined, { signal }).catch(() => signal.throwIfAborted());
  else if (index % WORDS_PER_TURN === WORDS_PER_TURN - 1) await setImmediate();
  signal.throwIfAborted();
}

function lastUserMessage(messages: ChatMessage[]): string {
  return messages.findLast((m) => m.role === "user")?.content ?? "";
}

/** An answer as the pieces it streams in: words with the spaces after them; Chinese word by word. */
function streamPieces(answer: string): string[] {
  return (answer.match(/\S+\s*/g) ?? []).flatMap((piece) => (hasHan(piece) ? segmentPieces(piece) : [piece]));
}

/** What the question is about: its key words as the user wrote them, quoted. */
function topicOf(question: string, language: Language): string {
  const topic = joinWords(contentWords(question).slice(0, 8));
  if (language === "zh") return topic ? `“${topic}”` : "你的问题";
  return topic ? `“${topic}”` : "your question";
}

/** Words of a sentence, for its length: Chinese has no spaces, so its words are counted by segmenting. */
function countWords(sentence: string): number {
  return hasHan(sentence) ? segmentWords(sentence).length : sentence.split(/\s+/).length;
}

interface Candidate {
  text: string;
  /** Index of its reference (citation number − 1). */
  ref: number;
  /** Position within its reference. */
  position: number;
  terms: Set<string>;
  score: number;
}

function composeAnswer(question: string, references: Reference[]): string {
  const language = languageOf(question);
  const chosen = chooseSentences(question, references);
  if (chosen.length === 0) return noSourceAnswer(question, language);

  const paragraphs: string[] = [];
  for (const [i, c] of chosen.entries()) {
    const cited = cite(c.text, c.ref + 1);
    if (i > 0 && chosen[i - 1]!.ref === c.ref) paragraphs[paragraphs.length - 1] += hasHan(cited) ? cited : ` ${cited}`;
    else paragraphs.push(cited);
  }
  const sources = [...new Set(references.map((r) => r.source))];
  return [leadIn(question, sources, language), ...paragraphs].join("\n\n");
}

/**
 * The answer's first line, written from the question itself: "The Parley handbook explains how to
 * pin a session:", "《Parley 使用手册》中介绍了如何删除会话：", or, for a question of another
 * shape, the question quoted whole.
 */
export function leadIn(question: string, sources: string[], language: Language): string {
  const asked = question.replace(/\s+/g, " ").trim();
  return language === "zh" ? chineseLeadIn(asked, sources) : englishLeadIn(asked, sources);
}

/** Longer questions are not repeated in the lead-in. */
const MAX_QUOTED_CHARS = { en: 100, zh: 40 };

function chineseLeadIn(asked: string, sources: string[]): string {
  const where = sources.length === 1 ? `《${sources[0]}》中` : "各来源中";
  const how = asked.match(/^(?:请问)?(?:我们|我|你)?(?:应该|应当|该|要|需要|可以|能)?(?:怎么样|怎么|如何|怎样)(?!办)(?:才能|来|去)?(.+?)[？?。！!]*$/u)?.[1];
  if (how && hasHan(how)) return `${where}介绍了如何${how.replace(/我们/g, "你们").replace(/我/g, "你")}：`;
  const what = (asked.match(/^(?:请问)?(.+?)是什么[？?。]*$/u) ?? asked.match(/^(?:请问)?什么是(.+?)[？?。]*$/u))?.[1];
  if (what && Array.from(what).length <= MAX_QUOTED_CHARS.zh) return `以下是${where}关于${what}的说明：`;
  if (!asked || Array.from(asked).length > MAX_QUOTED_CHARS.zh) return `关于你的问题，${where}是这样说的：`;
  return `关于“${asked}”这个问题，${where}是这样说的：`;
}

function englishLeadIn(asked: string, sources: string[]): string {
  const one = sources.length === 1;
  const who = one ? nameSource(sources[0]!) : "the sources";
  const how = asked.match(/^how (?:(?:do|can|should|could|would|might) (?:i|we|you|one) |to )(.+?)[?.!]*$/i)?.[1];
  if (how) return `${capitalise(who)} ${one ? "explains" : "explain"} how to ${yours(how)}:`;
  const what = asked.match(/^what (?:is|are) (.+?)[?.!]*$/i)?.[1];
  const says = `${who} ${one ? "says" : "say"}`;
  if (what && what.length <= MAX_QUOTED_CHARS.en) return `Here is what ${says} about ${yours(what)}:`;
  if (!asked || asked.length > MAX_QUOTED_CHARS.en) return `Here is what ${says} about your question:`;
  return `You asked: “${asked}”${/[.!?…]$/.test(asked) ? "" : "."} Here is what ${says}:`;
}

/** The asker's words as Parley says them back: "my sessions" → "your sessions". */
function yours(phrase: string): string {
  const swaps: Record<string, string> = { i: "you", me: "you", my: "your", mine: "yours", we: "you", us: "you", our: "your", ours: "yours", myself: "yourself" };
  return phrase.replace(/\b(i|me|my|mine|we|us|our|ours|myself)\b/gi, (w) => swaps[w.toLowerCase()] ?? w);
}

const capitalise = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

/** "Parley handbook" → "the Parley handbook"; file names and addresses are quoted as they are. */
function nameSource(source: string): string {
  return /[./:\\]/.test(source) ? `“${source}”` : `the ${source}`;
}

/**
 * The sentences that answer the question best, in reading order (by reference, then position).
 * Words match through their stems and near-synonyms (synonyms.ts). A sentence stating the kind of
 * fact the question asks for (intent.ts) counts more, and one that follows a chosen sentence
 * which does not (a problem described, then its fix) joins them.
 */
function chooseSentences(question: string, references: Reference[]): Candidate[] {
  const seen = new Set<string>();
  const candidates: Candidate[] = [];
  for (const [ref, reference] of references.entries()) {
    for (const [position, text] of splitSentences(reference.content).entries()) {
      if (seen.has(text) || /[:：]$/.test(text) || countWords(text) < MIN_SENTENCE_WORDS) continue;
      seen.add(text);
      candidates.push({ text, ref, position, terms: new Set(matchTerms(text)), score: 0 });
    }
  }
  if (candidates.length === 0) return [];

  // A question word found in few sentences says more than one found in most ("parley").
  const weights = new Map<string, number>();
  for (const term of new Set(matchTerms(question))) {
    const df = candidates.filter((c) => c.terms.has(term)).length;
    if (df > 0) weights.set(term, Math.log(1 + candidates.length / df));
  }
  const asked = askedFor(question);
  const answers = (c: Candidate) => statesAny(c.text, asked);
  for (const c of candidates) {
    const matched = [...c.terms].reduce((sum, t) => sum + (weights.get(t) ?? 0), 0);
    // Denser sentences first (matches per word), then earlier ones, from better-ranked references.
    c.score = (matched / Math.sqrt(c.terms.size || 1)) * (1 / (1 + 0.05 * c.position)) * (1 / (1 + 0.1 * c.ref)) * (answers(c) ? 1 + ANSWER_BOOST : 1);
  }

  const ranked = candidates.filter((c) => c.score > 0).sort((a, b) => b.score - a.score);
  // Weak matches share little more than one common word with the question.
  const strong = ranked.filter((c) => c.score >= RELATIVE_CUTOFF * ranked[0]!.score); // c is in ranked, so ranked[0] exists
  const chosen = new Set<Candidate>();
  let wordCount = 0;
  for (const c of strong) {
    if (chosen.size >= MAX_SENTENCES || (chosen.size > 0 && wordCount >= WORD_BUDGET)) break;
    chosen.add(c);
    wordCount += countWords(c.text);
  }
  // Nothing matched word for word (the references were retrieved some other way): lead with their opening.
  if (chosen.size === 0) candidates.filter((c) => c.ref === 0).slice(0, MIN_SENTENCES).forEach((c) => chosen.add(c));
  // The sentences within `distance` after c in its reference, in order (candidates are in reading order).
  const after = (c: Candidate, distance: number) => candidates.filter((n) => n.ref === c.ref && n.position > c.position && n.position <= c.position + distance);
  // A chosen sentence that does not answer (a problem described) is followed by the one that does
  // (its fix); with no such pair and no answer chosen at all, the best-matching answer joins.
  if (asked.size > 0) {
    const fix = [...chosen].filter((c) => !answers(c)).flatMap((c) => after(c, FIX_DISTANCE)).find(answers);
    const answer = fix ?? ([...chosen].some(answers) ? undefined : ranked.find(answers));
    if (answer && !chosen.has(answer)) {
      // It takes the place of the weakest sentence when the answer is full.
      if (chosen.size >= MAX_SENTENCES) chosen.delete([...chosen].reduce((a, b) => (b.score < a.score ? b : a)));
      chosen.add(answer);
    }
  }
  // A short answer is topped up first with the sentences that continue its matches, then with weak matches.
  const followers = [...chosen].flatMap((c) => after(c, 1));
  for (const c of [...followers, ...ranked]) {
    if (chosen.size >= MIN_SENTENCES) break;
    chosen.add(c);
  }
  return [...chosen].sort((a, b) => a.ref - b.ref || a.position - b.position);
}

/**
 * Puts the citation before the sentence's closing punctuation: "… answers [2].", "…失效 [1]。"; a
 * clause quoted on its own ("…；") ends as a sentence.
 */
function cite(sentence: string, n: number): string {
  const closing = sentence.match(/[.!?。！？；]+$/)?.[0] ?? "";
  const end = closing === "；" || !closing ? (hasHan(sentence) ? "。" : ".") : closing;
  return `${sentence.slice(0, sentence.length - closing.length)} [${n}]${end}`;
}

function noSourceAnswer(question: string, language: Language): string {
  const asked = question.replace(/\s+/g, " ").trim();
  if (language === "zh") {
    const excerpt = Array.from(asked).length > 80 ? `${Array.from(asked).slice(0, 80).join("")}…` : asked;
    return [
      "我在可用的知识中没有找到这个问题的来源，因此无法可靠地回答。",
      excerpt ? `你的问题是：“${excerpt}”。` : "",
      `我只根据检索到的文档回答，而这些文档都没有涉及${topicOf(question, language)}，所以我不想猜测。`,
      "请尝试使用文档中的词语重新表述问题，或者把涵盖这一主题的文档添加到此会话的知识库中。",
    ].join("");
  }
  const excerpt = asked.length > 160 ? `${asked.slice(0, 160).replace(/\s+\S*$/, "")}…` : asked;
  return [
    "I could not find a source for this question in the knowledge available to me, so I cannot answer it reliably.",
    excerpt ? `You asked: “${excerpt}”${/[.!?…]$/.test(excerpt) ? "" : "."}` : "",
    `I answer only from retrieved documents, and none of them covers ${topicOf(question, language)}, so I would rather not guess.`,
    "Try rephrasing the question with the words your documents use, or add a document that covers it to a knowledge base for this session.",
  ]
    .filter(Boolean)
    .join(" ");
}

/** An extractive summary: the most central sentence of each message, as "User:" / "Assistant:" lines. */
function summarise(conversation: ChatMessage[]): string {
  const frequency = new Map<string, number>();
  for (const term of conversation.flatMap((m) => keywords(m.content))) frequency.set(term, (frequency.get(term) ?? 0) + 1);
  const centrality = (sentence: string) => {
    const terms = new Set(keywords(sentence));
    return [...terms].reduce((sum, t) => sum + (frequency.get(t) ?? 0), 0) / Math.sqrt(terms.size || 1);
  };
  return conversation
    .flatMap((m) => {
      const sentences = splitSentences(m.content.replace(/\s*\[\d+\]/g, ""));
      if (sentences.length === 0) return [];
      const best = sentences.reduce((a, b) => (centrality(b) > centrality(a) ? b : a));
      return [`${m.role === "user" ? "User" : "Assistant"}: ${best}`];
    })
    .join("\n");
}
