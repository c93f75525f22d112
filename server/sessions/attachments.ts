import { and, asc, count, eq, gt, inArray, lte } from "drizzle-orm";
import type { Db } from "../../db";
import { sessionAttachments } from "../../db/schema";
import type { Caller } from "../auth/accounts";
import { extractFileText } from "../knowledge/ingest";
import type { DocumentPool } from "../knowledge/documentPool";
import type { FileFormat } from "../knowledge/parse";
import { badInput, notFound } from "../platform/errors";
import { truncateToTokens } from "../platform/models/text";
import { getSession, lockOwnSession, type Access } from "./sessions";

/**
 * Files attached to a chat (WeKnora's temporary attachments): a .txt, .md, .html or .pdf file of
 * at most the document limit (MAX_DOCUMENT_BYTES), read in a document process like any document,
 * whose text is kept with the session. An answer whose request names some of them reads their text
 * as sources (`attachmentSources`, through AnswerOptions.attachmentIds). They go with their session
 * (by foreign key: every deletion path), or ATTACHMENT_TTL_MS after their upload, as WeKnora's do:
 * from then on no read sees them, and the retention sweep deletes them (`deleteExpiredAttachments`).
 *
 * Limits: a session holds at most MAX_ATTACHMENTS_PER_SESSION live attachments (the next upload is
 * bad input on `file` until one is deleted or expires); one answer reads at most
 * MAX_ATTACHMENTS_PER_ANSWER of them (WeKnora's limit per message), and at most
 * ATTACHMENT_CONTEXT_TOKENS of their text in all, shared equally (WeKnora's prompt budget).
 */

export const MAX_ATTACHMENTS_PER_SESSION = 20;
export const MAX_ATTACHMENTS_PER_ANSWER = 5;
export const ATTACHMENT_CONTEXT_TOKENS = 12_000;
/** WeKnora's default lifetime of a chat attachment (WEKNORA_CHAT_ATTACHMENT_TTL_HOURS). */
export const ATTACHMENT_TTL_MS = 24 * 3600_000;
/** More characters than any token of cl100k holds in practice: a safe first cut before counting tokens. */
const MAX_CHARS_PER_TOKEN = 16;
/** Expired attachments the sweep deletes per statement. */
const EXPIRED_BATCH = 1000;

export interface Attachment {
  id: string;
  sessionId: string;
  fileName: string;
  fileType: string;
  mimeType: string;
  fileSize: number;
  tokenCount: number;
  expiresAt: Date;
  createdAt: Date;
}

/** An attachment's text as an answer reads it: cut to its share of the budget. */
export interface AttachmentSource {
  id: string;
  fileName: string;
  content: string;
}

const attachmentColumns = {
  id: sessionAttachments.id,
  sessionId: sessionAttachments.sessionId,
  fileName: sessionAttachments.fileName,
  fileType: sessionAttachments.fileType,
  mimeType: sessionAttachments.mimeType,
  fileSize: sessionAttachments.fileSize,
  tokenCount: sessionAttachments.tokenCount,
  expiresAt: sessionAttachments.expiresAt,
  createdAt: sessionAttachments.createdAt,
};

const live = () => gt(sessionAttachments.expiresAt, new Date());

/**
 * Attaches a file to the caller's own session: its text is extracted (bounded, in a document
 * process) before the session is locked to count its attachments and store this one.
 */
export async function addAttachment(
  deps: { db: Db; documents: Pick<DocumentPool, "prepare"> },
  caller: Caller,
  sessionId: string,
  file: { fileName: string; bytes: Uint8Array; format: FileFormat },
): Promise<Attachment> {
  await getSession(deps.db, caller, sessionId, "own");
  const { text, tokenCount } = await extractFileText(deps.documents, file);
  return deps.db.transaction(async (tx) => {
    await lockOwnSession(tx, caller, sessionId);
    const [held] = await tx
      .select({ n: count() })
      .from(sessionAttachments)
      .where(and(eq(sessionAttachments.sessionId, sessionId), live()));
    if ((held?.n ?? 0) >= MAX_ATTACHMENTS_PER_SESSION) {
      throw badInput("file", `A chat holds at most ${MAX_ATTACHMENTS_PER_SESSION} attachments: delete one first`);
    }
    const [row] = await tx
      .insert(sessionAttachments)
      .values({
        sessionId,
        fileName: file.fileName,
        fileType: file.fileName.toLowerCase().match(/\.([a-z0-9]+)$/)?.[1] ?? "",
        // The format Parley read it as (its extension), not what the client claimed.
        mimeType: file.format,
        fileSize: file.bytes.byteLength,
        content: text,
        tokenCount,
        expiresAt: new Date(Date.now() + ATTACHMENT_TTL_MS),
      })
      .returning(attachmentColumns);
    return row!;
  });
}

/** The live attachments of a session the caller may reach (`access` as getSession), oldest first. */
export async function listAttachments(db: Db, caller: Caller, sessionId: string, access: Access = "tenant"): Promise<Attachment[]> {
  await getSession(db, caller, sessionId, access);
  return db
    .select(attachmentColumns)
    .from(sessionAttachments)
    .where(and(eq(sessionAttachments.sessionId, sessionId), live()))
    .orderBy(asc(sessionAttachments.createdAt), asc(sessionAttachments.id));
}

/** One live attachment of a session the caller may reach, with its text when asked; NOT_FOUND otherwise. */
export async function getAttachment(db: Db, caller: Caller, sessionId: string, id: string): Promise<Attachment & { content: string }> {
  await getSession(db, caller, sessionId, "tenant");
  const [row] = await db
    .select({ ...attachmentColumns, content: sessionAttachments.content })
    .from(sessionAttachments)
    .where(and(eq(sessionAttachments.id, id), eq(sessionAttachments.sessionId, sessionId), live()));
  if (!row) throw notFound("Attachment");
  return row;
}

/** Deletes an attachment of the caller's own session; NOT_FOUND when it has no such attachment. */
export async function deleteAttachment(db: Db, caller: Caller, sessionId: string, id: string): Promise<void> {
  await getSession(db, caller, sessionId, "own");
  const deleted = await db
    .delete(sessionAttachments)
    .where(and(eq(sessionAttachments.id, id), eq(sessionAttachments.sessionId, sessionId), live()))
    .returning({ id: sessionAttachments.id });
  if (deleted.length === 0) throw notFound("Attachment");
}

/**
 * The text an answer reads from the attachments its request names (in the order named, repeats
 * once): each a live attachment of `sessionId`, else bad input on `attachmentIds`, checked before
 * anything of the answer is stored. Each is cut to an equal share of ATTACHMENT_CONTEXT_TOKENS.
 */
export async function attachmentSources(db: Db, sessionId: string, ids: readonly string[]): Promise<AttachmentSource[]> {
  const named = [...new Set(ids)];
  if (named.length === 0) return [];
  if (named.length > MAX_ATTACHMENTS_PER_ANSWER) throw badInput("attachmentIds", `A question may use at most ${MAX_ATTACHMENTS_PER_ANSWER} attachments`);
  const rows = await db
    .select({ id: sessionAttachments.id, fileName: sessionAttachments.fileName, content: sessionAttachments.content })
    .from(sessionAttachments)
    .where(and(eq(sessionAttachments.sessionId, sessionId), inArray(sessionAttachments.id, named), live()));
  const byId = new Map(rows.map((r) => [r.id, r]));
  const share = Math.floor(ATTACHMENT_CONTEXT_TOKENS / named.length);
  return named.map((id) => {
    const row = byId.get(id);
    if (!row) throw badInput("attachmentIds", `Attachment ${id} is not in this chat (or has expired)`);
    // Cut by characters first (a token rarely spans more), so a long text is never tokenised whole here.
    return { id, fileName: row.fileName, content: truncateToTokens(row.content.slice(0, share * MAX_CHARS_PER_TOKEN), share) };
  });
}

/** Deletes attachments past their lifetime, a batch per statement; how many went. */
export async function deleteExpiredAttachments(db: Db): Promise<number> {
  let total = 0;
  for (;;) {
    const expired = db
      .select({ id: sessionAttachments.id })
      .from(sessionAttachments)
      .where(lte(sessionAttachments.expiresAt, new Date()))
      .limit(EXPIRED_BATCH);
    const gone = await db.delete(sessionAttachments).where(inArray(sessionAttachments.id, expired)).returning({ id: sessionAttachments.id });
    total += gone.length;
    if (gone.length < EXPIRED_BATCH) return total;
  }
}
