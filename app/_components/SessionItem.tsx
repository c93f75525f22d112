"use client";
import { useTranslations } from "next-intl";
import { Highlight } from "./Highlight";
import { ArchiveIcon, DownloadIcon, EditIcon, FolderMoveIcon, MoreIcon, PinIcon, ShareIcon, TrashIcon, UnarchiveIcon } from "./icons";
import { Menu } from "./Menu";
import { NameInput } from "./NameInput";
import { aboutFields } from "./settingsForm";
import type { Session } from "./trpc";
import { useSessionTitle } from "./util";

const TITLE_MAX_LENGTH = aboutFields.title.maxLength;

/** One chat in the sidebar: its link (or checkbox in select mode), rename field and menu. */
export function SessionItem({
  session: s,
  current,
  search,
  selectMode,
  checked,
  onToggle,
  renaming,
  onStartRename,
  onRename,
  onCancelRename,
  onSelect,
  onPin,
  onMove,
  onShare,
  onArchive,
  onExport,
  onDelete,
}: {
  session: Session;
  current: boolean;
  search: string;
  selectMode: boolean;
  checked: boolean;
  onToggle: () => void;
  renaming: boolean;
  onStartRename: () => void;
  onRename: (title: string) => void;
  onCancelRename: () => void;
  onSelect: () => void;
  onPin: () => void;
  onMove: () => void;
  onShare: () => void;
  /** Archives the chat, or restores it when it is archived. */
  onArchive: () => void;
  onExport: (format: "markdown" | "json") => void;
  onDelete: () => void;
}) {
  const t = useTranslations("sessionItem");
  const tc = useTranslations("common");
  const title = useSessionTitle()(s);
  return (
    <li className={`session-item ${current ? "current" : ""} ${checked ? "checked" : ""}`} data-session-id={s.id}>
      {selectMode && (
        <input type="checkbox" className="session-check" checked={checked} onChange={onToggle} aria-label={t("select", { title })} />
      )}
      {renaming ? (
        <NameInput initial={s.title} label={t("titleLabel")} maxLength={TITLE_MAX_LENGTH} onSave={onRename} onCancel={onCancelRename} />
      ) : (
        <button
          type="button"
          className="session-link"
          aria-current={current ? "page" : undefined}
          onClick={selectMode ? onToggle : onSelect}
          onDoubleClick={selectMode ? undefined : onStartRename}
          title={title}
        >
          {s.pinned && <PinIcon size={14} className="pin-mark" aria-label={t("pinned")} />}
          <span className="session-title">
            <Highlight text={title} query={search} />
          </span>
        </button>
      )}
      {!selectMode && !renaming && (
        <Menu
          label={t("options", { title })}
          icon={<MoreIcon />}
          className="icon-btn session-menu-btn"
          items={[
            { label: t("rename"), icon: <EditIcon size={16} />, onSelect: onStartRename },
            { label: s.pinned ? t("unpin") : t("pin"), icon: <PinIcon size={16} />, onSelect: onPin },
            { label: t("moveTo"), icon: <FolderMoveIcon size={16} />, onSelect: onMove },
            { label: t("share"), icon: <ShareIcon size={16} />, onSelect: onShare },
            s.archivedAt
              ? { label: t("unarchive"), icon: <UnarchiveIcon size={16} />, onSelect: onArchive }
              : { label: t("archive"), icon: <ArchiveIcon size={16} />, onSelect: onArchive },
            { label: t("exportMarkdown"), icon: <DownloadIcon size={16} />, onSelect: () => onExport("markdown") },
            { label: t("exportJson"), icon: <DownloadIcon size={16} />, onSelect: () => onExport("json") },
            { label: tc("delete"), icon: <TrashIcon size={16} />, danger: true, onSelect: onDelete },
          ]}
        />
      )}
    </li>
  );
}
