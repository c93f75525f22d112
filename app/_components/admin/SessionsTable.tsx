"use client";
import { useSelection } from "../useSelection";
import { keepPreviousData, useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import { ConfirmDialog } from "../Dialog";
import { errorMessage } from "../errors";
import { Highlight } from "../Highlight";
import { SearchIcon, TrashIcon } from "../icons";
import { useTRPC, type RouterOutputs } from "../trpc";
import { fullDate, sessionTitle, shortDate, useDebounced } from "../util";
import { Transcript } from "./Transcript";

type Row = RouterOutputs["admin"]["sessions"]["items"][number];
type SortKey = "title" | "owner" | "messages" | "updated";

const PAGE = 25;

export function SessionsTable() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [query, setQuery] = useState("");
  const search = useDebounced(query.trim(), 250);
  const [userId, setUserId] = useState("");
  const [sort, setSort] = useState<{ key: SortKey; dir: "asc" | "desc" }>({ key: "updated", dir: "desc" });
  const [confirming, setConfirming] = useState(false);
  const [open, setOpen] = useState<Row | null>(null);

  const users = useQuery(trpc.admin.users.list.queryOptions());
  const list = useInfiniteQuery(
    trpc.admin.sessions.infiniteQueryOptions(
      { limit: PAGE, ...(search && { search }), ...(userId && { userId }) },
      { getNextPageParam: (last) => last.nextCursor ?? undefined, placeholderData: keepPreviousData },
    ),
  );
  const rows = useMemo(() => {
    const seen = new Set<string>();
    const all = (list.data?.pages ?? []).flatMap((p) => p.items).filter((r) => !seen.has(r.id) && seen.add(r.id));
    const value = (r: Row): string | number =>
      sort.key === "title"
        ? sessionTitle(r).toLowerCase()
        : sort.key === "owner"
          ? (r.owner?.name ?? "").toLowerCase()
          : sort.key === "messages"
            ? r.messageCount
            : new Date(r.updatedAt).getTime();
    return all.sort((a, b) => {
      const va = value(a);
      const vb = value(b);
      const c = va < vb ? -1 : va > vb ? 1 : 0;
      return sort.dir === "asc" ? c : -c;
    });
  }, [list.data, sort]);

  const deleteMany = useMutation(trpc.session.deleteMany.mutationOptions());
  const runDelete = async () => {
    try {
      await deleteMany.mutateAsync({ ids: [...selected] });
      clearSelection();
      setConfirming(false);
      await Promise.all([
        queryClient.invalidateQueries({ queryKey: trpc.admin.pathKey() }),
        queryClient.invalidateQueries({ queryKey: trpc.session.pathKey() }),
      ]);
    } catch {
      /* shown in the dialog */
    }
  };

  const { selected, allSelected, toggle, toggleAll, clear: clearSelection } = useSelection(rows.map((r) => r.id));
  const sortBy = (key: SortKey) =>
    setSort((s) => (s.key === key ? { key, dir: s.dir === "asc" ? "desc" : "asc" } : { key, dir: key === "title" || key === "owner" ? "asc" : "desc" }));
  const header = (key: SortKey, label: string, className?: string) => (
    <th scope="col" className={className} aria-sort={sort.key === key ? (sort.dir === "asc" ? "ascending" : "descending") : "none"}>
      <button type="button" className="th-sort" onClick={() => sortBy(key)}>
        {label}
        <span className="sort-arrow" aria-hidden="true">
          {sort.key === key ? (sort.dir === "asc" ? "▲" : "▼") : ""}
        </span>
      </button>
    </th>
  );

  return (
    <section className="card" aria-labelledby="sessions-title">
      <header className="card-header">
        <h2 id="sessions-title">All sessions</h2>
        <span className="muted">{list.isFetching && !list.isFetchingNextPage ? "Loading…" : `${rows.length}${list.hasNextPage ? "+" : ""} shown`}</span>
      </header>
      <div className="table-toolbar">
        <div className="input-with-icon">
          <SearchIcon className="search-icon" />
          <input type="search" aria-label="Search sessions" placeholder="Search titles and messages" value={query} onChange={(e) => setQuery(e.target.value)} />
        </div>
        <select aria-label="Filter by user" value={userId} onChange={(e) => setUserId(e.target.value)}>
          <option value="">All users</option>
          {users.data?.items.map((u) => (
            <option key={u.id} value={u.id}>
              {u.name} ({u.role})
            </option>
          ))}
        </select>
        <select
          className="mobile-sort"
          aria-label="Sort sessions"
          value={`${sort.key}:${sort.dir}`}
          onChange={(e) => {
            const [key, dir] = e.target.value.split(":") as [SortKey, "asc" | "desc"];
            setSort({ key, dir });
          }}
        >
          <option value="updated:desc">Newest first</option>
          <option value="updated:asc">Oldest first</option>
          <option value="messages:desc">Most messages</option>
          <option value="title:asc">Title A–Z</option>
          <option value="owner:asc">Owner A–Z</option>
        </select>
        <button type="button" className="btn btn-danger btn-sm" disabled={selected.size === 0} onClick={() => setConfirming(true)}>
          <TrashIcon size={15} />
          <span>Delete {selected.size} selected</span>
        </button>
      </div>

      {list.isError && (
        <p className="panel-empty" role="alert">
          {errorMessage(list.error)}
        </p>
      )}
      <div className="table-wrap">
        <table className="data-table stack">
          <thead>
            <tr>
              <th scope="col" className="col-check">
                <input
                  type="checkbox"
                  aria-label="Select all sessions"
                  checked={allSelected}
                  onChange={toggleAll}
                />
              </th>
              {header("title", "Title")}
              {header("owner", "Owner")}
              {header("messages", "Messages", "num")}
              {header("updated", "Last update")}
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.id} className={selected.has(r.id) ? "selected" : ""}>
                <td className="col-check">
                  <input type="checkbox" aria-label={`Select ${sessionTitle(r)}`} checked={selected.has(r.id)} onChange={() => toggle(r.id)} />
                </td>
                <td className="col-title">
                  <button type="button" className="link-btn row-title" onClick={() => setOpen(r)} title="Open the transcript">
                    {r.pinned && <span className="badge">Pinned</span>}
                    <Highlight text={sessionTitle(r)} query={search} />
                  </button>
                </td>
                <td className="col-owner" data-label="Owner">
                  <span className="owner">{r.owner?.name ?? "—"}</span> <span className={`role role-${r.owner?.role}`}>{r.owner?.role}</span>
                </td>
                <td className="num" data-label="Messages">
                  {r.messageCount}
                </td>
                <td data-label="Updated" title={fullDate(r.updatedAt)}>
                  {shortDate(r.updatedAt)}
                </td>
              </tr>
            ))}
            {list.isSuccess && rows.length === 0 && (
              <tr>
                <td colSpan={5} className="panel-empty">
                  {search || userId ? "No sessions match." : "No sessions yet."}
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      {list.hasNextPage && (
        <div className="table-more">
          <button type="button" className="btn" onClick={() => list.fetchNextPage()} disabled={list.isFetchingNextPage}>
            {list.isFetchingNextPage ? "Loading…" : "Load more"}
          </button>
        </div>
      )}

      <ConfirmDialog
        open={confirming}
        title={`Delete ${selected.size} ${selected.size === 1 ? "session" : "sessions"}?`}
        confirmLabel={`Delete ${selected.size} ${selected.size === 1 ? "session" : "sessions"}`}
        busy={deleteMany.isPending}
        error={deleteMany.error ? errorMessage(deleteMany.error) : undefined}
        onCancel={() => {
          setConfirming(false);
          deleteMany.reset();
        }}
        onConfirm={runDelete}
      >
        <p>The selected sessions and all their messages will be deleted for their owners too. This cannot be undone.</p>
      </ConfirmDialog>
      {open && <Transcript session={open} onClose={() => setOpen(null)} />}
    </section>
  );
}
