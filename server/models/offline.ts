import { setImmediate, setTimeout as sleep } from "node:timers/promises";
import type { Reference } from "../defaults";
import { joinWords, languageOf, type Language } from "../text/language";
import { hasHan, segmentPieces, segmentWords } from "../text/segment";
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
  return [leadIn(sources, topicOf(question, language), language), ...paragraphs].join("\n\n");
}

/** "Here is what the Parley handbook says about …:", "以下是《…》中关于…的内容：". */
function leadIn(sources: string[], topic: string, language: Language): string {
  if (language === "zh") return `以下是${sources.length === 1 ? `《${sources[0]}》中` : "各来源中"}关于${topic}的内容：`;
  const who = sources.length === 1 ? `${nameSource(sources[0]!)} says` : "the sources say";
  return `Here is what ${who} about ${topic}:`;
}

/** "Parley handbook" → "the Parley handbook"; file names and addresses are quoted as they are. */
function nameSource(source: string): string {
  return /[./:\\]/.test(source) ? `“${source}”` : `the ${source}`;
}

/** The best-matching sentences of the references, in reading order (by reference, then position). */
function chooseSentences(question: string, references: Reference[]): Candidate[] {
  const seen = new Set<string>();
  const candidates: Candidate[] = [];
  for (const [ref, reference] of references.entries()) {
    for (const [position, text] of splitSentences(reference.content).entries()) {
      if (seen.has(text) || /[:：]$/.test(text) || countWords(text) < MIN_SENTENCE_WORDS) continue;
      seen.add(text);
      candidates.push({ text, ref, position, terms: new Set(keywords(text)), score: 0 });
    }
  }
  if (candidates.length === 0) return [];

  // A question word found in few sentences says more than one found in most ("parley").
  const weights = new Map<string, number>();
  for (const term of new Set(keywords(question))) {
    const df = candidates.filter((c) => c.terms.has(term)).length;
    if (df > 0) weights.set(term, Math.log(1 + candidates.length / df));
  }
  for (const c of candidates) {
    const matched = [...c.terms].reduce((sum, t) => sum + (weights.get(t) ?? 0), 0);
    // Denser sentences first (matches per word), then earlier ones, from better-ranked references.
    c.score = (matched / Math.sqrt(c.terms.size || 1)) * (1 / (1 + 0.05 * c.position)) * (1 / (1 + 0.1 * c.ref));
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
  // A short answer is topped up first with the sentences that continue its matches, then with weak matches.
  const followers = [...chosen].flatMap((c) => candidates.filter((n) => n.ref === c.ref && n.position === c.position + 1));
  for (const c of [...followers, ...ranked]) {
    if (chosen.size >= MIN_SENTENCES) break;
    chosen.add(c);
  }
  return [...chosen].sort((a, b) => a.ref - b.ref || a.position - b.position);
}

/** Puts the citation before the sentence's closing punctuation: "… answers [2].", "…失效 [1]。" */
function cite(sentence: string, n: number): string {
  const closing = sentence.match(/[.!?。！？；]+$/)?.[0] ?? "";
  return `${sentence.slice(0, sentence.length - closing.length)} [${n}]${closing || (hasHan(sentence) ? "。" : ".")}`;
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
