"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useTranslations } from "next-intl";
import { useState, type FormEvent } from "react";
import { Modal } from "./Dialog";
import { errorMessage } from "./errors";
import { FOLDER_NAME_MAX } from "./FolderNav";
import { CheckIcon, ChatIcon, FolderIcon } from "./icons";
import { useTRPC } from "./trpc";

/** "Move to…": one of the user's folders, no folder, or a new folder named here. */
export function MoveDialog({
  title,
  folderId,
  onMove,
  onClose,
}: {
  /** The chat's title, as the sidebar shows it. */
  title: string;
  /** Where the chat is now. */
  folderId: string | null;
  onMove: (folderId: string | null) => void;
  onClose: () => void;
}) {
  const t = useTranslations("folders");
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const folders = useQuery(trpc.folder.list.queryOptions());
  const [name, setName] = useState("");
  const create = useMutation(trpc.folder.create.mutationOptions());

  const choose = (id: string | null) => {
    if (id !== folderId) onMove(id);
    onClose();
  };
  const createAndMove = async (e: FormEvent) => {
    e.preventDefault();
    if (!name.trim()) return;
    try {
      const folder = await create.mutateAsync({ name: name.trim() });
      void queryClient.invalidateQueries({ queryKey: trpc.folder.list.queryKey() });
      choose(folder.id);
    } catch {
      /* shown below */
    }
  };
  const choice = (id: string | null, icon: React.ReactNode, label: string) => (
    <li key={id ?? "none"}>
      <button type="button" className="choice" aria-pressed={id === folderId} onClick={() => choose(id)}>
        {icon}
        <span className="choice-label">{label}</span>
        {id === folderId && <CheckIcon size={16} className="choice-check" />}
      </button>
    </li>
  );

  return (
    <Modal open title={t("moveTitle", { title })} onClose={onClose}>
      <ul className="choice-list" aria-label={t("moveTo")}>
        {choice(null, <ChatIcon size={16} />, t("noFolder"))}
        {folders.data?.items.map((f) => choice(f.id, <FolderIcon size={16} />, f.name))}
      </ul>
      {folders.isPending && <p>{t("loading")}</p>}
      <form className="move-new-folder" onSubmit={(e) => void createAndMove(e)}>
        <input
          aria-label={t("nameLabel")}
          placeholder={t("namePlaceholder")}
          maxLength={FOLDER_NAME_MAX}
          value={name}
          onChange={(e) => setName(e.target.value)}
        />
        <button type="submit" className="btn btn-sm" disabled={!name.trim() || create.isPending}>
          {t("createAndMove")}
        </button>
      </form>
      {(create.isError || folders.isError) && (
        <p className="form-error" role="alert">
          {errorMessage(create.error ?? folders.error)}
        </p>
      )}
    </Modal>
  );
}
