"use client";
import { useTranslations } from "next-intl";
import Link from "next/link";
import { useMemo, useRef, useState, type RefObject } from "react";
import type { PublicMe } from "./serverAuth";
import { ConfirmDialog } from "./Dialog";
import { FolderNav } from "./FolderNav";
import type { ListView } from "./listView";
import { MoveDialog } from "./MoveDialog";
import { ShareDialog } from "./ShareDialog";
import { errorMessage } from "./errors";
import { CloseIcon, Logo, NewChatIcon, SearchIcon, SelectIcon, ShieldIcon, SignOutIcon } from "./icons";
import { BookIcon } from "./knowledge/icons";
import { SessionItem } from "./SessionItem";
import type { Session } from "./trpc";
import { useSelection } from "./useSelection";
import { useSessionActions } from "./useSessionActions";
import { useSessionList } from "./useSessionList";
import { useSessionSearch } from "./useSessionSearch";
import { LanguageMenu } from "./account";
import type { DateGroup } from "./dateGroups";
import { isMac, useSessionTitle } from "./util";

/** Message keys of the sidebar's sections (dateGroups.ts names them in English). */
const GROUP_KEYS: Record<DateGroup | "Results", "pinned" | "today" | "yesterday" | "previous7Days" | "older" | "results"> = {
  Pinned: "pinned",
  Today: "today",
  Yesterday: "yesterday",
  "Previous 7 days": "previous7Days",
  Older: "older",
  Results: "results",
};

/** What the list says when a view has no chats. */
const EMPTY_KEYS: Record<ListView["kind"], "noChats" | "noChatsInFolder" | "noArchived"> = {
  all: "noChats",
  folder: "noChatsInFolder",
  archived: "noArchived",
};

export function Sidebar({
  me,
  currentId,
  view,
  onViewChange,
  onSelect,
  onNewChat,
  onClose,
  onSearchChange,
  searchInputRef,
  onSignOut,
  onDeleted,
}: {
  me: PublicMe;
  currentId: string | null;
  view: ListView;
  onViewChange: (view: ListView) => void;
  onSelect: (id: string) => void;
  onNewChat: () => void;
  onClose: () => void;
  onSearchChange: (term: string) => void;
  searchInputRef: RefObject<HTMLInputElement | null>;
  onSignOut: () => void;
  onDeleted: (ids: string[]) => void;
}) {
  const t = useTranslations("sidebar");
  const tc = useTranslations();
  const sessionTitle = useSessionTitle();
  const mac = useMemo(isMac, []);
  const scroller = useRef<HTMLDivElement>(null);
  const { query, setQuery, search } = useSessionSearch(onSearchChange);
  const { list, sessions, groups, sentinel } = useSessionList(search, view, scroller);
  const [selectMode, setSelectMode] = useState(false);
  const { selected, allSelected, toggle, toggleAll, clear: clearSelection } = useSelection(sessions.map((s) => s.id));
  const endSelect = () => {
    setSelectMode(false);
    clearSelection();
  };
  const actions = useSessionActions((ids) => {
    onDeleted(ids);
    endSelect();
  });
  const { pendingDelete } = actions;
  // The chat whose "Move to…" or "Share" dialog is open.
  const [moving, setMoving] = useState<Session | null>(null);
  const [sharing, setSharing] = useState<Session | null>(null);
  const changeView = (next: ListView) => {
    endSelect();
    onViewChange(next);
  };

  return (
    <aside className="sidebar" aria-label={t("label")}>
      <div className="sidebar-top">
        <a
          href="/"
          className="brand"
          onClick={(e) => {
            e.preventDefault();
            onNewChat();
          }}
        >
          <Logo size={26} />
          <span>Parley</span>
        </a>
        <button type="button" className="icon-btn drawer-close" aria-label={t("closeSidebar")} onClick={onClose}>
          <CloseIcon />
        </button>
      </div>

      <button type="button" className="new-chat-btn" onClick={onNewChat} title={t("newChatShortcut", { keys: mac ? "⌘⇧O" : "Ctrl+Shift+O" })}>
        <NewChatIcon />
        <span>{tc("chat.newChat")}</span>
        <kbd>{mac ? "⌘⇧O" : "Ctrl ⇧ O"}</kbd>
      </button>

      <div className="sidebar-search" role="search">
        <SearchIcon className="search-icon" />
        <input
          ref={searchInputRef}
          type="search"
          aria-label={t("search")}
          placeholder={t("search")}
          value={query}
          onChange={(e) => setQuery(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === "Escape") {
              setQuery("");
              (e.target as HTMLInputElement).blur();
            }
          }}
        />
        {!query && <kbd className="search-kbd">{mac ? "⌘K" : "Ctrl K"}</kbd>}
      </div>

      <div className="list-toolbar">
        {selectMode ? (
          <>
            <label className="select-all">
              <input
                type="checkbox"
                checked={allSelected}
                onChange={toggleAll}
                aria-label={t("selectAll")}
              />
              <span>{t("all")}</span>
            </label>
            <button
              type="button"
              className="btn btn-danger btn-sm"
              disabled={selected.size === 0}
              onClick={() => actions.askDelete({ ids: [...selected], title: "", bulk: true })}
            >
              {t("deleteSelected", { count: selected.size })}
            </button>
            <button
              type="button"
              className="btn btn-ghost btn-sm"
              onClick={endSelect}
            >
              {tc("common.cancel")}
            </button>
          </>
        ) : (
          <>
            <span className="list-count" aria-live="polite">
              {search ? (list.isFetching && !list.isFetchingNextPage ? t("searching") : t("found", { count: sessions.length, more: list.hasNextPage ? "+" : "" })) : ""}
            </span>
            <button
              type="button"
              className="btn btn-ghost btn-sm"
              onClick={() => setSelectMode(true)}
              disabled={sessions.length === 0}
              aria-label={t("selectChats")}
            >
              <SelectIcon size={16} />
              <span>{t("select")}</span>
            </button>
          </>
        )}
      </div>

      <div className="session-scroll" ref={scroller}>
        <FolderNav view={view} onViewChange={changeView} />
        <nav aria-label={t("chats")}>
          {list.isPending && <p className="list-empty">{t("loadingChats")}</p>}
          {list.isError && (
            <p className="list-empty" role="alert">
              {errorMessage(list.error)}{" "}
              <button type="button" className="link-btn" onClick={() => void list.refetch()}>
                {tc("common.retry")}
              </button>
            </p>
          )}
          {list.isSuccess && sessions.length === 0 && (
            <p className="list-empty">{search ? t("noMatch", { search }) : t(EMPTY_KEYS[view.kind])}</p>
          )}
          {groups.map((g) => (
            <section key={g.name} className="session-group" aria-label={t(`groups.${GROUP_KEYS[g.name as DateGroup | "Results"]}`)}>
              <h3>{t(`groups.${GROUP_KEYS[g.name as DateGroup | "Results"]}`)}</h3>
              <ul>
                {g.items.map((s) => (
                  <SessionItem
                    key={s.id}
                    session={s}
                    current={s.id === currentId}
                    search={search}
                    selectMode={selectMode}
                    checked={selected.has(s.id)}
                    onToggle={() => toggle(s.id)}
                    renaming={actions.renamingId === s.id}
                    onStartRename={() => actions.startRename(s.id)}
                    onRename={(title) => actions.rename(s, title)}
                    onCancelRename={actions.cancelRename}
                    onSelect={() => onSelect(s.id)}
                    onPin={() => actions.togglePin(s)}
                    onMove={() => setMoving(s)}
                    onShare={() => setSharing(s)}
                    onArchive={() => actions.setArchived(s, !s.archivedAt)}
                    onExport={(f) => void actions.exportAs(s, f)}
                    onDelete={() => actions.askDelete({ ids: [s.id], title: sessionTitle(s), bulk: false })}
                  />
                ))}
              </ul>
            </section>
          ))}
          <div ref={sentinel} className="sentinel" aria-hidden="true" />
          {list.isFetchingNextPage && <p className="list-empty">{t("loadingMore")}</p>}
        </nav>
      </div>

      {actions.notice && (
        <div className="sidebar-notice" role="alert">
          <span>{actions.notice}</span>
          <button type="button" className="icon-btn" aria-label={tc("common.dismiss")} onClick={actions.dismissNotice}>
            <CloseIcon size={14} />
          </button>
        </div>
      )}

      <div className="sidebar-footer">
        <div className="me">
          <span className="avatar" aria-hidden="true">
            {me.user.name.slice(0, 1).toUpperCase()}
          </span>
          <span className="me-text">
            <span className="me-name">{me.user.name}</span>
            <span className="me-sub">
              {tc(`account.roles.${me.user.role}`)} · {me.tenant.name}
            </span>
          </span>
        </div>
        <Link href="/knowledge" className="icon-btn" aria-label={t("knowledge")} title={t("knowledge")}>
          <BookIcon />
        </Link>
        {me.isAdmin && (
          <Link href="/admin" className="icon-btn" aria-label={t("admin")} title={t("admin")}>
            <ShieldIcon />
          </Link>
        )}
        <LanguageMenu />
        <button type="button" className="icon-btn" aria-label={tc("account.signOut")} title={tc("account.signOut")} onClick={onSignOut}>
          <SignOutIcon />
        </button>
      </div>

      {moving && (
        <MoveDialog title={sessionTitle(moving)} folderId={moving.folderId} onMove={(folderId) => actions.move(moving, folderId)} onClose={() => setMoving(null)} />
      )}
      {sharing && <ShareDialog sessionId={sharing.id} title={sessionTitle(sharing)} temporary={sharing.temporary} onClose={() => setSharing(null)} />}

      <ConfirmDialog
        open={pendingDelete !== null}
        title={pendingDelete && pendingDelete.ids.length > 1 ? t("deleteManyTitle", { count: pendingDelete.ids.length }) : t("deleteOneTitle")}
        confirmLabel={pendingDelete && pendingDelete.ids.length > 1 ? t("deleteSelected", { count: pendingDelete.ids.length }) : tc("common.delete")}
        busy={actions.deleting}
        error={actions.deleteError}
        onCancel={actions.cancelDelete}
        onConfirm={() => void actions.confirmDelete()}
      >
        {pendingDelete && pendingDelete.ids.length > 1 ? (
          <p>{t("deleteManyBody", { count: pendingDelete.ids.length })}</p>
        ) : (
          <p>
            {t.rich("deleteOneBody", {
              title: pendingDelete?.title || (pendingDelete ? sessionTitle(sessions.find((s) => s.id === pendingDelete.ids[0])) : ""),
              strong: (chunk) => <strong>{chunk}</strong>,
            })}
          </p>
        )}
      </ConfirmDialog>
    </aside>
  );
}
