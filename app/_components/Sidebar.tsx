"use client";
import { useSelection } from "./useSelection";
import { keepPreviousData, useInfiniteQuery, useMutation, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useEffect, useMemo, useRef, useState, type RefObject } from "react";
import type { PublicMe } from "./serverAuth";
import { ConfirmDialog } from "./Dialog";
import { errorMessage } from "./errors";
import { Highlight } from "./Highlight";
import {
  CloseIcon,
  DownloadIcon,
  EditIcon,
  Logo,
  MoreIcon,
  NewChatIcon,
  PinIcon,
  SearchIcon,
  SelectIcon,
  ShieldIcon,
  SignOutIcon,
  TrashIcon,
} from "./icons";
import { BookIcon } from "./knowledge/icons";
import { Menu } from "./Menu";
import { useSessionCache } from "./sessionCache";
import { useTRPC, useTRPCClient, type Session } from "./trpc";
import { DATE_GROUPS, dateGroup, downloadText, isMac, sessionTitle, useDebounced } from "./util";

const PAGE_SIZE = 30;

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
  const trpc = useTRPC();
  const client = useTRPCClient();
  const queryClient = useQueryClient();
  const cache = useSessionCache();
  const [query, setQuery] = useState("");
  const search = useDebounced(query.trim(), 250);
  const [selectMode, setSelectMode] = useState(false);
  const [confirm, setConfirm] = useState<{ ids: string[]; title: string } | null>(null);
  const [renamingId, setRenamingId] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const mac = useMemo(isMac, []);

  useEffect(() => {
    onSearchChange(search);
  }, [search, onSearchChange]);

  const list = useInfiniteQuery(
    trpc.session.list.infiniteQueryOptions(
      { limit: PAGE_SIZE, ...(search && { search }) },
      { getNextPageParam: (last) => last.nextCursor ?? undefined, placeholderData: keepPreviousData },
    ),
  );
  const sessions = useMemo(() => {
    const seen = new Set<string>();
    return (list.data?.pages ?? []).flatMap((p) => p.items).filter((s) => !seen.has(s.id) && seen.add(s.id));
  }, [list.data]);

  // Infinite scroll: fetch the next cursor page when the end of the list comes into view.
  const scroller = useRef<HTMLDivElement>(null);
  const sentinel = useRef<HTMLDivElement>(null);
  const { hasNextPage, isFetchingNextPage, fetchNextPage } = list;
  useEffect(() => {
    const el = sentinel.current;
    if (!el || !hasNextPage) return;
    const io = new IntersectionObserver(
      (entries) => {
        if (entries.some((e) => e.isIntersecting) && !isFetchingNextPage) void fetchNextPage();
      },
      { root: scroller.current, rootMargin: "200px" },
    );
    io.observe(el);
    return () => io.disconnect();
  }, [hasNextPage, isFetchingNextPage, fetchNextPage, sessions.length]);

  const update = useMutation(
    trpc.session.update.mutationOptions({
      onSuccess: (s) => {
        cache.patch(s.id, s);
        void cache.invalidate();
      },
      onError: (e) => setNotice(errorMessage(e)),
    }),
  );
  const deleteOne = useMutation(trpc.session.delete.mutationOptions());
  const deleteMany = useMutation(trpc.session.deleteMany.mutationOptions());

  const exportSession = async (s: Session, format: "markdown" | "json") => {
    try {
      const { filename, content } = await client.session.export.query({ id: s.id, format });
      downloadText(filename, content, format === "json" ? "application/json" : "text/markdown;charset=utf-8");
    } catch (e) {
      setNotice(errorMessage(e));
    }
  };

  const runDelete = async () => {
    if (!confirm) return;
    const ids = confirm.ids;
    try {
      if (ids.length === 1 && !selectMode) await deleteOne.mutateAsync({ id: ids[0] });
      else await deleteMany.mutateAsync({ ids });
      cache.remove(ids);
      onDeleted(ids);
      setConfirm(null);
      clearSelection();
      setSelectMode(false);
      void cache.invalidate();
      void queryClient.invalidateQueries({ queryKey: trpc.admin.pathKey() });
    } catch {
      /* shown in the dialog */
    }
  };
  const deleteError = deleteOne.error ?? deleteMany.error;

  const groups = useMemo(() => {
    if (search) return [{ name: `Results`, items: sessions }];
    const now = new Date();
    const by = new Map<string, Session[]>();
    for (const s of sessions) {
      const g = dateGroup(s, now);
      by.set(g, [...(by.get(g) ?? []), s]);
    }
    return DATE_GROUPS.filter((g) => by.has(g)).map((g) => ({ name: g, items: by.get(g)! }));
  }, [sessions, search]);

  const { selected, allSelected, toggle, toggleAll, clear: clearSelection } = useSelection(sessions.map((s) => s.id));

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
              onClick={() => setConfirm({ ids: [...selected], title: "" })}
            >
              Delete {selected.size} {selected.size === 1 ? "session" : "sessions"}
            </button>
            <button
              type="button"
              className="btn btn-ghost btn-sm"
              onClick={() => {
                setSelectMode(false);
                clearSelection();
              }}
            >
              Cancel
            </button>
          </>
        ) : (
          <>
            <span className="list-count" aria-live="polite">
              {search ? (list.isFetching && !list.isFetchingNextPage ? "Searching…" : `${sessions.length}${hasNextPage ? "+" : ""} found`) : ""}
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
                    renaming={renamingId === s.id}
                    onStartRename={() => setRenamingId(s.id)}
                    onRename={(title) => {
                      setRenamingId(null);
                      if (title !== s.title) {
                        cache.patch(s.id, { title });
                        update.mutate({ id: s.id, title });
                      }
                    }}
                    onCancelRename={() => setRenamingId(null)}
                    onSelect={() => onSelect(s.id)}
                    onPin={() => {
                      cache.patch(s.id, { pinned: !s.pinned });
                      update.mutate({ id: s.id, pinned: !s.pinned });
                    }}
                    onExport={(f) => exportSession(s, f)}
                    onDelete={() => setConfirm({ ids: [s.id], title: sessionTitle(s) })}
                  />
                ))}
              </ul>
            </section>
          ))}
          <div ref={sentinel} className="sentinel" aria-hidden="true" />
          {isFetchingNextPage && <p className="list-empty">Loading more…</p>}
        </nav>
      </div>

      {notice && (
        <div className="sidebar-notice" role="alert">
          <span>{notice}</span>
          <button type="button" className="icon-btn" aria-label="Dismiss" onClick={() => setNotice(null)}>
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
        open={confirm !== null}
        title={confirm && confirm.ids.length > 1 ? `Delete ${confirm.ids.length} sessions?` : "Delete chat?"}
        confirmLabel={confirm && confirm.ids.length > 1 ? `Delete ${confirm.ids.length} sessions` : "Delete"}
        busy={deleteOne.isPending || deleteMany.isPending}
        error={deleteError ? errorMessage(deleteError) : undefined}
        onCancel={() => {
          setConfirm(null);
          deleteOne.reset();
          deleteMany.reset();
        }}
        onConfirm={runDelete}
      >
        {confirm && confirm.ids.length > 1 ? (
          <p>
            {confirm.ids.length} chats and all their messages will be deleted. This cannot be undone.
          </p>
        ) : (
          <p>
            <strong>{confirm?.title || (confirm && sessionTitle(sessions.find((s) => s.id === confirm.ids[0])))}</strong> and all
            its messages will be deleted. This cannot be undone.
          </p>
        )}
      </ConfirmDialog>
    </aside>
  );
}

function SessionItem({
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
  const title = sessionTitle(s);
  return (
    <li className={`session-item ${current ? "current" : ""} ${checked ? "checked" : ""}`} data-session-id={s.id}>
      {selectMode && (
        <input type="checkbox" className="session-check" checked={checked} onChange={onToggle} aria-label={`Select ${title}`} />
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
          {s.pinned && <PinIcon size={14} className="pin-mark" aria-label="Pinned" />}
          <span className="session-title">
            <Highlight text={title} query={search} />
          </span>
        </button>
      )}
      {!selectMode && !renaming && (
        <Menu
          label={`Options for ${title}`}
          icon={<MoreIcon />}
          className="icon-btn session-menu-btn"
          items={[
            { label: "Rename", icon: <EditIcon size={16} />, onSelect: onStartRename },
            { label: s.pinned ? "Unpin" : "Pin", icon: <PinIcon size={16} />, onSelect: onPin },
            { label: "Export as Markdown", icon: <DownloadIcon size={16} />, onSelect: () => onExport("markdown") },
            { label: "Export as JSON", icon: <DownloadIcon size={16} />, onSelect: () => onExport("json") },
            { label: "Delete", icon: <TrashIcon size={16} />, danger: true, onSelect: onDelete },
          ]}
        />
      )}
    </li>
  );
}

function RenameInput({ initial, onSave, onCancel }: { initial: string; onSave: (t: string) => void; onCancel: () => void }) {
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
    const title = value.trim().slice(0, 255);
    if (save && title) onSave(title);
    else onCancel();
  };
  return (
    <input
      ref={ref}
      className="rename-input"
      aria-label="Chat title"
      maxLength={255}
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
