"use client";
import { keepPreviousData, useInfiniteQuery } from "@tanstack/react-query";
import { useCallback, useMemo, type RefObject } from "react";
import { groupSessions } from "./dateGroups";
import { useInView } from "./useInView";
import { useTRPC } from "./trpc";

const PAGE_SIZE = 30;

/**
 * The sidebar's chats, a cursor page at a time (or the matches of `search`), grouped for display.
 * The next page loads when the returned sentinel comes within 200px of the end of `scroller`.
 */
export function useSessionList(search: string, scroller: RefObject<HTMLElement | null>) {
  const trpc = useTRPC();
  const list = useInfiniteQuery(
    trpc.session.list.infiniteQueryOptions(
      { limit: PAGE_SIZE, ...(search && { search }) },
      { getNextPageParam: (last) => last.nextCursor ?? undefined, placeholderData: keepPreviousData },
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
