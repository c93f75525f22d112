"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useFormatter, useTranslations } from "next-intl";
import { useState } from "react";
import { ConfirmDialog } from "./Dialog";
import { errorMessage } from "./errors";
import { ArchiveIcon, ChatIcon, EditIcon, FolderIcon, FolderPlusIcon, MoreIcon, TrashIcon } from "./icons";
import { ALL_CHATS, type ListView } from "./listView";
import { Menu } from "./Menu";
import { NameInput } from "./NameInput";
import { useTRPC, type RouterOutputs } from "./trpc";

export type Folder = RouterOutputs["folder"]["list"]["items"][number];
export const FOLDER_NAME_MAX = 100;

/**
 * The sidebar's views above the chats: all chats, the archive, and the user's folders (each with
 * its count), which are created, renamed and deleted here. Deleting a folder keeps its chats.
 */
export function FolderNav({ view, onViewChange }: { view: ListView; onViewChange: (view: ListView) => void }) {
  const t = useTranslations("folders");
  const tc = useTranslations("common");
  const format = useFormatter();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const folders = useQuery(trpc.folder.list.queryOptions());
  const [creating, setCreating] = useState(false);
  const [renamingId, setRenamingId] = useState<string | null>(null);
  const [pendingDelete, setPendingDelete] = useState<Folder | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.folder.list.queryKey() });
  const onError = (e: unknown) => setNotice(errorMessage(e));
  const create = useMutation(
    trpc.folder.create.mutationOptions({
      onSuccess: (folder) => {
        void refresh();
        onViewChange({ kind: "folder", folderId: folder.id });
      },
      onError,
    }),
  );
  const rename = useMutation(trpc.folder.rename.mutationOptions({ onSettled: refresh, onError }));
  const remove = useMutation(
    trpc.folder.delete.mutationOptions({
      onSuccess: ({ id }) => {
        setPendingDelete(null);
        if (view.kind === "folder" && view.folderId === id) onViewChange(ALL_CHATS);
        void refresh();
        // Its chats are now in no folder.
        void queryClient.invalidateQueries({ queryKey: trpc.session.pathKey() });
      },
    }),
  );

  const items = folders.data?.items ?? [];
  const isCurrent = (v: ListView) => v.kind === view.kind && (v.kind !== "folder" || (view.kind === "folder" && v.folderId === view.folderId));
  const viewButton = (v: ListView, icon: React.ReactNode, label: string, count?: number) => (
    <button
      type="button"
      className="session-link folder-link"
      aria-current={isCurrent(v) ? "page" : undefined}
      onClick={() => onViewChange(v)}
      title={label}
    >
      {icon}
      <span className="session-title">{label}</span>
      {count !== undefined && (
        <span className="folder-count" aria-label={t("count", { count })}>
          {format.number(count)}
        </span>
      )}
    </button>
  );

  return (
    <nav className="folder-nav" aria-label={t("label")}>
      <ul>
        <li className={`session-item ${isCurrent(ALL_CHATS) ? "current" : ""}`}>{viewButton(ALL_CHATS, <ChatIcon size={16} />, t("allChats"))}</li>
        <li className={`session-item ${view.kind === "archived" ? "current" : ""}`}>
          {viewButton({ kind: "archived" }, <ArchiveIcon size={16} />, t("archived"))}
        </li>
      </ul>
      <div className="folder-nav-head">
        <h3 id="folders-heading">{t("title")}</h3>
        <button
          type="button"
          className="icon-btn icon-btn-sm"
          aria-label={t("newFolder")}
          title={t("newFolder")}
          onClick={() => {
            setNotice(null);
            setCreating(true);
          }}
        >
          <FolderPlusIcon size={16} />
        </button>
      </div>
      <ul aria-labelledby="folders-heading">
        {creating && (
          <li className="session-item">
            <NameInput
              initial=""
              label={t("nameLabel")}
              placeholder={t("namePlaceholder")}
              maxLength={FOLDER_NAME_MAX}
              onSave={(name) => {
                setCreating(false);
                create.mutate({ name });
              }}
              onCancel={() => setCreating(false)}
            />
          </li>
        )}
        {items.map((f) => {
          const v: ListView = { kind: "folder", folderId: f.id };
          return (
            <li key={f.id} className={`session-item ${isCurrent(v) ? "current" : ""}`} data-folder-id={f.id}>
              {renamingId === f.id ? (
                <NameInput
                  initial={f.name}
                  label={t("nameLabel")}
                  maxLength={FOLDER_NAME_MAX}
                  onSave={(name) => {
                    setRenamingId(null);
                    if (name !== f.name) rename.mutate({ id: f.id, name });
                  }}
                  onCancel={() => setRenamingId(null)}
                />
              ) : (
                <>
                  {viewButton(v, <FolderIcon size={16} />, f.name, f.sessionCount)}
                  <Menu
                    label={t("options", { name: f.name })}
                    icon={<MoreIcon />}
                    className="icon-btn session-menu-btn"
                    items={[
                      { label: t("rename"), icon: <EditIcon size={16} />, onSelect: () => setRenamingId(f.id) },
                      { label: tc("delete"), icon: <TrashIcon size={16} />, danger: true, onSelect: () => setPendingDelete(f) },
                    ]}
                  />
                </>
              )}
            </li>
          );
        })}
      </ul>
      {folders.isSuccess && items.length === 0 && !creating && <p className="folder-empty">{t("none")}</p>}
      {folders.isError && (
        <p className="folder-empty" role="alert">
          {errorMessage(folders.error)}
        </p>
      )}
      {notice && (
        <p className="folder-empty form-error" role="alert">
          {notice}
        </p>
      )}

      <ConfirmDialog
        open={pendingDelete !== null}
        title={t("deleteTitle")}
        confirmLabel={t("deleteConfirm")}
        busy={remove.isPending}
        error={remove.error ? errorMessage(remove.error) : undefined}
        onCancel={() => {
          setPendingDelete(null);
          remove.reset();
        }}
        onConfirm={() => pendingDelete && remove.mutate({ id: pendingDelete.id })}
      >
        <p>
          {t.rich("deleteBody", { name: pendingDelete?.name ?? "", strong: (chunk) => <strong>{chunk}</strong> })}{" "}
          {pendingDelete?.sessionCount ? t("deleteKeeps", { count: pendingDelete.sessionCount }) : t("deleteEmpty")}
        </p>
      </ConfirmDialog>
    </nav>
  );
}
