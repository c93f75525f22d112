"use client";
import Link from "next/link";
import { useMemo, useRef, useState, type RefObject } from "react";
import type { PublicMe } from "./serverAuth";
import { ConfirmDialog } from "./Dialog";
import { errorMessage } from "./errors";
import { CloseIcon, Logo, NewChatIcon, SearchIcon, SelectIcon, ShieldIcon, SignOutIcon } from "./icons";
import { BookIcon } from "./knowledge/icons";
import { SessionItem } from "./SessionItem";
import { useSelection } from "./useSelection";
import { useSessionActions } from "./useSessionActions";
import { useSessionList } from "./useSessionList";
import { useSessionSearch } from "./useSessionSearch";
import { isMac, sessionTitle } from "./util";

export function Sidebar({
  me,
  currentId,
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
  onSelect: (id: string) => void;
  onNewChat: () => void;
  onClose: () => void;
  onSearchChange: (term: string) => void;
  searchInputRef: RefObject<HTMLInputElement | null>;
  onSignOut: () => void;
  onDeleted: (ids: string[]) => void;
}) {
  const mac = useMemo(isMac, []);
  const scroller = useRef<HTMLDivElement>(null);
  const { query, setQuery, search } = useSessionSearch(onSearchChange);
  const { list, sessions, groups, sentinel } = useSessionList(search, scroller);
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

  return (
    <aside className="sidebar" aria-label="Chats sidebar">
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
        <button type="button" className="icon-btn drawer-close" aria-label="Close sidebar" onClick={onClose}>
          <CloseIcon />
        </button>
      </div>

      <button type="button" className="new-chat-btn" onClick={onNewChat} title={`New chat (${mac ? "⌘⇧O" : "Ctrl+Shift+O"})`}>
        <NewChatIcon />
        <span>New chat</span>
        <kbd>{mac ? "⌘⇧O" : "Ctrl ⇧ O"}</kbd>
      </button>

      <div className="sidebar-search" role="search">
        <SearchIcon className="search-icon" />
        <input
          ref={searchInputRef}
          type="search"
          aria-label="Search chats"
          placeholder="Search chats"
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
                aria-label="Select all"
              />
              <span>All</span>
            </label>
            <button
              type="button"
              className="btn btn-danger btn-sm"
              disabled={selected.size === 0}
              onClick={() => actions.askDelete({ ids: [...selected], title: "", bulk: true })}
            >
              Delete {selected.size} {selected.size === 1 ? "session" : "sessions"}
            </button>
            <button
              type="button"
              className="btn btn-ghost btn-sm"
              onClick={endSelect}
            >
              Cancel
            </button>
          </>
        ) : (
          <>
            <span className="list-count" aria-live="polite">
              {search ? (list.isFetching && !list.isFetchingNextPage ? "Searching…" : `${sessions.length}${list.hasNextPage ? "+" : ""} found`) : ""}
            </span>
            <button
              type="button"
              className="btn btn-ghost btn-sm"
              onClick={() => setSelectMode(true)}
              disabled={sessions.length === 0}
              aria-label="Select chats"
            >
              <SelectIcon size={16} />
              <span>Select</span>
            </button>
          </>
        )}
      </div>

      <div className="session-scroll" ref={scroller}>
        <nav aria-label="Chats">
          {list.isPending && <p className="list-empty">Loading chats…</p>}
          {list.isError && (
            <p className="list-empty" role="alert">
              {errorMessage(list.error)}{" "}
              <button type="button" className="link-btn" onClick={() => list.refetch()}>
                Retry
              </button>
            </p>
          )}
          {list.isSuccess && sessions.length === 0 && (
            <p className="list-empty">{search ? `No chats match “${search}”.` : "No chats yet. Start one with New chat."}</p>
          )}
          {groups.map((g) => (
            <section key={g.name} className="session-group" aria-label={g.name}>
              <h3>{g.name}</h3>
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
                    onExport={(f) => void actions.exportAs(s, f)}
                    onDelete={() => actions.askDelete({ ids: [s.id], title: sessionTitle(s), bulk: false })}
                  />
                ))}
              </ul>
            </section>
          ))}
          <div ref={sentinel} className="sentinel" aria-hidden="true" />
          {list.isFetchingNextPage && <p className="list-empty">Loading more…</p>}
        </nav>
      </div>

      {actions.notice && (
        <div className="sidebar-notice" role="alert">
          <span>{actions.notice}</span>
          <button type="button" className="icon-btn" aria-label="Dismiss" onClick={actions.dismissNotice}>
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
              {me.user.role} · {me.tenant.name}
            </span>
          </span>
        </div>
        <Link href="/knowledge" className="icon-btn" aria-label="Knowledge bases" title="Knowledge bases">
          <BookIcon />
        </Link>
        {me.isAdmin && (
          <Link href="/admin" className="icon-btn" aria-label="Admin dashboard" title="Admin dashboard">
            <ShieldIcon />
          </Link>
        )}
        <button type="button" className="icon-btn" aria-label="Sign out" title="Sign out" onClick={onSignOut}>
          <SignOutIcon />
        </button>
      </div>

      <ConfirmDialog
        open={pendingDelete !== null}
        title={pendingDelete && pendingDelete.ids.length > 1 ? `Delete ${pendingDelete.ids.length} sessions?` : "Delete chat?"}
        confirmLabel={pendingDelete && pendingDelete.ids.length > 1 ? `Delete ${pendingDelete.ids.length} sessions` : "Delete"}
        busy={actions.deleting}
        error={actions.deleteError}
        onCancel={actions.cancelDelete}
        onConfirm={actions.confirmDelete}
      >
        {pendingDelete && pendingDelete.ids.length > 1 ? (
          <p>
            {pendingDelete.ids.length} chats and all their messages will be deleted. This cannot be undone.
          </p>
        ) : (
          <p>
            <strong>{pendingDelete?.title || (pendingDelete && sessionTitle(sessions.find((s) => s.id === pendingDelete.ids[0])))}</strong> and all
            its messages will be deleted. This cannot be undone.
          </p>
        )}
      </ConfirmDialog>
    </aside>
  );
}
