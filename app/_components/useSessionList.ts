"use client";
import { useInfiniteQuery } from "@tanstack/react-query";
import { useCallback, useMemo, type RefObject } from "react";
import { groupSessions } from "./dateGroups";
import { listFilter, type ListView } from "./listView";
import { useInView } from "./useInView";
import { useTRPC } from "./trpc";

const PAGE_SIZE = 30;

/**
 * The sidebar's chats in `view`, a cursor page at a time (or the matches of `search`), grouped for display.
 * The next page loads when the returned sentinel comes within 200px of the end of `scroller`.
 */
export function useSessionList(search: string, view: ListView, scroller: RefObject<HTMLElement | null>) {
  const trpc = useTRPC();
  const filter = listFilter(view);
  const list = useInfiniteQuery(
    trpc.session.list.infiniteQueryOptions(
      { limit: PAGE_SIZE, ...filter, ...(search && { search }) },
      {
        getNextPageParam: (last) => last.nextCursor ?? undefined,
        // While a search is typed the last results stay up; another view's chats never stand in for this one's.
        placeholderData: (previous, previousQuery) => {
          const was = (previousQuery?.queryKey[1] as { input?: typeof filter } | undefined)?.input;
          return was?.folderId === filter.folderId && was?.archived === filter.archived ? previous : undefined;
        },
      },
    ),
  );
  // A session that moved between pages while paging shows once.
  const sessions = useMemo(() => {
    const seen = new Set<string>();
    return (list.data?.pages ?? []).flatMap((p) => p.items).filter((s) => !seen.has(s.id) && seen.add(s.id));
  }, [list.data]);
  const groups = useMemo(() => groupSessions(sessions, search), [sessions, search]);

  const { hasNextPage, isFetchingNextPage, fetchNextPage } = list;
  const loadMore = useCallback(() => {
    if (!isFetchingNextPage) void fetchNextPage();
  }, [isFetchingNextPage, fetchNextPage]);
  const sentinel = useInView<HTMLDivElement>(scroller, "200px", hasNextPage ? loadMore : null, sessions.length);

  return { list, sessions, groups, sentinel };
}
