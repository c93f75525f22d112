import { randomBytes } from "node:crypto";
import { and, asc, count, desc, eq, isNull } from "drizzle-orm";
import type { Db } from "../../db";
import { messages, sessions, shares, tenants } from "../../db/schema";
import { sha256, type Caller } from "../auth/accounts";
import type { Reference, SharedMessage, SharedReference } from "../../common/settings";
import { AppError, badInput, notFound } from "../platform/errors";
import { getSession, lockOwnSession } from "./sessions";

/**
 * Share links (contract, "Folders, archive, sharing, …"): a copy of a session's active path as it
 * stood, read by anyone holding the link's token. The token is 256 random bits, shown once (in
 * `share.create`'s answer) and stored only as its SHA-256, like an API key; a link that is revoked,
 * whose session is gone or being deleted, or whose tenant has sharing off reads exactly like one
 * that never existed.
 */

/** A session has at most this many live (unrevoked) shares. */
export const MAX_LIVE_SHARES = 100;
/** A source's passage is shown up to about this many characters. */
const SNIPPET_CHARS = 300;

export interface Share {
  id: string;
  /** The link's secret: only in `share.create`'s answer (it is not stored), null everywhere else. */
  token: string | null;
  /** `<base>/share/<token>`, when the token is known (as `token`). */
  url: string | null;
  sessionId: string;
  title: string;
  messageCount: number;
  createdAt: Date;
  revokedAt: Date | null;
}

/** What anyone with a live link reads: the title, when it was shared, and the copied messages. */
export interface SharedConversation {
  title: string;
  createdAt: Date;
  messages: SharedMessage[];
}

const shareColumns = {
  id: shares.id,
  sessionId: shares.sessionId,
  title: shares.title,
  messageCount: shares.messageCount,
  createdAt: shares.createdAt,
  revokedAt: shares.revokedAt,
};
const withoutToken = (row: Omit<Share, "token" | "url">): Share => ({ ...row, token: null, url: null });

/** A passage cut to a snippet: whitespace folded, at most SNIPPET_CHARS, ending on a word where it can. */
export function snippetOf(content: string): string {
  const folded = content.replace(/\s+/g, " ").trim();
  if (folded.length <= SNIPPET_CHARS) return folded;
  const cut = folded.slice(0, SNIPPET_CHARS);
  const space = cut.lastIndexOf(" ");
  return `${space > SNIPPET_CHARS * 0.6 ? cut.slice(0, space) : cut}…`;
}

const sharedReference = (reference: Reference): SharedReference => ({ title: reference.title, snippet: snippetOf(reference.content) });

async function sharingEnabled(db: Db, tenantId: string): Promise<boolean> {
  const [tenant] = await db.select({ on: tenants.sharingEnabled }).from(tenants).where(eq(tenants.id, tenantId));
  return tenant?.on ?? false;
}

/**
 * `share.create`: copies the active path of the caller's own session as it stands: completed
 * messages only (an answer still streaming, stopped or failed is left out), each source as its
 * title and a snippet, and the session's title; nothing else of the session or its owner.
 * FORBIDDEN while the tenant has sharing off; a temporary chat is never shared (BAD_REQUEST).
 */
export async function createShare(db: Db, caller: Caller, sessionId: string, baseUrl: string): Promise<Share> {
  if (!(await sharingEnabled(db, caller.tenant.id))) throw new AppError("forbidden", "Sharing is turned off in your organisation");
  const token = randomBytes(32).toString("base64url");
  const row = await db.transaction(async (tx) => {
    // Held until the copy is stored: no message lands in the path meanwhile, and the count of live shares stays true.
    await lockOwnSession(tx, caller, sessionId);
    const session = await getSession(tx, caller, sessionId, "own");
    if (session.temporary) throw badInput("sessionId", "A temporary chat cannot be shared; keep it first");
    const [{ live } = { live: 0 }] = await tx
      .select({ live: count() })
      .from(shares)
      .where(and(eq(shares.sessionId, sessionId), isNull(shares.revokedAt)));
    if (live >= MAX_LIVE_SHARES) throw badInput("sessionId", `A session has at most ${MAX_LIVE_SHARES} live shares; revoke one first`);
    const path = await tx
      .select({ role: messages.role, content: messages.content, references: messages.references, createdAt: messages.createdAt })
      .from(messages)
      .where(and(eq(messages.sessionId, sessionId), eq(messages.onActivePath, true), eq(messages.status, "completed")))
      .orderBy(asc(messages.createdAt), asc(messages.id));
    const copied: SharedMessage[] = path.map((m) => ({ role: m.role, content: m.content, references: m.references.map(sharedReference), createdAt: m.createdAt.toISOString() }));
    const [inserted] = await tx
      .insert(shares)
      .values({ tenantId: caller.tenant.id, userId: caller.user.id, sessionId, tokenHash: sha256(token), title: session.title, messages: copied, messageCount: copied.length })
      .returning(shareColumns);
    return inserted!; // insert … returning gives the row inserted
  });
  return { ...row, token, url: `${baseUrl}/share/${token}` };
}

/** `share.list`: the caller's shares (of one of their sessions, NOT_FOUND if it is not theirs), newest first, revoked ones included. */
export async function listShares(db: Db, caller: Caller, sessionId?: string): Promise<{ items: Share[] }> {
  if (sessionId) await getSession(db, caller, sessionId, "own");
  const rows = await db
    .select(shareColumns)
    .from(shares)
    .where(and(eq(shares.userId, caller.user.id), eq(shares.tenantId, caller.tenant.id), sessionId ? eq(shares.sessionId, sessionId) : undefined))
    .orderBy(desc(shares.createdAt), desc(shares.id));
  return { items: rows.map(withoutToken) };
}

/** `share.revoke`: the caller's own share (NOT_FOUND otherwise) stops working for good; revoking again changes nothing. */
export async function revokeShare(db: Db, caller: Caller, id: string): Promise<Share> {
  const mine = and(eq(shares.id, id), eq(shares.userId, caller.user.id), eq(shares.tenantId, caller.tenant.id));
  const [revoked] = await db.update(shares).set({ revokedAt: new Date() }).where(and(mine, isNull(shares.revokedAt))).returning(shareColumns);
  if (revoked) return withoutToken(revoked);
  const [already] = await db.select(shareColumns).from(shares).where(mine);
  if (!already) throw notFound("Share");
  return withoutToken(already);
}

/** What a token may look like: 32 random bytes in base64url. Anything else is unknown without asking the database. */
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

/**
 * The conversation a live link shows; null for any token that shows nothing (malformed, unknown,
 * revoked, its session deleted or being deleted, its tenant's sharing off), all alike.
 */
export async function readShare(db: Db, token: string): Promise<SharedConversation | null> {
  if (!TOKEN.test(token)) return null;
  const [row] = await db
    .select({ title: shares.title, createdAt: shares.createdAt, messages: shares.messages })
    .from(shares)
    .innerJoin(sessions, eq(sessions.id, shares.sessionId))
    .innerJoin(tenants, eq(tenants.id, shares.tenantId))
    .where(and(eq(shares.tokenHash, sha256(token)), isNull(shares.revokedAt), isNull(sessions.deletingAt), eq(tenants.sharingEnabled, true)));
  return row ?? null;
}
