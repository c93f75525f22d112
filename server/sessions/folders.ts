import { and, asc, count, eq, isNull, sql } from "drizzle-orm";
import type { Db } from "../../db";
import { folders, sessions, users } from "../../db/schema";
import { isAdmin, type Caller } from "../auth/accounts";
import { AppError, notFound } from "../platform/errors";

/**
 * A user's own folders of sessions (contract, "Folders, archive, sharing, …"). A session is in at
 * most one folder, its owner's; a folder's deletion moves its sessions out and deletes nothing.
 */

/** A user has at most this many folders. */
export const MAX_FOLDERS = 1000;

export interface Folder {
  id: string;
  name: string;
  /** Its sessions, archived ones included (temporary chats are never listed, so not counted). */
  sessionCount: number;
  createdAt: Date;
  updatedAt: Date;
}

const folderColumns = { id: folders.id, name: folders.name, createdAt: folders.createdAt, updatedAt: folders.updatedAt };

/** Counted like the lists count: a temporary chat or a session being deleted is in no list. */
const countedSessions = sql`select count(*)::int from ${sessions} where ${sessions.folderId} = ${folders.id} and ${sessions.temporaryLifetime} is null and ${sessions.deletingAt} is null`;

/**
 * Throws NOT_FOUND unless the folder is the caller's own (`tenant`: for an admin, any folder of the
 * tenant, as admin.sessions filters by one).
 */
export async function assertFolder(db: Db, caller: Caller, folderId: string, access: "own" | "tenant" = "own"): Promise<void> {
  const anyOfTenant = access === "tenant" && isAdmin(caller.user);
  const [row] = await db
    .select({ id: folders.id })
    .from(folders)
    .where(and(eq(folders.id, folderId), eq(folders.tenantId, caller.tenant.id), anyOfTenant ? undefined : eq(folders.userId, caller.user.id)));
  if (!row) throw notFound("Folder");
}

/** `folder.list`: the caller's folders by name, ignoring case. */
export async function listFolders(db: Db, caller: Caller): Promise<{ items: Folder[] }> {
  const items = await db
    .select({ ...folderColumns, sessionCount: sql<number>`(${countedSessions})`.mapWith(Number) })
    .from(folders)
    .where(eq(folders.userId, caller.user.id))
    .orderBy(asc(sql`lower(${folders.name})`), asc(folders.name), asc(folders.id));
  return { items };
}

const nameTaken = (name: string) => new AppError("conflict", `You already have a folder named "${name}"`, "name");
const isUniqueViolation = (error: unknown) => (error as { code?: string }).code === "23505" || (error as { cause?: { code?: string } }).cause?.code === "23505";

/** `folder.create`: a new empty folder; CONFLICT when the caller has one of that name in any case, BAD_REQUEST past MAX_FOLDERS. */
export async function createFolder(db: Db, caller: Caller, name: string): Promise<Folder> {
  try {
    return await db.transaction(async (tx) => {
      // One folder created at a time per user, so the count below stays true.
      await tx.select({ id: users.id }).from(users).where(eq(users.id, caller.user.id)).for("update");
      const [{ n } = { n: 0 }] = await tx.select({ n: count() }).from(folders).where(eq(folders.userId, caller.user.id));
      if (n >= MAX_FOLDERS) throw new AppError("bad_input", `You have ${MAX_FOLDERS} folders, the most there may be; delete one first`, "name");
      const [row] = await tx.insert(folders).values({ tenantId: caller.tenant.id, userId: caller.user.id, name }).returning(folderColumns);
      return { ...row!, sessionCount: 0 };
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw nameTaken(name);
    throw error;
  }
}

/** `folder.rename`: the caller's own folder (NOT_FOUND otherwise), under a name not taken by another of theirs. */
export async function renameFolder(db: Db, caller: Caller, id: string, name: string): Promise<Folder> {
  try {
    const [row] = await db
      .update(folders)
      .set({ name, updatedAt: new Date() })
      .where(and(eq(folders.id, id), eq(folders.userId, caller.user.id)))
      .returning({ ...folderColumns, sessionCount: sql<number>`(${countedSessions})`.mapWith(Number) });
    if (!row) throw notFound("Folder");
    return row;
  } catch (error) {
    if (isUniqueViolation(error)) throw nameTaken(name);
    throw error;
  }
}

/** `folder.delete`: the caller's own folder goes; its sessions move out of it (none is deleted or archived). */
export async function deleteFolder(db: Db, caller: Caller, id: string): Promise<{ id: string; moved: number }> {
  return db.transaction(async (tx) => {
    const [folder] = await tx
      .select({ id: folders.id })
      .from(folders)
      .where(and(eq(folders.id, id), eq(folders.userId, caller.user.id)))
      .for("update");
    if (!folder) throw notFound("Folder");
    // Moving out is not activity: the sessions keep their place in the list and their retention clock.
    const moved = await tx
      .update(sessions)
      .set({ folderId: null })
      .where(and(eq(sessions.folderId, id), isNull(sessions.temporaryLifetime), isNull(sessions.deletingAt)))
      .returning({ id: sessions.id });
    // Temporary chats and sessions being deleted in it are moved out too, by the foreign key.
    await tx.delete(folders).where(eq(folders.id, id));
    return { id, moved: moved.length };
  });
}
