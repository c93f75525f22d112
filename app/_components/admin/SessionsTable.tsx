"use client";
import { useTranslations } from "next-intl";
import { useSelection } from "../useSelection";
import { keepPreviousData, useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import { ConfirmDialog } from "../Dialog";
import { errorMessage } from "../errors";
import { Highlight } from "../Highlight";
import { SearchIcon, TrashIcon } from "../icons";
import { useTRPC, type RouterOutputs } from "../trpc";
import { useDates, useDebounced, useSessionTitle } from "../util";
import { Transcript } from "./Transcript";

type Row = RouterOutputs["admin"]["sessions"]["items"][number];
type SortKey = "title" | "owner" | "messages" | "updated";

const PAGE = 25;

export function SessionsTable() {
  const t = useTranslations("admin.sessions");
  const tc = useTranslations("common");
  const tr = useTranslations("account");
  const { shortDate, fullDate } = useDates();
  const sessionTitle = useSessionTitle();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [query, setQuery] = useState("");
  const search = useDebounced(query.trim(), 250);
  const [userId, setUserId] = useState("");
  const [ratedDown, setRatedDown] = useState(false);
  const [sort, setSort] = useState<{ key: SortKey; dir: "asc" | "desc" }>({ key: "updated", dir: "desc" });
  const [confirming, setConfirming] = useState(false);
  const [open, setOpen] = useState<Row | null>(null);

  const users = useQuery(trpc.admin.users.list.queryOptions());
  const list = useInfiniteQuery(
    trpc.admin.sessions.infiniteQueryOptions(
      { limit: PAGE, ...(search && { search }), ...(userId && { userId }), ...(ratedDown && { feedback: "down" as const }) },
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
  }, [list.data, sort, sessionTitle]);

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
        <h2 id="sessions-title">{t("title")}</h2>
        <span className="muted">{list.isFetching && !list.isFetchingNextPage ? tc("loading") : t("shown", { count: rows.length, more: list.hasNextPage ? "+" : "" })}</span>
      </header>
      <div className="table-toolbar">
        <div className="input-with-icon">
          <SearchIcon className="search-icon" />
          <input type="search" aria-label={t("search")} placeholder={t("searchPlaceholder")} value={query} onChange={(e) => setQuery(e.target.value)} />
        </div>
        <select aria-label={t("filterUser")} value={userId} onChange={(e) => setUserId(e.target.value)}>
          <option value="">{t("allUsers")}</option>
          {users.data?.items.map((u) => (
            <option key={u.id} value={u.id}>
              {u.name} ({tr(`roles.${u.role}`)})
            </option>
          ))}
        </select>
        <label className="check-label">
          <input type="checkbox" checked={ratedDown} onChange={(e) => setRatedDown(e.target.checked)} />
          {t("ratedDownOnly")}
        </label>
        <select
          className="mobile-sort"
          aria-label={t("sort")}
          value={`${sort.key}:${sort.dir}`}
          onChange={(e) => {
            const [key, dir] = e.target.value.split(":") as [SortKey, "asc" | "desc"];
            setSort({ key, dir });
          }}
        >
          <option value="updated:desc">{t("newest")}</option>
          <option value="updated:asc">{t("oldest")}</option>
          <option value="messages:desc">{t("mostMessages")}</option>
          <option value="title:asc">{t("titleAZ")}</option>
          <option value="owner:asc">{t("ownerAZ")}</option>
        </select>
        <button type="button" className="btn btn-danger btn-sm" disabled={selected.size === 0} onClick={() => setConfirming(true)}>
          <TrashIcon size={15} />
          <span>{t("deleteSelected", { count: selected.size })}</span>
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
                  aria-label={t("selectAll")}
                  checked={allSelected}
                  onChange={toggleAll}
                />
              </th>
              {header("title", t("colTitle"))}
              {header("owner", t("colOwner"))}
              {header("messages", t("colMessages"), "num")}
              {header("updated", t("colUpdated"))}
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.id} className={selected.has(r.id) ? "selected" : ""}>
                <td className="col-check">
                  <input type="checkbox" aria-label={t("select", { title: sessionTitle(r) })} checked={selected.has(r.id)} onChange={() => toggle(r.id)} />
                </td>
                <td className="col-title">
                  <button type="button" className="link-btn row-title" onClick={() => setOpen(r)} title={t("openTranscript")}>
                    {r.pinned && <span className="badge">{t("pinned")}</span>}
                    {r.temporary && <span className="badge badge-temporary">{t("temporary")}</span>}
                    <Highlight text={sessionTitle(r)} query={search} />
                  </button>
                </td>
                <td className="col-owner" data-label={t("colOwner")}>
                  <span className="owner">{r.owner?.name ?? "—"}</span> <span className={`role role-${r.owner?.role}`}>{r.owner && tr(`roles.${r.owner.role}`)}</span>
                </td>
                <td className="num" data-label={t("colMessages")}>
                  {r.messageCount}
                </td>
                <td data-label={t("updated")} title={fullDate(r.updatedAt)}>
                  {shortDate(r.updatedAt)}
                </td>
              </tr>
            ))}
            {list.isSuccess && rows.length === 0 && (
              <tr>
                <td colSpan={5} className="panel-empty">
                  {search || userId || ratedDown ? t("noMatch") : t("none")}
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      {list.hasNextPage && (
        <div className="table-more">
          <button type="button" className="btn" onClick={() => void list.fetchNextPage()} disabled={list.isFetchingNextPage}>
            {list.isFetchingNextPage ? tc("loading") : tc("loadMore")}
          </button>
        </div>
      )}

      <ConfirmDialog
        open={confirming}
        title={t("deleteTitle", { count: selected.size })}
        confirmLabel={t("deleteConfirm", { count: selected.size })}
        busy={deleteMany.isPending}
        error={deleteMany.error ? errorMessage(deleteMany.error) : undefined}
        onCancel={() => {
          setConfirming(false);
          deleteMany.reset();
        }}
        onConfirm={() => void runDelete()}
      >
        <p>{t("deleteBody")}</p>
      </ConfirmDialog>
      {open && <Transcript session={open} onClose={() => setOpen(null)} />}
    </section>
  );
}
