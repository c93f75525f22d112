import { randomUUID } from "node:crypto";
import { and, eq } from "drizzle-orm";
import type { Db } from "../../db";
import { messages, messageSuggestions } from "../../db/schema";
import type { Reference, SuggestedQuestion } from "../../common/settings";
import type { Caller } from "../auth/accounts";
import { badInput, notFound } from "../platform/errors";
import type { Metrics } from "../platform/metrics";
import { contentWords, keywords, splitSentences, truncateToTokens } from "../platform/models/text";
import type { ChatMessage, ChatModel } from "../platform/models/types";
import { joinWords, languageOf, type Language } from "../platform/text/language";
import { getSession } from "../sessions/sessions";
import { getAnswer } from "./answers";

/**
 * Follow-up questions after a completed answer (WeKnora's message suggestions): made once per answer
 * by the session's summary model and stored with it (they go with the answer), made again only when
 * asked to `regenerate`. At most SUGGESTION_COUNT questions of at most MAX_SUGGESTION_CHARS
 * characters, the model given MODEL_TIMEOUT_MS; a model that fails or answers unusably, and the
 * offline model always, get questions built from the question's and the answer's own words (as
 * titles do, titles.ts). Events on them (shown, clicked, dismissed) are counted, not stored:
 * `parley_suggestion_events_total{event}`.
 */

export const SUGGESTION_COUNT = 3;
export const MAX_SUGGESTION_CHARS = 150;
const MODEL_TIMEOUT_MS = 15_000;
/** WeKnora's event types. */
export const SUGGESTION_EVENTS = ["impression", "click", "dismiss"] as const;
export type SuggestionEvent = (typeof SUGGESTION_EVENTS)[number];
const CATEGORIES = new Set(["clarify", "deepen", "action"]);

export interface SuggestionSet {
  id: string;
  sessionId: string;
  messageId: string;
  /** `suppressed`: there was nothing to suggest from (`suppressionReason` says why). */
  status: "ready" | "suppressed";
  suppressionReason: string | null;
  questions: SuggestedQuestion[];
  generatedAt: Date;
}

const setColumns = {
  id: messageSuggestions.id,
  sessionId: messageSuggestions.sessionId,
  messageId: messageSuggestions.messageId,
  status: messageSuggestions.status,
  suppressionReason: messageSuggestions.suppressionReason,
  questions: messageSuggestions.questions,
  generatedAt: messageSuggestions.generatedAt,
};

async function storedSet(db: Db, messageId: string): Promise<SuggestionSet | null> {
  const [row] = await db.select(setColumns).from(messageSuggestions).where(eq(messageSuggestions.messageId, messageId));
  return row ? { ...row, status: row.status as SuggestionSet["status"] } : null;
}

/** The suggestions of an answer the caller may read; NOT_FOUND for an unknown answer, and for one with none yet (as WeKnora). */
export async function getSuggestions(db: Db, caller: Caller, sessionId: string, messageId: string): Promise<SuggestionSet> {
  await getAnswer({ db }, caller, sessionId, messageId, "tenant");
  const set = await storedSet(db, messageId);
  if (!set) throw notFound("Suggestions");
  return set;
}

/**
 * The suggestions of a completed answer in the caller's own session: those stored, or new ones made
 * and stored (`regenerate`: new ones replacing them). Two callers at once store one set, both get it.
 */
export async function ensureSuggestions(
  deps: { db: Db; models: { summary: ChatModel } },
  caller: Caller,
  sessionId: string,
  messageId: string,
  regenerate = false,
): Promise<SuggestionSet> {
  const answer = await getAnswer(deps, caller, sessionId, messageId, "own");
  if (answer.status !== "completed") throw badInput("messageId", "Follow-up suggestions need a completed answer");
  if (!regenerate) {
    const stored = await storedSet(deps.db, messageId);
    if (stored) return stored;
  }
  const [question] = answer.parentId
    ? await deps.db.select({ content: messages.content }).from(messages).where(and(eq(messages.id, answer.parentId), eq(messages.role, "user")))
    : [];
  const questions = await suggestFollowUps(deps.models.summary, question?.content ?? "", answer.content, answer.references);
  const values = {
    messageId,
    sessionId,
    status: questions.length > 0 ? "ready" : "suppressed",
    suppressionReason: questions.length > 0 ? null : "no_candidates",
    questions,
    generatedAt: new Date(),
  };
  const insert = deps.db.insert(messageSuggestions).values(values);
  await (regenerate ? insert.onConflictDoUpdate({ target: messageSuggestions.messageId, set: values }) : insert.onConflictDoNothing());
  // The answer may have gone meanwhile (deleted with its set): then it is not found.
  const stored = await storedSet(deps.db, messageId);
  if (!stored) throw notFound("Message");
  return stored;
}

/**
 * Counts an event on a suggestion set of the caller's own session: the set must be of that session
 * (NOT_FOUND), a question named must be in it, and a click must name one (bad input).
 */
export async function recordSuggestionEvent(
  deps: { db: Db; metrics: Pick<Metrics, "suggestionEvents"> },
  caller: Caller,
  sessionId: string,
  input: { setId: string; questionId?: string; event: SuggestionEvent },
): Promise<void> {
  await getSession(deps.db, caller, sessionId, "own");
  const [set] = await deps.db
    .select({ questions: messageSuggestions.questions })
    .from(messageSuggestions)
    .where(and(eq(messageSuggestions.id, input.setId), eq(messageSuggestions.sessionId, sessionId)));
  if (!set) throw notFound("Suggestion set");
  if (input.questionId && !set.questions.some((q) => q.id === input.questionId)) throw badInput("questionId", "This question is not in the suggestion set");
  if (input.event === "click" && !input.questionId) throw badInput("questionId", "A click names the question clicked");
  deps.metrics.suggestionEvents.inc({ event: input.event });
}

/** Up to SUGGESTION_COUNT follow-up questions to `answer`; none when the answer is empty. */
export async function suggestFollowUps(model: ChatModel, question: string, answer: string, references: Reference[]): Promise<SuggestedQuestion[]> {
  if (answer.trim() === "") return [];
  const fallback = () => fromOwnWords(question, answer, references);
  if (model.offline) return fallback();
  const language = languageOf(question || answer);
  try {
    const reply = await model.complete({
      messages: suggestionPrompt(question, answer, language),
      temperature: 0.3,
      maxTokens: 400,
      signal: AbortSignal.timeout(MODEL_TIMEOUT_MS),
    });
    const parsed = parseModelSuggestions(reply);
    return parsed.length > 0 ? parsed : fallback();
  } catch {
    // Suggestions are a nicety: a failing model gives the fallback, never an error.
    return fallback();
  }
}

function suggestionPrompt(question: string, answer: string, language: Language): ChatMessage[] {
  return [
    {
      role: "system",
      content:
        `You suggest exactly ${SUGGESTION_COUNT} short follow-up questions the user could ask next, ${language === "zh" ? "in Chinese" : "in English"}. ` +
        'Reply with JSON only: {"questions":[{"text":"…","category":"clarify|deepen|action"}]}. ' +
        `Each question at most ${MAX_SUGGESTION_CHARS} characters, self-contained (name the subject, never "it" or "this"), ` +
        "grounded in the question and answer, not repeating the question, assuming nothing they do not say.",
    },
    { role: "user", content: `Question:\n${truncateToTokens(question, 500)}\n\nAnswer:\n${truncateToTokens(answer, 1500)}` },
  ];
}

/** The usable questions of a model's JSON reply (reasoning and fences around it ignored). */
export function parseModelSuggestions(reply: string): SuggestedQuestion[] {
  const text = reply.replace(/<think>[\s\S]*?<\/think>/gi, "");
  const start = text.indexOf("{");
  const end = text.lastIndexOf("}");
  if (start < 0 || end < start) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.slice(start, end + 1));
  } catch {
    return [];
  }
  const items = (parsed as { questions?: unknown }).questions;
  if (!Array.isArray(items)) return [];
  const seen = new Set<string>();
  const questions: SuggestedQuestion[] = [];
  for (const item of items as { text?: unknown; category?: unknown }[]) {
    const wording = typeof item?.text === "string" ? item.text.replace(/\s+/g, " ").trim() : "";
    if (!wording || wording.length > MAX_SUGGESTION_CHARS || seen.has(wording.toLowerCase())) continue;
    seen.add(wording.toLowerCase());
    const category = typeof item.category === "string" && CATEGORIES.has(item.category) ? (item.category as SuggestedQuestion["category"]) : undefined;
    questions.push({ id: randomUUID(), text: wording, ...(category && { category }), source: "model" });
    if (questions.length === SUGGESTION_COUNT) break;
  }
  return questions;
}

// --- questions from the conversation's own words ---

/**
 * The most frequent words of the answer's cited sentences (what it took from its sources, not its
 * lead-in) that neither the question nor a source's name uses, numbers aside, as written.
 */
function newTermsOf(answer: string, question: string, sourceNames: string[], count: number): string[] {
  const known = new Set(keywords([question, ...sourceNames].join(" ")));
  const cited = splitSentences(answer)
    .filter((sentence) => /\[\d+\]/.test(sentence))
    .join(" ")
    .replace(/\[\d+\]/g, " ");
  const tally = new Map<string, { word: string; n: number }>();
  for (const written of contentWords(cited)) {
    const word = written.replace(/['’]s$/i, "");
    const [stem] = keywords(word);
    // Short words say little: Latin under 4 letters, a single Chinese character.
    const tooShort = /\p{Script=Han}/u.test(word) ? Array.from(word).length < 2 : word.length < 4;
    if (!stem || known.has(stem) || /\d/.test(word) || tooShort) continue;
    const seen = tally.get(stem);
    if (seen) seen.n++;
    else tally.set(stem, { word, n: 1 });
  }
  // Most frequent first; Map order (first appearance) breaks ties.
  return [...tally.values()]
    .sort((a, b) => b.n - a.n)
    .slice(0, count)
    .map((t) => t.word);
}

/**
 * Questions built from the question's key words, the answer's own new words and its sources'
 * titles: each names its subject, and none states anything the conversation does not.
 */
function fromOwnWords(question: string, answer: string, references: Reference[]): SuggestedQuestion[] {
  const language = languageOf(question || answer);
  const topic = joinWords(contentWords(question).slice(0, 6));
  const sourceNames = [...new Set(references.flatMap((r) => [r.title, r.source]))];
  // An answer citing nothing (the offline model's "no source") has no words of its own to build on.
  const [first, second] = newTermsOf(answer, question, sourceNames, 2);
  const source = references[0]?.title;
  const zh = language === "zh";
  const candidates: (Omit<SuggestedQuestion, "id" | "source"> | null)[] = [
    first ? { text: zh ? `能详细介绍一下${first}吗？` : `Can you tell me more about ${first}?`, category: "deepen" } : null,
    second && topic ? { text: zh ? `${second}和“${topic}”有什么关系？` : `How does ${second} relate to “${topic}”?`, category: "clarify" } : null,
    source && topic ? { text: zh ? `《${source}》中还有哪些关于“${topic}”的内容？` : `What else does “${source}” say about “${topic}”?`, category: "deepen" } : null,
    topic ? { text: zh ? `能举一个关于“${topic}”的例子吗？` : `Can you give an example for “${topic}”?`, category: "clarify" } : null,
  ];
  return candidates
    .filter((c): c is Omit<SuggestedQuestion, "id" | "source"> => c !== null && c.text.length <= MAX_SUGGESTION_CHARS)
    .slice(0, SUGGESTION_COUNT)
    .map((c) => ({ id: randomUUID(), ...c, source: "answer" }));
}
