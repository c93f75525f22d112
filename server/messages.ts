import { and, asc, desc, eq, inArray, lt } from "drizzle-orm";
import type { Db } from "../db";
import { messages } from "../db/schema";
import type { Reference } from "./defaults";
import type { ChatMessage } from "./models/types";
import type { Session } from "./sessions";

export const messageColumns = {
  id: messages.id,
  sessionId: messages.sessionId,
  requestId: messages.requestId,
  role: messages.role,
  content: messages.content,
  status: messages.status,
  references: messages.references,
  model: messages.model,
  createdAt: messages.createdAt,
  updatedAt: messages.updatedAt,
};
/** A message as callers see it; spelled out (not inferred from the table) for the SDK's declarations. */
export interface Message {
  id: string;
  sessionId: string;
  requestId: string;
  role: "user" | "assistant";
  content: string;
  status: "streaming" | "completed" | "stopped" | "interrupted" | "failed";
  references: Reference[];
  model: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** The page of messages before `before` (or the newest), returned oldest first. */
export async function listMessages(db: Db, sessionId: string, options: { before?: Date; limit: number }) {
  const where = options.before
    ? and(eq(messages.sessionId, sessionId), lt(messages.createdAt, options.before))
    : eq(messages.sessionId, sessionId);
  const rows = await db
    .select(messageColumns)
    .from(messages)
    .where(where)
    .orderBy(desc(messages.createdAt), desc(messages.id))
    .limit(options.limit + 1);
  const hasMore = rows.length > options.limit;
  return { items: rows.slice(0, options.limit).reverse(), hasMore };
}

export async function allMessages(db: Db, sessionId: string): Promise<Message[]> {
  return db.select(messageColumns).from(messages).where(eq(messages.sessionId, sessionId)).orderBy(asc(messages.createdAt), asc(messages.id));
}

/** The stored conversation the LLM context is rebuilt from on a cache miss. */
export async function loadHistory(db: Db, sessionId: string): Promise<ChatMessage[]> {
  const rows = await db
    .select({ role: messages.role, content: messages.content })
    .from(messages)
    .where(and(eq(messages.sessionId, sessionId), inArray(messages.status, ["completed", "stopped"])))
    .orderBy(asc(messages.createdAt), asc(messages.id));
  return rows.filter((m) => m.content !== "");
}

/** The session's first question, or null before it has one. */
export async function firstQuestion(db: Db, sessionId: string): Promise<string | null> {
  const [first] = await db
    .select({ content: messages.content })
    .from(messages)
    .where(and(eq(messages.sessionId, sessionId), eq(messages.role, "user")))
    .orderBy(asc(messages.createdAt))
    .limit(1);
  return first?.content ?? null;
}

function filenameFor(session: Session, extension: string): string {
  const slug = session.title
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 60);
  return `${slug || "chat"}-${session.id.slice(0, 8)}.${extension}`;
}

/** A session and its messages as a Markdown transcript or as JSON `{ session, messages }`. */
export async function exportSession(db: Db, session: Session, format: "markdown" | "json") {
  const all = await allMessages(db, session.id);
  if (format === "json") {
    return { filename: filenameFor(session, "json"), content: JSON.stringify({ session, messages: all }, null, 2) };
  }
  const lines = [`# ${session.title || "Untitled chat"}`, ""];
  for (const m of all) {
    lines.push(`## ${m.role === "user" ? "User" : "Assistant"}`, "", m.content || "_(no content)_", "");
    m.references.forEach((r, i) => lines.push(`[${i + 1}] ${r.title} — ${r.source}`));
    if (m.references.length) lines.push("");
  }
  return { filename: filenameFor(session, "md"), content: lines.join("\n") };
}
