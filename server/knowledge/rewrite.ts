import { and, desc, eq, ne } from "drizzle-orm";
import type { Db } from "../../db";
import { messages } from "../../db/schema";
import { contentWords } from "../platform/models/text";
import type { ChatModel } from "../platform/models/types";
import { rootLogger } from "../platform/log";

/**
 * `strategy.enableRewrite`: a follow-up question ("and how do I stop it?") is searched as a
 * standalone one, using the turn before it. The built-in offline model rewrites deterministically
 * (rewriteFollowUp); an OpenAI-compatible summary model is asked to, falling back to the same
 * rule when it fails. The answer itself still replies to the question as the user asked it.
 */

export interface PreviousTurn {
  question: string;
  answer: string;
}

/** The last completed turn of a session before the one being answered. */
export async function previousTurn(db: Db, sessionId: string, currentRequestId: string): Promise<PreviousTurn | null> {
  const [question] = await db
    .select({ requestId: messages.requestId, content: messages.content })
    .from(messages)
    .where(and(eq(messages.sessionId, sessionId), eq(messages.role, "user"), ne(messages.requestId, currentRequestId)))
    .orderBy(desc(messages.createdAt), desc(messages.id))
    .limit(1);
  if (!question) return null;
  const [answer] = await db
    .select({ content: messages.content })
    .from(messages)
    .where(and(eq(messages.sessionId, sessionId), eq(messages.requestId, question.requestId), eq(messages.role, "assistant")));
  return { question: question.content, answer: answer?.content ?? "" };
}

/** Words that point back at something said before ("that" and "there" are too often not). */
const BACK_REFERENCES = new Set("it its it's this these those they them their theirs he him his she her former latter".split(" "));
/** Openings that continue the previous question ("and for admins?", "what about Redis?"). */
const CONTINUATION = /^\s*(and|also|but|or|so|then|what about|how about|same for|and what|and how|why not)\b/i;
/** A question with this few content words leans on the one before it ("Pricing?"). */
const ELLIPTIC_WORDS = 1;
/** At most this many key words are carried over. */
const CARRIED_WORDS = 8;

/**
 * The offline rewrite: a question that refers back (a pronoun, a continuing opening, or too few
 * content words to stand alone) gets the previous question's key words that it lacks appended, so
 * "How do I stop it?" after "How do I resume a dropped stream?" is searched as "How do I stop it?
 * resume dropped stream". Anything else is returned as it is.
 */
export function rewriteFollowUp(question: string, previous: string | null): string {
  if (!previous) return question;
  const words = question.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? [];
  const own = contentWords(question).filter((w) => !BACK_REFERENCES.has(w.toLowerCase()));
  const refersBack = words.some((w) => BACK_REFERENCES.has(w)) || CONTINUATION.test(question) || own.length <= ELLIPTIC_WORDS;
  if (!refersBack) return question;
  const have = new Set(own.map((w) => w.toLowerCase()));
  const carried = [...new Set(contentWords(previous).filter((w) => !have.has(w.toLowerCase()) && !BACK_REFERENCES.has(w.toLowerCase())))].slice(0, CARRIED_WORDS);
  return carried.length > 0 ? `${question.trim()} ${carried.join(" ")}` : question;
}

const REWRITE_PROMPT =
  "Rewrite the user's last question as one standalone question that can be understood without the conversation, " +
  "resolving pronouns and omissions from the earlier turn. Reply with the question only.";

/** The question to search for: standalone, whether the model or the offline rule made it so. */
export async function standaloneQuestion(model: ChatModel, question: string, previous: PreviousTurn | null, signal: AbortSignal): Promise<string> {
  if (!previous) return question;
  if (model.offline) return rewriteFollowUp(question, previous.question);
  try {
    const rewritten = await model.complete({
      messages: [
        { role: "system", content: REWRITE_PROMPT },
        { role: "user", content: previous.question },
        { role: "assistant", content: previous.answer.slice(0, 2000) },
        { role: "user", content: question },
      ],
      maxTokens: 200,
      temperature: 0,
      signal,
    });
    const line = rewritten.trim().split("\n")[0]?.trim();
    return line ? line : rewriteFollowUp(question, previous.question);
  } catch (error) {
    if (signal.aborted) throw error;
    rootLogger().warn({ err: error }, "rewriting a follow-up failed, using the offline rule");
    return rewriteFollowUp(question, previous.question);
  }
}
