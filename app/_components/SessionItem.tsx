"use client";
import { useTranslations } from "next-intl";
import { useEffect, useRef, useState } from "react";
import { Highlight } from "./Highlight";
import { DownloadIcon, EditIcon, MoreIcon, PinIcon, TrashIcon } from "./icons";
import { Menu } from "./Menu";
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
        <RenameInput initial={s.title} onSave={onRename} onCancel={onCancelRename} />
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
            { label: t("exportMarkdown"), icon: <DownloadIcon size={16} />, onSelect: () => onExport("markdown") },
            { label: t("exportJson"), icon: <DownloadIcon size={16} />, onSelect: () => onExport("json") },
            { label: tc("delete"), icon: <TrashIcon size={16} />, danger: true, onSelect: onDelete },
          ]}
        />
      )}
    </li>
  );
}

function RenameInput({ initial, onSave, onCancel }: { initial: string; onSave: (t: string) => void; onCancel: () => void }) {
  const t = useTranslations("sessionItem");
  const [value, setValue] = useState(initial);
  const done = useRef(false);
  const ref = useRef<HTMLInputElement>(null);
  useEffect(() => {
    ref.current?.focus();
    ref.current?.select();
  }, []);
  const finish = (save: boolean) => {
    if (done.current) return;
    done.current = true;
    const title = value.trim().slice(0, TITLE_MAX_LENGTH);
    if (save && title) onSave(title);
    else onCancel();
  };
  return (
    <input
      ref={ref}
      className="rename-input"
      aria-label={t("titleLabel")}
      maxLength={TITLE_MAX_LENGTH}
      value={value}
      onChange={(e) => setValue(e.target.value)}
      onKeyDown={(e) => {
        if (e.key === "Enter") {
          e.preventDefault();
          finish(true);
        } else if (e.key === "Escape") {
          e.preventDefault();
          e.stopPropagation();
          finish(false);
        }
      }}
      onBlur={() => finish(true)}
    />
  );
}
