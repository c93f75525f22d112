/** Which chats the sidebar lists: all (not archived), one folder's (not archived), or the archived ones. */
export type ListView = { kind: "all" } | { kind: "folder"; folderId: string } | { kind: "archived" };

export const ALL_CHATS: ListView = { kind: "all" };

/** The view's filters for `session.list` (none for all chats, so that list keeps its cache key). */
export function listFilter(view: ListView): { folderId?: string; archived?: true } {
  if (view.kind === "folder") return { folderId: view.folderId };
  if (view.kind === "archived") return { archived: true };
  return {};
}

/** The folder a new chat started in this view goes into. */
export const folderOf = (view: ListView): string | null => (view.kind === "folder" ? view.folderId : null);

/** What a `session.list` was asked for (its filters). */
export type ListInput = { search?: string; folderId?: string | null; archived?: boolean } | undefined;

/** Whether `session.list` with these filters lists the session: never a temporary chat; archived ones only when asked. */
export function listsSession(input: ListInput, s: { folderId: string | null; archivedAt: Date | null; temporary: boolean }): boolean {
  if (s.temporary) return false;
  if ((input?.archived ?? false) !== (s.archivedAt !== null)) return false;
  return input?.folderId === undefined || input.folderId === s.folderId;
}
