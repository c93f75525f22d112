import { and, asc, desc, eq, getTableName, inArray, isNull, lt, sql, type SQL } from "drizzle-orm";
import { alias, type AnyPgColumn } from "drizzle-orm/pg-core";
import type { Db } from "../../db";
import { messages, sessions } from "../../db/schema";
import type { Caller } from "../auth/accounts";
import type { Reference } from "../../common/settings";
import { AppError, badInput, notFound } from "../platform/errors";
import type { HistoryMessage } from "../chat/llmContext";
import { selectRows } from "../knowledge/rows";
import { bumpContextVersion, getSession, lockOwnSession, sessionColumns, visibleWhere, type Session } from "./sessions";
import type { Keys } from "../platform/store/keys";
import type { Store } from "../platform/store/types";

/** A message's columns as stored (what an insert returns). */
export const messageRowColumns = {
  id: messages.id,
  sessionId: messages.sessionId,
  requestId: messages.requestId,
  role: messages.role,
  content: messages.content,
  status: messages.status,
  references: messages.references,
  model: messages.model,
  parentId: messages.parentId,
  channel: messages.channel,
  rating: messages.rating,
  feedbackReason: messages.feedbackReason,
  createdAt: messages.createdAt,
  updatedAt: messages.updatedAt,
};

/** A column named with its table, as the outer row inside a subquery (Drizzle leaves a one-table select's columns bare). */
const qualified = (column: AnyPgColumn) => sql.raw(`"${getTableName(column.table)}"."${column.name}"`);

/**
 * `[index, count]` of a message among its siblings (the messages of its session that share its
 * parent, in creation order). Two index ranges with one-time filters, as `parent_id = null` would
 * match nothing and `is not distinct from` uses no index.
 */
const siblingsColumn = sql<[number, number]>`(select json_build_array(count(*) filter (where (s.created_at, s.id) <= (${qualified(messages.createdAt)}, ${qualified(messages.id)})), count(*)) from (
    select s.created_at, s.id from ${messages} s
      where ${qualified(messages.parentId)} is not null and s.session_id = ${qualified(messages.sessionId)} and s.parent_id = ${qualified(messages.parentId)}
    union all
    select s.created_at, s.id from ${messages} s
      where ${qualified(messages.parentId)} is null and s.session_id = ${qualified(messages.sessionId)} and s.parent_id is null) s)`;

/** A message's columns with its place among its siblings: what `toMessage` makes a Message of. */
export const messageColumns = { ...messageRowColumns, siblings: siblingsColumn };

export interface Feedback {
  rating: "up" | "down";
  reason: string | null;
}

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
  /** The message before it on its path (null for a first question). */
  parentId: string | null;
  /** Where its question was asked (\`web\`, \`api\`, or what a WeKnora client sent). */
  channel: string;
  /** Its place (1-based) among the messages that share its parent, in creation order. */
  siblings: { index: number; count: number };
  /** The session owner's rating of an answer. */
  feedback: Feedback | null;
  createdAt: Date;
  updatedAt: Date;
}

/** A message as stored, its feedback in two columns. */
export type MessageRow = Omit<Message, "siblings" | "feedback"> & { rating: Feedback["rating"] | null; feedbackReason: string | null };

/** A stored row (with its siblings, selected or known) as callers see it. */
export function toMessage({ rating, feedbackReason, siblings, ...row }: MessageRow & { siblings: readonly [number, number] }): Message {
  return {
    ...row,
    siblings: { index: Number(siblings[0]), count: Number(siblings[1]) },
    feedback: rating ? { rating, reason: feedbackReason } : null,
  };
}

/** At most this many messages share a parent: beyond it, regenerate and edit are BAD_REQUEST. */
export const MAX_SIBLINGS = 100;

const onActivePath = sql`${messages.onActivePath}`;

/** The page of the session's active path before `before` (or its newest), returned oldest first. */
export async function listMessages(db: Db, sessionId: string, options: { before?: Date; limit: number }) {
  // `onActivePath` as a bare column, so the planner matches the partial index on it.
  const where = and(eq(messages.sessionId, sessionId), onActivePath, options.before ? lt(messages.createdAt, options.before) : undefined);
  const rows = await db
    .select(messageColumns)
    .from(messages)
    .where(where)
    .orderBy(desc(messages.createdAt), desc(messages.id))
    .limit(options.limit + 1);
  const hasMore = rows.length > options.limit;
  return { items: rows.slice(0, options.limit).reverse().map(toMessage), hasMore };
}

/** Every message of the session, of every branch, in creation order. */
async function allMessages(db: Db, sessionId: string, path: "active" | "all"): Promise<Message[]> {
  const rows = await db
    .select(messageColumns)
    .from(messages)
    .where(and(eq(messages.sessionId, sessionId), path === "active" ? onActivePath : undefined))
    .orderBy(asc(messages.createdAt), asc(messages.id));
  return rows.map(toMessage);
}

/** The stored conversation the LLM context is rebuilt from on a cache miss: the active path only. */
export async function loadHistory(db: Db, sessionId: string): Promise<HistoryMessage[]> {
  const rows = await db
    .select({ role: messages.role, content: messages.content, tokens: messages.tokenCount })
    .from(messages)
    .where(and(eq(messages.sessionId, sessionId), onActivePath, inArray(messages.status, ["completed", "stopped"])))
    .orderBy(asc(messages.createdAt), asc(messages.id));
  return rows.filter((m) => m.content !== "").map(({ tokens, ...m }) => (tokens === null ? m : { ...m, tokens }));
}

/** The session's context version (see context.ts), or null when there is no such session. */
export async function contextVersion(db: Db, sessionId: string): Promise<number | null> {
  const [row] = await db.select({ version: sessions.contextVersion }).from(sessions).where(eq(sessions.id, sessionId));
  return row?.version ?? null;
}

/** The first question of the session's active path, or null before it has one. */
export async function firstQuestion(db: Db, sessionId: string): Promise<string | null> {
  const [first] = await db
    .select({ content: messages.content })
    .from(messages)
    .where(and(eq(messages.sessionId, sessionId), onActivePath, eq(messages.role, "user")))
    .orderBy(asc(messages.createdAt), asc(messages.id))
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

/**
 * A session as a Markdown transcript of its active path, or as JSON `{ session, messages }` with
 * every message of every branch (each with its `parentId`; the session names its `activeLeafId`).
 */
export async function exportSession(db: Db, session: Session, format: "markdown" | "json") {
  if (format === "json") {
    const all = await allMessages(db, session.id, "all");
    return { filename: filenameFor(session, "json"), content: JSON.stringify({ session, messages: all }, null, 2) };
  }
  const lines = [`# ${session.title || "Untitled chat"}`, ""];
  for (const m of await allMessages(db, session.id, "active")) {
    lines.push(`## ${m.role === "user" ? "User" : "Assistant"}`, "", m.content || "_(no content)_", "");
    m.references.forEach((r, i) => lines.push(`[${i + 1}] ${r.title} — ${r.source}`));
    if (m.references.length) lines.push("");
  }
  return { filename: filenameFor(session, "md"), content: lines.join("\n") };
}

/**
 * Deletes exactly one message of the caller's own session (WeKnora's one-message delete), refusing
 * while it, or an answer to it, streams. What followed it stays: its children move up to its
 * parent, and so does the active leaf if it was the leaf. The session's LLM context is dropped so
 * the next answer rebuilds it from what remains; an answer's stream goes too.
 */
export async function deleteMessage(
  deps: { db: Db; store: Pick<Store, "del">; keys: Pick<Keys, "context" | "stream"> },
  caller: Caller,
  sessionId: string,
  messageId: string,
): Promise<void> {
  await deps.db.transaction(async (tx) => {
    await lockOwnSession(tx, caller, sessionId);
    const [target] = await tx.select({ status: messages.status }).from(messages).where(and(eq(messages.id, messageId), eq(messages.sessionId, sessionId)));
    if (!target) throw notFound("Message");
    const [streamingChild] = await tx
      .select({ id: messages.id })
      .from(messages)
      .where(and(eq(messages.sessionId, sessionId), eq(messages.parentId, messageId), eq(messages.status, "streaming")))
      .limit(1);
    if (target.status === "streaming" || streamingChild) throw new AppError("conflict", "This answer is still streaming; stop it first");
    await removeFromTree(tx, sessionId, [messageId]);
    await bumpContextVersion(tx, sessionId);
  });
  try {
    await deps.store.del(deps.keys.context(sessionId), deps.keys.stream(sessionId, messageId));
  } catch (error) {
    // Postgres is the record; a context left behind expires with its TTL.
    console.error("[parley] could not drop the LLM context after deleting a message:", (error as Error).message);
  }
}

// --- the tree: the active path, forks and their choices, feedback ---

/**
 * How many messages of the session have `parentId` as their parent (`null`: first questions), as
 * SQL over columns or values: two index ranges with one-time filters (see siblingsColumn).
 */
const childCount = (sessionId: SQL, parentId: SQL) => sql<number>`(select count(*)::int from (
    select 1 from ${messages} c where ${parentId} is not null and c.session_id = ${sessionId} and c.parent_id = ${parentId}
    union all
    select 1 from ${messages} c where ${parentId} is null and c.session_id = ${sessionId} and c.parent_id is null) c)`;

export interface ActiveLeaf {
  id: string | null;
  createdAt: Date | null;
  /** Messages whose parent is the leaf: a new question becomes the next of them. */
  children: number;
}

/**
 * Locks the session's row until the transaction `tx` ends, so its tree changes one change at a
 * time, and returns its active leaf. (The caller has checked the session is the caller's.) A
 * session whose deletion has started is NOT_FOUND: nothing is added to it any more.
 */
export async function lockActiveLeaf(tx: Db, sessionId: string): Promise<ActiveLeaf> {
  const leaf = alias(messages, "leaf");
  const [row] = await tx
    .select({ id: sessions.activeLeafId, createdAt: leaf.createdAt, children: childCount(qualified(sessions.id), qualified(sessions.activeLeafId)) })
    .from(sessions)
    .leftJoin(leaf, eq(leaf.id, sessions.activeLeafId))
    .where(and(eq(sessions.id, sessionId), isNull(sessions.deletingAt)))
    .for("update", { of: sessions });
  if (!row) throw notFound("Session");
  return row;
}

/** A creation time after `parentCreatedAt`, so along a path creation order is the path's order whatever an instance's clock says. */
const createdAfter = (parentCreatedAt: Date | null, now = new Date()) =>
  parentCreatedAt && parentCreatedAt.getTime() >= now.getTime() ? new Date(parentCreatedAt.getTime() + 1) : now;

/**
 * Makes the active path run from the root to `lastId` (null: no message), in `tx`, and points the
 * session at it: the messages from `lastId` up to where it meets the current path join it, each
 * becoming its fork's latest choice; those of the current path below that point leave it (keeping
 * their own choices). Only what changes is written. The session's cached LLM context (of the old
 * path) is not used again.
 */
export async function moveActivePath(tx: Db, sessionId: string, lastId: string | null): Promise<Session> {
  await tx.execute(sql`
    with recursive up as (
      select id, parent_id, on_active_path, created_at from ${messages} where session_id = ${sessionId} and id = ${lastId}
      union all
      select m.id, m.parent_id, m.on_active_path, m.created_at from up join ${messages} m on m.session_id = ${sessionId} and m.id = up.parent_id
      where not up.on_active_path
    ),
    meet as (select created_at, id from up where on_active_path),
    changed as (
      select id, true as joins from up where not on_active_path
      union all
      -- Along the path creation order is path order: what comes after the meeting point leaves.
      select m.id, false from ${messages} m where m.session_id = ${sessionId} and m.on_active_path
        and not exists (select 1 from meet where (m.created_at, m.id) <= (meet.created_at, meet.id))
    )
    update ${messages} m set on_active_path = changed.joins, chosen_at = case when changed.joins then clock_timestamp() else m.chosen_at end
    from changed where m.session_id = ${sessionId} and m.id = changed.id`);
  const [row] = await tx
    .update(sessions)
    .set({ activeLeafId: lastId, contextVersion: sql`${sessions.contextVersion} + 1` })
    .where(eq(sessions.id, sessionId))
    .returning(sessionColumns);
  return row!; // the caller holds the row's lock
}

/** A message to add to the tree (its parent, path and session are `appendToPath`'s). */
export type NewMessage = Pick<typeof messages.$inferInsert, "id" | "requestId" | "role" | "content" | "status" | "model" | "tokenCount" | "channel">;

/**
 * Appends `chain` (each message the parent of the next) under `parent`, the end of the active
 * path, in `tx`; the session's leaf becomes the last of them and (unless `touch` is false) the
 * session moves to the top of its list, out of the archive if it was archived (sending in an
 * archived session restores it), and a temporary chat's expiry moves with its activity. Each is
 * created after the one before it (from `at`), whatever this instance's clock.
 */
export async function appendToPath(
  tx: Db,
  session: Pick<Session, "id" | "tenantId" | "userId">,
  parent: { id: string | null; createdAt: Date | null },
  chain: NewMessage[],
  { at = new Date(), touch = true }: { at?: Date; touch?: boolean } = {},
): Promise<MessageRow[]> {
  const rows: MessageRow[] = [];
  let above = parent;
  for (const message of chain) {
    const createdAt = createdAfter(above.createdAt, at);
    const [row] = await tx
      .insert(messages)
      .values({ ...message, sessionId: session.id, tenantId: session.tenantId, userId: session.userId, parentId: above.id, onActivePath: true, createdAt, updatedAt: createdAt })
      .returning(messageRowColumns);
    rows.push(row!); // insert … returning gives the one row inserted
    above = row!;
  }
  const last = rows.at(-1);
  if (last) await tx.update(sessions).set({ activeLeafId: last.id, ...(touch && { updatedAt: last.createdAt, archivedAt: null }) }).where(eq(sessions.id, session.id));
  return rows;
}

/** The leaf reached from `messageId` by following each fork's latest choice down. */
async function leafBelow(tx: Db, sessionId: string, messageId: string): Promise<string> {
  const rows = await selectRows<{ id: string }>(tx, sql`
    with recursive down as (
      select ${messageId}::uuid as id, 0 as depth
      union all
      select c.id, down.depth + 1 from down cross join lateral (
        select id from ${messages} where session_id = ${sessionId} and parent_id = down.id order by chosen_at desc, id desc limit 1) c
    )
    select id from down order by depth desc limit 1`);
  return rows[0]?.id ?? messageId;
}

/**
 * `message.switchBranch`, in `tx` (the session's answer lock held by the caller): the active path
 * goes through `messageId` and on down each fork's latest choice to a leaf.
 */
export async function switchActivePath(tx: Db, sessionId: string, messageId: string): Promise<Session> {
  await lockActiveLeaf(tx, sessionId);
  const [target] = await tx.select({ id: messages.id }).from(messages).where(and(eq(messages.sessionId, sessionId), eq(messages.id, messageId)));
  if (!target) throw notFound("Message");
  return moveActivePath(tx, sessionId, await leafBelow(tx, sessionId, messageId));
}

/** A message a new sibling is made for (regenerate, edit), with its parent. */
export interface BranchPoint {
  id: string;
  role: Message["role"];
  parent: { id: string; role: Message["role"]; content: string; tokenCount: number | null; createdAt: Date } | null;
}

/** The message of the session to branch from, or NOT_FOUND. */
export async function branchPoint(db: Db, sessionId: string, messageId: string): Promise<BranchPoint> {
  const parent = alias(messages, "parent");
  const [row] = await db
    .select({
      id: messages.id,
      role: messages.role,
      parentId: parent.id,
      parentRole: parent.role,
      parentContent: parent.content,
      parentTokens: parent.tokenCount,
      parentCreatedAt: parent.createdAt,
    })
    .from(messages)
    .leftJoin(parent, and(eq(parent.sessionId, messages.sessionId), eq(parent.id, messages.parentId)))
    .where(and(eq(messages.sessionId, sessionId), eq(messages.id, messageId)));
  if (!row) throw notFound("Message");
  const parentOf =
    row.parentId && row.parentRole && row.parentCreatedAt
      ? { id: row.parentId, role: row.parentRole, content: row.parentContent ?? "", tokenCount: row.parentTokens, createdAt: row.parentCreatedAt }
      : null;
  return { id: row.id, role: row.role, parent: parentOf };
}

/** How many messages share `parentId` (null: the first questions) in the session, refusing a new one past MAX_SIBLINGS. */
export async function roomForSibling(tx: Db, sessionId: string, parentId: string | null): Promise<number> {
  const [row] = await tx.select({ n: childCount(sql`${sessionId}::uuid`, sql`${parentId}::uuid`) }).from(sql`(select 1) one`);
  const n = row?.n ?? 0;
  if (n >= MAX_SIBLINGS) throw badInput("messageId", `A message has at most ${MAX_SIBLINGS} versions; this one has them all`);
  return n;
}

/**
 * Removes messages from the session's tree in `tx`: their children move up to their nearest
 * remaining ancestor, and so does the active leaf if it was one of them.
 */
async function removeFromTree(tx: Db, sessionId: string, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  const rows = await tx.select({ id: messages.id, parentId: messages.parentId }).from(messages).where(and(eq(messages.sessionId, sessionId), inArray(messages.id, ids)));
  const parentOf = new Map(rows.map((r) => [r.id, r.parentId]));
  const survivor = (id: string | null): string | null => (id !== null && parentOf.has(id) ? survivor(parentOf.get(id)!) : id);
  for (const id of ids) {
    await tx.update(messages).set({ parentId: survivor(id) }).where(and(eq(messages.sessionId, sessionId), eq(messages.parentId, id)));
  }
  const [session] = await tx.select({ leafId: sessions.activeLeafId }).from(sessions).where(eq(sessions.id, sessionId));
  if (session?.leafId && parentOf.has(session.leafId)) {
    await tx.update(sessions).set({ activeLeafId: survivor(session.leafId) }).where(eq(sessions.id, sessionId));
  }
  await tx.delete(messages).where(and(eq(messages.sessionId, sessionId), inArray(messages.id, ids)));
}

/** Checks that the caller may read session `sessionId` (admins: any of their tenant's) and that `messageId` is one of its messages; else NOT_FOUND. */
export async function assertMessageOfSession(db: Db, caller: Caller, sessionId: string, messageId: string): Promise<void> {
  await getSession(db, caller, sessionId, "tenant");
  const [row] = await db.select({ id: messages.id }).from(messages).where(and(eq(messages.id, messageId), eq(messages.sessionId, sessionId)));
  if (!row) throw notFound("Message");
}

/** A message of a session the caller may read (admins: any of their tenant's), with its session's owner. */
async function readableMessage(db: Db, caller: Caller, messageId: string) {
  const [row] = await db
    .select({ id: messages.id, sessionId: messages.sessionId, parentId: messages.parentId, role: messages.role, ownerId: sessions.userId })
    .from(messages)
    .innerJoin(sessions, eq(sessions.id, messages.sessionId))
    .where(and(eq(messages.id, messageId), visibleWhere(caller, "tenant")));
  if (!row) throw notFound("Message");
  return row;
}

/** `message.siblings`: the messages that share this one's parent (itself included), in order. */
export async function listSiblings(db: Db, caller: Caller, messageId: string): Promise<{ items: Message[] }> {
  const { sessionId, parentId } = await readableMessage(db, caller, messageId);
  const rows = await db
    .select(messageColumns)
    .from(messages)
    .where(and(eq(messages.sessionId, sessionId), parentId === null ? sql`${messages.parentId} is null` : eq(messages.parentId, parentId)))
    .orderBy(asc(messages.createdAt), asc(messages.id));
  return { items: rows.map(toMessage) };
}

/**
 * `message.rate`: the session owner's rating of an answer (a new one replaces it; null removes
 * it). Another reader of the session is FORBIDDEN; a question is BAD_REQUEST.
 */
export async function rateMessage(db: Db, caller: Caller, input: { messageId: string; rating: Feedback["rating"] | null; reason?: string | null }): Promise<Message> {
  const target = await readableMessage(db, caller, input.messageId);
  if (target.ownerId !== caller.user.id) throw new AppError("forbidden", "Only the session's owner rates its answers");
  if (target.role !== "assistant") throw badInput("messageId", "Only answers can be rated");
  const reason = input.reason?.trim() || null;
  const [row] = await db
    .update(messages)
    .set(input.rating ? { rating: input.rating, feedbackReason: reason, ratedAt: new Date() } : { rating: null, feedbackReason: null, ratedAt: null })
    .where(eq(messages.id, target.id))
    .returning(messageColumns);
  return toMessage(row!);
}
