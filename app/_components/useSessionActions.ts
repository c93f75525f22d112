"use client";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { errorMessage } from "./errors";
import { useSessionCache } from "./sessionCache";
import { useTRPC, useTRPCClient, type Session } from "./trpc";
import { downloadText } from "./util";

/** A delete waiting for confirmation: from a chat's menu (one) or from the selection (bulk). */
export interface PendingDelete {
  ids: string[];
  title: string;
  bulk: boolean;
}

/**
 * What the sidebar does to its chats: rename, pin, move to a folder, archive, export, delete (after
 * confirmation). Changes show at once in every cached list; a failure shows as a notice (deletes: in
 * the dialog).
 */
export function useSessionActions(onDeleted: (ids: string[]) => void) {
  const trpc = useTRPC();
  const client = useTRPCClient();
  const queryClient = useQueryClient();
  const cache = useSessionCache();
  const [notice, setNotice] = useState<string | null>(null);
  const [renamingId, setRenamingId] = useState<string | null>(null);
  const [pendingDelete, setPendingDelete] = useState<PendingDelete | null>(null);

  const update = useMutation(
    trpc.session.update.mutationOptions({
      onSuccess: (s) => {
        cache.patch(s.id, s);
        void cache.invalidate();
      },
      onError: (e) => {
        setNotice(errorMessage(e));
        void cache.invalidate(); // undoes the change shown ahead of the answer
      },
    }),
  );
  const deleteOne = useMutation(trpc.session.delete.mutationOptions());
  const deleteMany = useMutation(trpc.session.deleteMany.mutationOptions());

  const rename = (s: Session, title: string) => {
    setRenamingId(null);
    if (title !== s.title) {
      cache.patch(s.id, { title });
      update.mutate({ id: s.id, title });
    }
  };

  const togglePin = (s: Session) => {
    cache.patch(s.id, { pinned: !s.pinned });
    update.mutate({ id: s.id, pinned: !s.pinned });
  };

  const move = (s: Session, folderId: string | null) => {
    if (folderId === s.folderId) return;
    cache.patch(s.id, { folderId });
    update.mutate({ id: s.id, folderId }, { onSettled: () => void cache.invalidateFolders() });
  };

  // Archiving keeps the folder and the pin; the chat leaves the lists it was in for the archive.
  const setArchived = (s: Session, archived: boolean) => {
    cache.patch(s.id, { archivedAt: archived ? new Date() : null });
    update.mutate({ id: s.id, archived });
  };

  const exportAs = async (s: Session, format: "markdown" | "json") => {
    try {
      const { filename, content } = await client.session.export.query({ id: s.id, format });
      downloadText(filename, content, format === "json" ? "application/json" : "text/markdown;charset=utf-8");
    } catch (e) {
      setNotice(errorMessage(e));
    }
  };

  const confirmDelete = async () => {
    if (!pendingDelete) return;
    const { ids, bulk } = pendingDelete;
    try {
      if (ids[0] !== undefined && ids.length === 1 && !bulk) await deleteOne.mutateAsync({ id: ids[0] });
      else await deleteMany.mutateAsync({ ids });
      cache.remove(ids);
      onDeleted(ids);
      setPendingDelete(null);
      void cache.invalidate();
      void cache.invalidateFolders();
      void queryClient.invalidateQueries({ queryKey: trpc.admin.pathKey() });
    } catch {
      /* shown in the dialog */
    }
  };

  const cancelDelete = () => {
    setPendingDelete(null);
    deleteOne.reset();
    deleteMany.reset();
  };

  const deleteError = deleteOne.error ?? deleteMany.error;
  return {
    notice,
    dismissNotice: () => setNotice(null),
    renamingId,
    startRename: setRenamingId,
    cancelRename: () => setRenamingId(null),
    rename,
    togglePin,
    move,
    setArchived,
    exportAs,
    pendingDelete,
    askDelete: setPendingDelete,
    confirmDelete,
    cancelDelete,
    deleting: deleteOne.isPending || deleteMany.isPending,
    deleteError: deleteError ? errorMessage(deleteError) : undefined,
  };
}
