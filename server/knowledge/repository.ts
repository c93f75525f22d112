import { createHash } from "node:crypto";
import { and, asc, count, desc, eq, ilike, inArray, isNull, lt, ne, or, sql } from "drizzle-orm";
import type { Db } from "../../db";
import { knowledgeBases, knowledgeChunks, knowledgeDocuments } from "../../db/schema";
import { isAdmin, type Caller } from "../auth/accounts";
import { AppError, notFound } from "../platform/errors";
import { textOfChunks, type Chunk } from "./chunk";
import { embeddingText } from "./knowledgeIndex";
import type { KnowledgeDeps } from "./retrieve";

/**
 * Knowledge bases and their documents, always within the caller's tenant: a base or document of
 * another tenant is NOT_FOUND. Who may do what:
 * - any member of the tenant lists, reads and searches its bases, uses them in sessions, creates
 *   bases and adds documents to them (knowledge is shared within a tenant);
 * - renaming or deleting a base takes its creator or an admin/owner; deleting a document takes
 *   the one who added it, its base's creator, or an admin/owner;
 * - a base Parley provides (the handbook) is kept in sync with Parley's docs at start-up, so
 *   nobody changes it by hand; sessions may still leave it out.
 */

export interface KnowledgeBase {
  id: string;
  name: string;
  description: string;
  documentCount: number;
  chunkCount: number;
  /** Who created it; null for a base Parley provides. */
  createdBy: string | null;
  /** Whether the caller may rename or delete it. */
  canManage: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export interface KnowledgeDocument {
  id: string;
  knowledgeBaseId: string;
  title: string;
  mimeType: string;
  /** The name of the file it was uploaded as (null: added as text). */
  fileName: string | null;
  sizeBytes: number;
  /** SHA-256 of the source, hex. */
  contentHash: string;
  chunkCount: number;
  /** Documents are indexed whole before they are stored, so a stored document is always ready. */
  status: "ready";
  createdBy: string | null;
  createdAt: Date;
}

type BaseRow = typeof knowledgeBases.$inferSelect;

const isUuid = (id: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id);

const PROVIDED_BY_PARLEY = "Parley keeps this knowledge base in sync with its documentation; it cannot be changed by hand";

function mayManage(caller: Caller, base: Pick<BaseRow, "createdBy" | "builtin">): boolean {
  return base.builtin === null && (isAdmin(caller.user) || base.createdBy === caller.user.id);
}

async function findBase(db: Db, caller: Caller, id: string): Promise<BaseRow> {
  const [base] = await db
    .select()
    .from(knowledgeBases)
    .where(and(eq(knowledgeBases.id, id), eq(knowledgeBases.tenantId, caller.tenant.id)));
  if (!base) throw notFound("Knowledge base");
  return base;
}

async function withCounts(db: Db, caller: Caller, bases: BaseRow[]): Promise<KnowledgeBase[]> {
  if (bases.length === 0) return [];
  const ids = bases.map((b) => b.id);
  const counts = await db
    .select({ id: knowledgeDocuments.knowledgeBaseId, documents: count(), chunks: sql<number>`coalesce(sum(${knowledgeDocuments.chunkCount}), 0)::int` })
    .from(knowledgeDocuments)
    .where(inArray(knowledgeDocuments.knowledgeBaseId, ids))
    .groupBy(knowledgeDocuments.knowledgeBaseId);
  const byBase = new Map(counts.map((c) => [c.id, c]));
  return bases.map((b) => ({
    id: b.id,
    name: b.name,
    description: b.description,
    documentCount: Number(byBase.get(b.id)?.documents ?? 0),
    chunkCount: Number(byBase.get(b.id)?.chunks ?? 0),
    createdBy: b.createdBy,
    canManage: mayManage(caller, b),
    createdAt: b.createdAt,
    updatedAt: b.updatedAt,
  }));
}

/** The tenant's bases, newest first. */
export async function listBases(db: Db, caller: Caller): Promise<KnowledgeBase[]> {
  const rows = await db
    .select()
    .from(knowledgeBases)
    .where(eq(knowledgeBases.tenantId, caller.tenant.id))
    .orderBy(desc(knowledgeBases.createdAt), desc(knowledgeBases.id));
  return withCounts(db, caller, rows);
}

export async function getBase(db: Db, caller: Caller, id: string): Promise<KnowledgeBase> {
  const [base] = await withCounts(db, caller, [await findBase(db, caller, id)]);
  return base!; // one base in, one out
}

export async function createBase(db: Db, caller: Caller, input: { name: string; description?: string }): Promise<KnowledgeBase> {
  const [row] = await db
    .insert(knowledgeBases)
    .values({ tenantId: caller.tenant.id, createdBy: caller.user.id, name: input.name, description: input.description ?? "" })
    .returning();
  // insert … returning gives the one row inserted; one base in, one out.
  const [base] = await withCounts(db, caller, [row!]);
  return base!;
}

function assertMayManage(caller: Caller, base: BaseRow) {
  if (base.builtin !== null) throw new AppError("forbidden", PROVIDED_BY_PARLEY);
  if (!mayManage(caller, base)) throw new AppError("forbidden", "Only the creator of this knowledge base or an admin may change it");
}

export async function updateBase(db: Db, caller: Caller, id: string, patch: { name?: string; description?: string }): Promise<KnowledgeBase> {
  assertMayManage(caller, await findBase(db, caller, id));
  await db
    .update(knowledgeBases)
    .set({ ...patch, updatedAt: new Date() })
    .where(and(eq(knowledgeBases.id, id), eq(knowledgeBases.tenantId, caller.tenant.id)));
  return getBase(db, caller, id);
}

/** Deletes a base; its documents, chunks and vectors go with it in the same statement (cascade). */
export async function deleteBase(db: Db, caller: Caller, id: string): Promise<{ id: string }> {
  assertMayManage(caller, await findBase(db, caller, id));
  await db.delete(knowledgeBases).where(and(eq(knowledgeBases.id, id), eq(knowledgeBases.tenantId, caller.tenant.id)));
  return { id };
}

/**
 * The bases a document of base `id` could move to: the tenant's others that take documents (not
 * one Parley provides), newest first. Every base indexes with the same embedder, so none is ruled
 * out for its vectors.
 */
export async function moveTargets(db: Db, caller: Caller, id: string): Promise<KnowledgeBase[]> {
  await findBase(db, caller, id);
  const rows = await db
    .select()
    .from(knowledgeBases)
    .where(and(eq(knowledgeBases.tenantId, caller.tenant.id), ne(knowledgeBases.id, id), isNull(knowledgeBases.builtin)))
    .orderBy(desc(knowledgeBases.createdAt), desc(knowledgeBases.id));
  return withCounts(db, caller, rows);
}

/** Which of `ids` are rows of `table` in `tenantId`, in the order given (anything else, malformed ids included, is left out). */
async function idsOfTenant(db: Db, table: typeof knowledgeBases | typeof knowledgeDocuments, tenantId: string, ids: readonly string[]): Promise<string[]> {
  const candidates = [...new Set(ids)].filter(isUuid);
  if (candidates.length === 0) return [];
  const rows = await db
    .select({ id: table.id })
    .from(table)
    .where(and(eq(table.tenantId, tenantId), inArray(table.id, candidates)));
  const found = new Set(rows.map((row) => row.id));
  return candidates.filter((id) => found.has(id));
}

/** Which of `ids` are bases of `tenantId`. */
export const basesOfTenant = (db: Db, tenantId: string, ids: readonly string[]) => idsOfTenant(db, knowledgeBases, tenantId, ids);

/** Whether every id names a knowledge base of the tenant (an empty list does). */
export async function allBasesOfTenant(db: Db, tenantId: string, ids: readonly string[]): Promise<boolean> {
  return (await basesOfTenant(db, tenantId, ids)).length === new Set(ids).size;
}

// --- documents ---

const documentColumns = {
  id: knowledgeDocuments.id,
  knowledgeBaseId: knowledgeDocuments.knowledgeBaseId,
  title: knowledgeDocuments.title,
  mimeType: knowledgeDocuments.mimeType,
  fileName: knowledgeDocuments.fileName,
  sizeBytes: knowledgeDocuments.sizeBytes,
  contentHash: knowledgeDocuments.contentHash,
  chunkCount: knowledgeDocuments.chunkCount,
  createdBy: knowledgeDocuments.createdBy,
  createdAt: knowledgeDocuments.createdAt,
};
const asDocument = <T extends Omit<KnowledgeDocument, "status">>(row: T): T & { status: "ready" } => ({ ...row, status: "ready" });

/** A document with the name of its base (what WeKnora's Knowledge carries as `knowledge_base_name`). */
export interface NamedDocument extends KnowledgeDocument {
  knowledgeBaseName: string;
}

/** Documents joined to their bases, for reads that name the base. */
const selectNamedDocuments = (db: Db) =>
  db
    .select({ ...documentColumns, knowledgeBaseName: knowledgeBases.name })
    .from(knowledgeDocuments)
    .innerJoin(knowledgeBases, eq(knowledgeBases.id, knowledgeDocuments.knowledgeBaseId));

/** A page of a listing: `limit` rows after the first `offset`. */
export interface Page {
  limit: number;
  offset: number;
}

/** The base's documents, newest first (a page of them when `page` is given). */
export async function listDocuments(db: Db, caller: Caller, knowledgeBaseId: string): Promise<KnowledgeDocument[]> {
  await findBase(db, caller, knowledgeBaseId);
  const rows = await db
    .select(documentColumns)
    .from(knowledgeDocuments)
    .where(eq(knowledgeDocuments.knowledgeBaseId, knowledgeBaseId))
    .orderBy(desc(knowledgeDocuments.createdAt), desc(knowledgeDocuments.id));
  return rows.map(asDocument);
}

/** A document of the caller's tenant; any other id is NOT_FOUND. */
export async function getDocument(db: Db, caller: Caller, id: string): Promise<NamedDocument> {
  const [row] = await selectNamedDocuments(db).where(and(eq(knowledgeDocuments.id, id), eq(knowledgeDocuments.tenantId, caller.tenant.id)));
  if (!row) throw notFound("Document");
  return asDocument(row);
}

/** Which documents a search of the tenant's documents takes: `keyword` in the title or file name, any case (empty: every document), of one of `mimeTypes` when given, of one base when given. */
export interface DocumentFilter {
  keyword: string;
  mimeTypes?: readonly string[];
  /** Only this base's documents (a base of the caller's tenant, checked by the caller). */
  knowledgeBaseId?: string;
}

/** `%`, `_` and the escape character itself, as plain text in a LIKE pattern. */
const escapeLike = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);

/** A page of the tenant's documents the filter takes, newest first, with how many it takes in all. */
export async function searchDocuments(db: Db, caller: Caller, filter: DocumentFilter, page: Page): Promise<{ items: NamedDocument[]; total: number }> {
  if (filter.mimeTypes?.length === 0) return { items: [], total: 0 };
  const pattern = `%${escapeLike(filter.keyword)}%`;
  const where = and(
    eq(knowledgeDocuments.tenantId, caller.tenant.id),
    filter.keyword === "" ? undefined : or(ilike(knowledgeDocuments.title, pattern), ilike(knowledgeDocuments.fileName, pattern)),
    filter.mimeTypes ? inArray(knowledgeDocuments.mimeType, [...filter.mimeTypes]) : undefined,
    filter.knowledgeBaseId === undefined ? undefined : eq(knowledgeDocuments.knowledgeBaseId, filter.knowledgeBaseId),
  );
  const [rows, [counted]] = await Promise.all([
    selectNamedDocuments(db).where(where).orderBy(desc(knowledgeDocuments.createdAt), desc(knowledgeDocuments.id)).limit(page.limit).offset(page.offset),
    db.select({ total: count() }).from(knowledgeDocuments).where(where),
  ]);
  return { items: rows.map(asDocument), total: Number(counted?.total ?? 0) };
}

/**
 * The tenant's documents among `ids`, in the order given (unknown ids, another tenant's and
 * malformed ones left out); with `knowledgeBaseId`, only that base's, which must be the tenant's.
 */
export async function documentsByIds(db: Db, caller: Caller, ids: readonly string[], knowledgeBaseId?: string): Promise<NamedDocument[]> {
  if (knowledgeBaseId !== undefined) await findBase(db, caller, knowledgeBaseId);
  const candidates = [...new Set(ids)].filter(isUuid);
  if (candidates.length === 0) return [];
  const rows = await selectNamedDocuments(db).where(
    and(
      eq(knowledgeDocuments.tenantId, caller.tenant.id),
      inArray(knowledgeDocuments.id, candidates),
      knowledgeBaseId === undefined ? undefined : eq(knowledgeDocuments.knowledgeBaseId, knowledgeBaseId),
    ),
  );
  const byId = new Map(rows.map((row) => [row.id, asDocument(row)]));
  return candidates.flatMap((id) => byId.get(id) ?? []);
}

/** A stored chunk with its neighbours in its document (null at either end). */
export interface StoredChunk {
  id: string;
  documentId: string;
  knowledgeBaseId: string;
  position: number;
  heading: string;
  content: string;
  tokenCount: number;
  /** Where it lies in its document's text (Chunk.startAt, Chunk.endAt). */
  startAt: number;
  endAt: number;
  previousId: string | null;
  nextId: string | null;
}

const chunkColumns = {
  id: knowledgeChunks.id,
  documentId: knowledgeChunks.documentId,
  knowledgeBaseId: knowledgeChunks.knowledgeBaseId,
  position: knowledgeChunks.position,
  heading: knowledgeChunks.heading,
  content: knowledgeChunks.content,
  tokenCount: knowledgeChunks.tokenCount,
  startAt: knowledgeChunks.startAt,
  endAt: knowledgeChunks.endAt,
  // Positions run 0..n-1 in a document, so the neighbours are the chunks one before and after
  // (the outer row named with its table: Drizzle leaves a one-table select's columns bare).
  previousId: sql<string | null>`(select p.id from ${knowledgeChunks} p where p.document_id = knowledge_chunks.document_id and p.position = knowledge_chunks.position - 1)`,
  nextId: sql<string | null>`(select n.id from ${knowledgeChunks} n where n.document_id = knowledge_chunks.document_id and n.position = knowledge_chunks.position + 1)`,
};

/** A page of a document's chunks in document order, with their count (the document's chunk count). */
export async function listChunks(db: Db, caller: Caller, documentId: string, page: Page): Promise<{ document: NamedDocument; items: StoredChunk[]; total: number }> {
  const document = await getDocument(db, caller, documentId);
  const rows = await db
    .select(chunkColumns)
    .from(knowledgeChunks)
    .where(eq(knowledgeChunks.documentId, documentId))
    .orderBy(asc(knowledgeChunks.position))
    .limit(page.limit)
    .offset(page.offset);
  return { document, items: rows, total: document.chunkCount };
}

/**
 * A document of the caller's tenant with its text. Parley stores no copy of a document's source,
 * only its chunks, so the text is rebuilt from them in order (textOfChunks): a PDF's or a web
 * page's text as Parley read it, not the file it came from.
 */
export async function documentContent(db: Db, caller: Caller, id: string): Promise<{ document: NamedDocument; text: string }> {
  const document = await getDocument(db, caller, id);
  const chunks = await db
    .select({ heading: knowledgeChunks.heading, content: knowledgeChunks.content, startAt: knowledgeChunks.startAt, endAt: knowledgeChunks.endAt })
    .from(knowledgeChunks)
    .where(eq(knowledgeChunks.documentId, id))
    .orderBy(asc(knowledgeChunks.position));
  return { document, text: textOfChunks(chunks) };
}

/** A document added to a base, numbered in the order they were added (1: the first still there). */
export interface DocumentAdded {
  number: number;
  id: string;
  title: string;
  mimeType: string;
  fileName: string | null;
  createdBy: string | null;
  createdAt: Date;
}

/**
 * The documents added to a base, newest first: at most `limit` numbered below `before` (when
 * given), added by `addedBy` (when given). Who added what is for the base's creator and admins
 * (FORBIDDEN to other members). Numbers count the documents still there, so deleting one renumbers
 * those added after it.
 */
export async function documentsAdded(db: Db, caller: Caller, knowledgeBaseId: string, query: { before?: number; limit: number; addedBy?: string }): Promise<DocumentAdded[]> {
  const base = await findBase(db, caller, knowledgeBaseId);
  if (!isAdmin(caller.user) && base.createdBy !== caller.user.id) throw new AppError("forbidden", "Only the creator of this knowledge base or an admin may see its activity");
  if (query.addedBy !== undefined && !isUuid(query.addedBy)) return [];
  const numbered = db
    .select({
      id: knowledgeDocuments.id,
      title: knowledgeDocuments.title,
      mimeType: knowledgeDocuments.mimeType,
      fileName: knowledgeDocuments.fileName,
      createdBy: knowledgeDocuments.createdBy,
      createdAt: knowledgeDocuments.createdAt,
      number: sql<number>`(row_number() over (order by ${knowledgeDocuments.createdAt}, ${knowledgeDocuments.id}))::int`.as("number"),
    })
    .from(knowledgeDocuments)
    .where(eq(knowledgeDocuments.knowledgeBaseId, knowledgeBaseId))
    .as("numbered");
  return db
    .select()
    .from(numbered)
    .where(and(query.before === undefined ? undefined : lt(numbered.number, query.before), query.addedBy === undefined ? undefined : eq(numbered.createdBy, query.addedBy)))
    .orderBy(desc(numbered.number))
    .limit(query.limit);
}

/** A chunk of the caller's tenant with its document; any other id is NOT_FOUND. */
export async function getChunk(db: Db, caller: Caller, id: string): Promise<{ document: NamedDocument; chunk: StoredChunk }> {
  const [chunk] = await db
    .select(chunkColumns)
    .from(knowledgeChunks)
    .where(and(eq(knowledgeChunks.id, id), eq(knowledgeChunks.tenantId, caller.tenant.id)));
  if (!chunk) throw notFound("Chunk");
  return { document: await getDocument(db, caller, chunk.documentId), chunk };
}

/** Which of `ids` are documents of `tenantId`. */
export const documentsOfTenant = (db: Db, tenantId: string, ids: readonly string[]) => idsOfTenant(db, knowledgeDocuments, tenantId, ids);

export interface NewDocument {
  title: string;
  mimeType: string;
  /** The file it comes from (absent: added as text). */
  fileName?: string;
  /** The source's size in bytes (what the 5 MB limit counts). */
  sizeBytes: number;
  /** SHA-256 of the source. */
  contentHash: string;
  chunks: Chunk[];
  /** The chunks' vectors when they were embedded already (offline, in the document worker); else embedded here. */
  vectors?: number[][];
}

export const sha256Hex = (data: string | Uint8Array) => createHash("sha256").update(data).digest("hex");

/** Checks that the caller may add documents to the base (any member may, to a base of their tenant). */
export async function assertMayAddDocuments(db: Db, caller: Caller, knowledgeBaseId: string): Promise<void> {
  const base = await findBase(db, caller, knowledgeBaseId);
  if (base.builtin !== null) throw new AppError("forbidden", PROVIDED_BY_PARLEY);
}

const INSERT_BATCH = 100;

/**
 * Embeds a chunked document unless it comes with its vectors, then stores it with its chunks and their vectors in one
 * transaction: a document is either fully searchable or absent.
 */
export async function indexDocument(
  deps: KnowledgeDeps,
  owner: { tenantId: string; knowledgeBaseId: string; createdBy: string | null },
  document: NewDocument,
): Promise<KnowledgeDocument> {
  const { chunks } = document;
  if (chunks.length === 0) throw new AppError("bad_input", "The document has no text to index", "content");
  const vectors = document.vectors ?? (await deps.embedder.embed(chunks.map((c) => embeddingText(document.title, c))));
  try {
    return await deps.db.transaction(async (tx) => {
      const [row] = await tx
        .insert(knowledgeDocuments)
        .values({ ...owner, title: document.title, mimeType: document.mimeType, fileName: document.fileName ?? null, sizeBytes: document.sizeBytes, contentHash: document.contentHash, chunkCount: chunks.length })
        .returning(documentColumns);
      // row: insert … returning gives the one row inserted; vectors: one per chunk.
      for (let start = 0; start < chunks.length; start += INSERT_BATCH) {
        const values = chunks.slice(start, start + INSERT_BATCH).map(
          (c, i) =>
            sql`(${owner.tenantId}::uuid, ${owner.knowledgeBaseId}::uuid, ${row!.id}::uuid, ${start + i}, ${c.heading}, ${c.content}, ${c.tokenCount}, ${c.startAt}, ${c.endAt}, ${deps.embedder.id}, ${deps.vectors.value(vectors[start + i]!)})`,
        );
        await tx.execute(sql`insert into ${knowledgeChunks}
          (tenant_id, knowledge_base_id, document_id, position, heading, content, token_count, start_at, end_at, embedding_model, embedding)
          values ${sql.join(values, sql`, `)}`);
      }
      return asDocument(row!);
    });
  } catch (error) {
    // The base was deleted while the document was being embedded.
    if ((error as { code?: string }).code === "23503") throw notFound("Knowledge base");
    throw error;
  }
}

/** Deletes a document with its chunks and vectors (one statement: they cascade). */
export async function deleteDocument(db: Db, caller: Caller, id: string): Promise<{ id: string }> {
  const [found] = await db
    .select({ createdBy: knowledgeDocuments.createdBy, base: { createdBy: knowledgeBases.createdBy, builtin: knowledgeBases.builtin } })
    .from(knowledgeDocuments)
    .innerJoin(knowledgeBases, eq(knowledgeBases.id, knowledgeDocuments.knowledgeBaseId))
    .where(and(eq(knowledgeDocuments.id, id), eq(knowledgeDocuments.tenantId, caller.tenant.id)));
  if (!found) throw notFound("Document");
  if (found.base.builtin !== null) throw new AppError("forbidden", PROVIDED_BY_PARLEY);
  if (found.createdBy !== caller.user.id && !mayManage(caller, found.base)) {
    throw new AppError("forbidden", "Only who added this document, the creator of its knowledge base or an admin may delete it");
  }
  await db.delete(knowledgeDocuments).where(and(eq(knowledgeDocuments.id, id), eq(knowledgeDocuments.tenantId, caller.tenant.id)));
  return { id };
}
