import { v7 as uuidv7 } from "uuid";
import { and, count, desc, eq, inArray, isNotNull, isNull, sql, type SQL } from "drizzle-orm";
import { z } from "zod";
import type { Db } from "../../db";
import { messages, sessions, users } from "../../db/schema";
import { DEFAULT_TENANT, isAdmin, type Caller } from "../auth/accounts";
import {
  agentConfigSchema,
  contextConfigSchema,
  strategySchema,
  summaryParametersSchema,
  type AgentConfig,
  type ContextConfig,
  type SessionInput,
  type Strategy,
  type SummaryParameters,
} from "../../common/settings";
import { badInput, notFound } from "../platform/errors";
import { isStorableTime, isUuid } from "../../common/inputs";
import { handbookBaseId } from "../knowledge/handbookBase";
import { allBasesOfTenant, basesOfTenant } from "../knowledge/repository";
import { hasHan, segmentWords, tsQueryOperand } from "../../common/segment";
import { assertFolder } from "./folders";

export const sessionColumns = {
  id: sessions.id,
  tenantId: sessions.tenantId,
  userId: sessions.userId,
  title: sessions.title,
  description: sessions.description,
  knowledgeBaseId: sessions.knowledgeBaseId,
  pinned: sessions.pinned,
  pinnedAt: sessions.pinnedAt,
  strategy: sessions.strategy,
  summaryParameters: sessions.summaryParameters,
  agentConfig: sessions.agentConfig,
  contextConfig: sessions.contextConfig,
  activeLeafId: sessions.activeLeafId,
  folderId: sessions.folderId,
  archivedAt: sessions.archivedAt,
  temporary: sql<boolean>`${sessions.temporaryLifetime} is not null`,
  // Null for an ordinary session (null + interval is null).
  expiresAt: sql<Date | null>`${sessions.updatedAt} + ${sessions.temporaryLifetime}`.mapWith(sessions.updatedAt),
  createdAt: sessions.createdAt,
  updatedAt: sessions.updatedAt,
};
/**
 * A session as callers see it: the row less its order and search columns. Spelled out rather than
 * inferred from the table so the SDK's declarations carry no Drizzle types; the queries that return
 * it check the row against it.
 */
export interface Session {
  id: string;
  tenantId: string;
  userId: string;
  title: string;
  description: string;
  knowledgeBaseId: string | null;
  pinned: boolean;
  pinnedAt: Date | null;
  strategy: Strategy;
  summaryParameters: SummaryParameters;
  agentConfig: AgentConfig;
  contextConfig: ContextConfig;
  /** The last message of the conversation shown and continued: its path from the root is the active path. */
  activeLeafId: string | null;
  /** The owner's folder it is in (null: none). */
  folderId: string | null;
  /** When it was archived (null: listed as usual). */
  archivedAt: Date | null;
  /** A temporary chat: never listed, searched, shared or counted, deleted at `expiresAt`. */
  temporary: boolean;
  /** When a temporary chat is deleted unless it sees activity first (null: an ordinary session). */
  expiresAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * Who may reach a session: `own` for its owner only (chatting, editing), `tenant` additionally
 * lets admins and owners read or delete any session of their tenant.
 */
export type Access = "own" | "tenant";

/** A session being deleted is gone for every reader from the moment its deletion starts (see removal.ts). */
const notDeleting = isNull(sessions.deletingAt);

export function visibleWhere(caller: Caller, access: Access): SQL {
  const tenantWall = and(eq(sessions.tenantId, caller.tenant.id), notDeleting)!;
  return access === "tenant" && isAdmin(caller.user) ? tenantWall : and(tenantWall, eq(sessions.userId, caller.user.id))!;
}

/**
 * `visibleWhere`'s rule for a session known from elsewhere (the store, chat/answerAccess.ts): its
 * tenant's, and the caller's own unless an admin reads with `tenant` access. The session being
 * deleted is not asked here: its deletion removes what the store held about it first (removal.ts).
 */
export function mayReach(caller: Caller, session: { tenantId: string; userId: string }, access: Access): boolean {
  if (session.tenantId !== caller.tenant.id) return false;
  return (access === "tenant" && isAdmin(caller.user)) || session.userId === caller.user.id;
}

/** The session if the caller may reach it; anything else (absent, foreign, someone else's) is NOT_FOUND. */
export async function getSession(db: Db, caller: Caller, id: string, access: Access = "tenant"): Promise<Session> {
  const [row] = await db
    .select(sessionColumns)
    .from(sessions)
    .where(and(eq(sessions.id, id), visibleWhere(caller, access)))
    .limit(1);
  if (!row) throw notFound("Session");
  return row;
}

/**
 * The knowledge settings of a session being created or updated, checked against the caller's
 * tenant: naming a base the tenant does not have is BAD_REQUEST on that field (so a session can
 * never point at another tenant's base). A new session of tenant `default` that names no base
 * gets the Parley handbook; `knowledgeBaseId: null` asks for none.
 */
async function withSessionKnowledge(db: Db, caller: Caller, input: SessionInput, creating: boolean): Promise<SessionInput> {
  if (input.knowledgeBaseId) {
    const [known] = await basesOfTenant(db, caller.tenant.id, [input.knowledgeBaseId]);
    if (!known) throw badInput("knowledgeBaseId", "There is no knowledge base with this id in your tenant");
  }
  if (!(await allBasesOfTenant(db, caller.tenant.id, input.agentConfig?.knowledgeBases ?? []))) {
    throw badInput("agentConfig", "agentConfig.knowledgeBases names a knowledge base your tenant does not have");
  }
  if (creating && input.knowledgeBaseId === undefined && caller.tenant.name === DEFAULT_TENANT) {
    return { ...input, knowledgeBaseId: await handbookBaseId(db, caller.tenant.id) };
  }
  return input;
}

/** Every column session.create sets, as a placeholder of the same name. */
const insertedColumns = [
  "id",
  "tenantId",
  "userId",
  "title",
  "description",
  "knowledgeBaseId",
  "strategy",
  "summaryParameters",
  "agentConfig",
  "contextConfig",
  "folderId",
  "temporaryLifetime",
] as const;
type InsertedSession = Pick<typeof sessions.$inferInsert, (typeof insertedColumns)[number]>;

function prepareSessionInsert(db: Db) {
  const values = Object.fromEntries(insertedColumns.map((column) => [column, sql.placeholder(column)]));
  return db.insert(sessions).values(values as never).returning(sessionColumns).prepare("session_create");
}
/** session.create's INSERT, built once per database: building it costs more CPU than its round trip. */
const sessionInserts = new WeakMap<Db, ReturnType<typeof prepareSessionInsert>>();

/** Where a new session goes besides its settings: a folder of the caller's, or a temporary chat that lives `temporaryHours` after its last activity. */
export interface Placement {
  folderId?: string | null;
  temporaryHours?: number;
}

/** A lifetime as Postgres reads an interval, to the millisecond (so `expiresAt` is a JS Date exactly). */
const lifetimeOf = (hours: number) => `${Math.round(hours * 3_600_000)} milliseconds`;

export async function createSession(db: Db, caller: Caller, given: SessionInput, placement: Placement = {}): Promise<Session> {
  const input = await withSessionKnowledge(db, caller, given, true);
  if (placement.folderId) await assertFolder(db, caller, placement.folderId);
  let insert = sessionInserts.get(db);
  if (!insert) sessionInserts.set(db, (insert = prepareSessionInsert(db)));
  const values: InsertedSession = {
    // Time-ordered (and monotonic within the instance): sessions updated in the same millisecond
    // list newest first by their id, the list's tie-break, not at random.
    id: uuidv7(),
    tenantId: caller.tenant.id,
    userId: caller.user.id,
    title: input.title ?? "",
    description: input.description ?? "",
    knowledgeBaseId: input.knowledgeBaseId ?? null,
    ...mergeConfigs({}, input),
    folderId: placement.folderId ?? null,
    temporaryLifetime: placement.temporaryHours === undefined ? null : lifetimeOf(placement.temporaryHours),
  };
  const [row] = await insert.execute(values);
  return row!; // insert … returning gives the one row inserted
}

const configSchemas = {
  strategy: strategySchema,
  summaryParameters: summaryParametersSchema,
  agentConfig: agentConfigSchema,
  contextConfig: contextConfigSchema,
};
type Configs = Pick<Session, keyof typeof configSchemas>;

/**
 * The one place a session's configs are built, on create (from nothing) and on update (from the
 * stored ones): a partial change sets only the fields it gives a value (an explicit `undefined`, as
 * superjson carries it, changes nothing), and the result is parsed with the full schema, which
 * fills a field a stored config lacks with its default and refuses a result out of its limits
 * (BAD_REQUEST on that config). What is stored always has the contract's shape.
 */
function mergeConfigs(current: Partial<Configs>, patch: SessionInput): Configs {
  const merged = {} as Record<keyof Configs, unknown>;
  for (const [name, schema] of Object.entries(configSchemas) as [keyof Configs, z.ZodType][]) {
    const given = Object.entries(patch[name] ?? {}).filter(([, value]) => value !== undefined);
    const result = schema.safeParse({ ...current[name], ...Object.fromEntries(given) });
    if (!result.success) throw badInput(name, `${name}: ${z.prettifyError(result.error).replaceAll("\n", " ")}`);
    merged[name] = result.data;
  }
  return merged as Configs;
}

/** What session.update changes besides the settings: pin, archive and folder (each independent of the others), and `temporary: false` keeps a temporary chat. */
export interface SessionUpdate extends SessionInput {
  pinned?: boolean;
  archived?: boolean;
  folderId?: string | null;
  temporary?: false;
}

export async function updateSession(db: Db, caller: Caller, id: string, input: SessionUpdate): Promise<Session> {
  await withSessionKnowledge(db, caller, input, false);
  if (input.folderId) await assertFolder(db, caller, input.folderId);
  return db.transaction(async (tx) => {
    const [current] = await tx
      .select(sessionColumns)
      .from(sessions)
      .where(and(eq(sessions.id, id), visibleWhere(caller, "own")))
      .for("update");
    if (!current) throw notFound("Session");
    const now = new Date();
    const pin =
      input.pinned === undefined || input.pinned === current.pinned
        ? {}
        : { pinned: input.pinned, pinnedAt: input.pinned ? now : null };
    const archive =
      input.archived === undefined || input.archived === (current.archivedAt !== null) ? {} : { archivedAt: input.archived ? now : null };
    const [row] = await tx
      .update(sessions)
      .set({
        ...pin,
        ...archive,
        ...(input.folderId !== undefined && { folderId: input.folderId }),
        ...(input.temporary === false && { temporaryLifetime: null }),
        ...(input.title !== undefined && { title: input.title }),
        ...(input.description !== undefined && { description: input.description }),
        ...(input.knowledgeBaseId !== undefined && { knowledgeBaseId: input.knowledgeBaseId }),
        ...mergeConfigs(current, input),
        updatedAt: now,
      })
      .where(eq(sessions.id, id))
      .returning(sessionColumns);
    return row!; // the row is there: this transaction holds its lock
  });
}

/** Stores a title without moving the session in the list (a title is not user activity). */
export async function setTitle(db: Db, sessionId: string, title: string): Promise<void> {
  await db.update(sessions).set({ title }).where(eq(sessions.id, sessionId));
}

/**
 * The first title of a session still untitled; false when it has one by now (set by its owner,
 * say), or is being deleted (so a late title writes nothing to a stream that is going).
 */
export async function setTitleIfUntitled(db: Db, sessionId: string, title: string): Promise<boolean> {
  const rows = await db
    .update(sessions)
    .set({ title })
    .where(and(eq(sessions.id, sessionId), eq(sessions.title, ""), notDeleting))
    .returning({ id: sessions.id });
  return rows.length > 0;
}

/** Moves a session to the top of its owner's list (`db` may be a transaction). */
export async function touchSession(db: Db, sessionId: string, at: Date): Promise<void> {
  await db.update(sessions).set({ updatedAt: at }).where(eq(sessions.id, sessionId));
}

// --- deleting (the steps and their order are removal.ts's) ---

/** An answer of a session being deleted or cleared: it names a stream in the store. */
export interface SessionAnswer {
  id: string;
  sessionId: string;
  streaming: boolean;
  /** Its text so far, when it is streaming (its `stop` event carries it); otherwise empty. */
  content: string;
}

/** The answers of these sessions (each names a stream in the store). */
export async function answersOf(db: Db, sessionIds: string[]): Promise<SessionAnswer[]> {
  if (sessionIds.length === 0) return [];
  return db
    .select({
      id: messages.id,
      sessionId: messages.sessionId,
      streaming: sql<boolean>`${messages.status} = 'streaming'`,
      content: sql<string>`case when ${messages.status} = 'streaming' then ${messages.content} else '' end`,
    })
    .from(messages)
    .where(and(inArray(messages.sessionId, sessionIds), eq(messages.role, "assistant")));
}

/** Ends these answers as `stopped` in Postgres if they are still streaming: their producers, finding their rows final, write nothing more. */
export async function stopStreamingAnswers(db: Db, answerIds: string[]): Promise<void> {
  if (answerIds.length === 0) return;
  await db
    .update(messages)
    .set({ status: "stopped", updatedAt: new Date() })
    .where(and(inArray(messages.id, answerIds), eq(messages.status, "streaming")));
}

/**
 * Starts deleting the listed sessions the caller may reach, or all of the caller's own: marks
 * them, so that from now on no reader sees them and no message is added to them (a question being
 * stored waits for the mark, then finds no session). Returns their ids.
 */
export async function markForDeletion(db: Db, caller: Caller, target: { ids: string[] } | { all: true }, access: Access): Promise<string[]> {
  const where = "all" in target ? visibleWhere(caller, "own") : and(inArray(sessions.id, target.ids), visibleWhere(caller, access));
  const rows = await db.update(sessions).set({ deletingAt: new Date() }).where(where).returning({ id: sessions.id });
  return rows.map((r) => r.id);
}

/** Which sessions a sweep deletes: temporary chats past their lifetime, or a tenant's sessions idle longer than its retention. */
export type Expiry = { reason: "temporary" } | { reason: "retention"; tenantId: string; days: number; keepPinned: boolean };

/**
 * Marks up to `limit` expired sessions for deletion (as markForDeletion), longest idle first, by
 * the database's clock; a session whose row another transaction holds (a question being stored)
 * is left for the next batch, by when its activity may have renewed it.
 */
export async function markExpired(db: Db, expiry: Expiry, limit: number): Promise<string[]> {
  const expired =
    expiry.reason === "temporary"
      ? and(isNotNull(sessions.temporaryLifetime), sql`${sessions.updatedAt} + ${sessions.temporaryLifetime} < now()`)
      : and(
          eq(sessions.tenantId, expiry.tenantId),
          sql`${sessions.updatedAt} < now() - make_interval(secs => ${expiry.days * 86_400})`,
          expiry.keepPinned ? eq(sessions.pinned, false) : undefined,
        );
  const candidates = db
    .select({ id: sessions.id })
    .from(sessions)
    .where(and(expired, notDeleting))
    .orderBy(sessions.updatedAt)
    .limit(limit)
    .for("update", { skipLocked: true });
  const rows = await db.update(sessions).set({ deletingAt: new Date() }).where(inArray(sessions.id, candidates)).returning({ id: sessions.id });
  return rows.map((r) => r.id);
}

/** Up to `limit` sessions whose deletion started and has not finished (its run was cut short), oldest first. */
export async function unfinishedDeletions(db: Db, limit: number): Promise<string[]> {
  const rows = await db.select({ id: sessions.id }).from(sessions).where(isNotNull(sessions.deletingAt)).orderBy(sessions.deletingAt).limit(limit);
  return rows.map((r) => r.id);
}

/**
 * Deletion's last step: the rows of sessions marked for it, and with them, by foreign key in the
 * same statement, everything they own in Postgres (messages with their feedback, shares).
 */
export async function deleteMarked(db: Db, sessionIds: string[]): Promise<void> {
  if (sessionIds.length === 0) return;
  await db.delete(sessions).where(and(inArray(sessions.id, sessionIds), isNotNull(sessions.deletingAt)));
}

// --- listing ---

interface CursorPosition {
  pinned: boolean;
  sortAt: Date;
  id: string;
}

function encodeCursor(p: CursorPosition): string {
  return Buffer.from(JSON.stringify([p.pinned ? 1 : 0, p.sortAt.getTime(), p.id])).toString("base64url");
}

function decodeCursor(cursor: string): CursorPosition {
  try {
    const [pinned, ms, id] = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as unknown[];
    // A cursor is the caller's to forge: its time and id must be ones Postgres can take.
    if ((pinned === 0 || pinned === 1) && Number.isSafeInteger(ms) && isStorableTime(ms as number) && isUuid(id)) {
      return { pinned: pinned === 1, sortAt: new Date(ms as number), id };
    }
  } catch {
    // fall through to the error below
  }
  throw badInput("cursor", "Invalid cursor: pass back the nextCursor of a previous page");
}

/**
 * Search terms from the user's text, taken literally: only runs of letters and digits survive, so
 * no character can act as a tsquery operator; Chinese is segmented into words, each searched as
 * the phrase of its characters (common/segment.ts). Every term must match; the last may be a
 * prefix, unless it is Chinese (its characters are whole already).
 */
export function toTsQuery(text: string): string | null {
  const words = segmentWords(text.toLowerCase()).slice(0, 16);
  if (words.length === 0) return null;
  const last = words.length - 1;
  return words.map((w, i) => (hasHan(w) ? `(${tsQueryOperand(w)})` : i === last ? `${w}:*` : w)).join(" & ");
}

export interface ListOptions {
  limit: number;
  cursor?: string;
  search?: string;
  withTotal?: boolean;
  /** Rows to skip before the page (WeKnora's page numbers); `cursor` is the gap-free way to page. */
  offset?: number;
  /** Admin listing: narrow the tenant to one owner. */
  userId?: string;
  /** Admin listing: only sessions with an answer rated down. */
  feedback?: "down";
  /** Only sessions in this folder (null: in none); absent: any. */
  folderId?: string | null;
  /** Archived sessions instead of the others. */
  archived?: boolean;
}

/**
 * Whose sessions a listing reads: a tenant, and one owner in it unless an admin lists them all;
 * temporary chats only for admins (they are never in their owner's list).
 */
interface ListScope {
  tenantId: string;
  userId?: string;
  temporary: boolean;
}

type OwnerFilter = (table: typeof sessions | typeof messages) => SQL;

/**
 * The sessions whose title or messages match `query`: each side comes from its GIN index, which
 * leads with tenant and owner, so the lookup itself is scoped and a broad word never reads another
 * tenant's entries. A session may appear more than once.
 */
function searchHits(query: string, owner: OwnerFilter): SQL {
  return sql`(select ${sessions.id} as id from ${sessions} where ${owner(sessions)} and ${sessions.titleTsv} @@ to_tsquery('simple', ${query})
    union all
    select ${messages.sessionId} from ${messages} where ${owner(messages)} and ${messages.contentTsv} @@ to_tsquery('simple', ${query}))`;
}

/** Sessions walked in list order per matching message before a search sorts its hits instead (see searchPageIds). */
const WALK_PER_HIT = 8;

/**
 * The ids of a search's first `want` sessions in list order (`where`: the owner and cursor). A broad
 * word matches thousands of sessions, and sorting them all costs an index probe each; so the list
 * index is walked in order first, each session checked against the hits (hashed once), stopping
 * at the page. A rare word would send that walk through the whole list: it stops after
 * WALK_PER_HIT sessions per hit (reading an index entry costs a small fraction of a probe), and
 * then the hits are sorted after all. Either way the ids are the same.
 */
function searchPageIds(query: string, owner: OwnerFilter, where: SQL, want: number): SQL {
  const order = sql`${sessions.pinned} desc, ${sessions.sortAt} desc, ${sessions.id} desc`;
  // `is true` keeps the check a filter of the walk: as a join its output would lose the walk's
  // order, and the walk could not stop at the page.
  return sql`(with hits as materialized ${searchHits(query, owner)},
    walked as materialized (
      select w.id from (
        select ${sessions.id}, ${sessions.pinned}, ${sessions.sortAt} from ${sessions} where ${where}
        order by ${order} limit (select count(*) * ${WALK_PER_HIT} from hits)) w
      where (w.id in (select id from hits)) is true
      order by w.pinned desc, w.sort_at desc, w.id desc limit ${want})
    select id from walked where (select count(*) from walked) = ${want}
    union all
    (select ${sessions.id} from ${sessions} where ${where} and ${sessions.id} in (select id from hits) and (select count(*) from walked) < ${want}
      order by ${order} limit ${want}))`;
}

async function listPage(db: Db, scope: ListScope, options: ListOptions) {
  const owner: OwnerFilter = (table) => and(eq(table.tenantId, scope.tenantId), scope.userId ? eq(table.userId, scope.userId) : undefined)!;
  const query = options.search ? toTsQuery(options.search) : null;
  if (options.search !== undefined && options.search.trim() !== "" && query === null) {
    return { rows: [], nextCursor: null, total: options.withTotal ? 0 : undefined };
  }
  const downRated =
    options.feedback === "down" ? sql`exists (select 1 from ${messages} where ${messages.sessionId} = ${sessions.id} and ${messages.rating} = 'down')` : undefined;
  // Archived or not comes right after the owner in the order indexes, so each list is one range.
  const shelf = and(
    eq(sessions.archived, options.archived ?? false),
    options.folderId === undefined ? undefined : options.folderId === null ? isNull(sessions.folderId) : eq(sessions.folderId, options.folderId),
    scope.temporary ? undefined : isNull(sessions.temporaryLifetime),
    notDeleting,
    downRated,
  )!;
  const pageFilters: SQL[] = [owner(sessions), shelf];
  if (options.cursor) {
    const c = decodeCursor(options.cursor);
    pageFilters.push(sql`(${sessions.pinned}, ${sessions.sortAt}, ${sessions.id}) < (${c.pinned}, ${c.sortAt.toISOString()}::timestamptz, ${c.id}::uuid)`);
  }
  const order = [desc(sessions.pinned), desc(sessions.sortAt), desc(sessions.id)];
  const offset = options.offset ?? 0;
  const rows = await db
    .select({ ...sessionColumns, sortAt: sessions.sortAt })
    .from(sessions)
    // A search's page is among its first offset + limit + 1 sessions in list order.
    .where(query ? and(owner(sessions), sql`${sessions.id} in ${searchPageIds(query, owner, and(...pageFilters)!, offset + options.limit + 1)}`) : and(...pageFilters))
    .orderBy(...order)
    .limit(options.limit + 1)
    .offset(offset);
  const hasMore = rows.length > options.limit;
  const page = rows.slice(0, options.limit);
  const last = page.at(-1);
  const nextCursor = hasMore && last ? encodeCursor(last) : null;
  let total: number | undefined;
  if (options.withTotal) {
    const [{ n } = { n: 0 }] = await db
      .select({ n: count() })
      .from(sessions)
      .where(and(owner(sessions), shelf, query ? sql`${sessions.id} in (select id from ${searchHits(query, owner)} hits)` : undefined));
    total = Number(n);
  }
  return { rows: page.map(({ sortAt: _sortAt, ...session }) => session), nextCursor, total };
}

/** The caller's own sessions: pinned first (latest pin first), then most recently updated. */
export async function listSessions(db: Db, caller: Caller, options: ListOptions) {
  if (options.folderId) await assertFolder(db, caller, options.folderId);
  const { rows, nextCursor, total } = await listPage(db, { tenantId: caller.tenant.id, userId: caller.user.id, temporary: false }, options);
  return { items: rows, nextCursor, ...(total !== undefined && { total }) };
}

/** Every session of the caller's tenant, with its owner and message count (admins). */
export async function listTenantSessions(db: Db, caller: Caller, options: ListOptions) {
  if (options.folderId) await assertFolder(db, caller, options.folderId, "tenant");
  const { rows, nextCursor } = await listPage(db, { tenantId: caller.tenant.id, userId: options.userId, temporary: true }, options);
  if (rows.length === 0) return { items: [], nextCursor };
  const ids = rows.map((r) => r.id);
  const ownerIds = [...new Set(rows.map((r) => r.userId))];
  const [owners, counts] = await Promise.all([
    db.select({ id: users.id, name: users.name, role: users.role }).from(users).where(inArray(users.id, ownerIds)),
    db
      .select({ sessionId: messages.sessionId, n: count() })
      .from(messages)
      .where(inArray(messages.sessionId, ids))
      .groupBy(messages.sessionId),
  ]);
  const ownerById = new Map(owners.map((o) => [o.id, o]));
  const countBySession = new Map(counts.map((c) => [c.sessionId, Number(c.n)]));
  return {
    items: rows.map((r) => ({ ...r, owner: ownerById.get(r.userId)!, messageCount: countBySession.get(r.id) ?? 0 })),
    nextCursor,
  };
}

/**
 * Locks the caller's own session until the transaction `tx` ends (NOT_FOUND if it is not theirs):
 * no question is stored in it meanwhile (sending touches the row), so no answer starts.
 */
export async function lockOwnSession(tx: Db, caller: Caller, id: string): Promise<void> {
  const [session] = await tx
    .select({ id: sessions.id })
    .from(sessions)
    .where(and(eq(sessions.id, id), visibleWhere(caller, "own")))
    .for("update");
  if (!session) throw notFound("Session");
}

/** Moves the session's context version, so no cached LLM context from before is used (`db` may be a transaction). */
export async function bumpContextVersion(db: Db, sessionId: string): Promise<void> {
  await db.update(sessions).set({ contextVersion: sql`${sessions.contextVersion} + 1` }).where(eq(sessions.id, sessionId));
}

/**
 * Deletes every message of the caller's own session, an answer still streaming too (removal.ts
 * stops it: the contract's "clearing mid-answer stops the answer"). Returns how many went, and the
 * answers, whose streams go next.
 */
export async function clearMessages(db: Db, caller: Caller, id: string): Promise<{ deleted: number; answers: SessionAnswer[] }> {
  return db.transaction(async (tx) => {
    await lockOwnSession(tx, caller, id);
    const answers = await answersOf(tx, [id]);
    // The leaf first: it refers to a message. Should the store's part of the clear fail, the
    // cached context is of an old version now.
    await tx.update(sessions).set({ activeLeafId: null, contextVersion: sql`${sessions.contextVersion} + 1` }).where(eq(sessions.id, id));
    const deleted = await tx.delete(messages).where(eq(messages.sessionId, id)).returning({ id: messages.id });
    return { deleted: deleted.length, answers };
  });
}
