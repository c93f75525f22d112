"use client";
import { useQueryClient, type InfiniteData } from "@tanstack/react-query";
import { useMemo } from "react";
import { listsSession, type ListInput } from "./listView";
import { useTRPC, type Session } from "./trpc";

type ListPage = { items: Session[]; nextCursor: string | null; total?: number };
const inputOf = (key: readonly unknown[]): ListInput => (key[1] as { input?: ListInput } | undefined)?.input;

function mapPages(data: unknown, fn: (items: Session[], pageIndex: number) => Session[]): unknown {
  const d = data as InfiniteData<ListPage> | undefined;
  if (!d?.pages) return data;
  return { ...d, pages: d.pages.map((p, i) => ({ ...p, items: fn(p.items, i) })) };
}

/** Keeps every cached session list (sidebar pages, searches, folders, archive) and `session.get` in step with changes. */
export function useSessionCache() {
  const trpc = useTRPC();
  const qc = useQueryClient();
  return useMemo(() => {
    const listKey = trpc.session.list.pathKey();
    return {
      /** Changes a session everywhere; a list whose filters no longer take it (moved, archived) drops it. */
      patch(id: string, patch: Partial<Session>) {
        for (const [key, data] of qc.getQueriesData({ queryKey: listKey })) {
          const input = inputOf(key);
          qc.setQueryData(key, mapPages(data, (items) => items.flatMap((s) => (s.id !== id ? [s] : listsSession(input, { ...s, ...patch }) ? [{ ...s, ...patch }] : []))));
        }
        qc.setQueryData(trpc.session.get.queryKey({ id }), (old) => (old ? { ...old, ...patch } : old));
      },
      /** Puts a session at the top of the unsearched lists that take it (pinned ones stay above it). */
      upsertTop(session: Session) {
        const queries = qc.getQueriesData<InfiniteData<ListPage>>({ queryKey: listKey });
        for (const [key, data] of queries) {
          const input = inputOf(key);
          if (!data?.pages || input?.search || !listsSession(input, session)) continue;
          const without = data.pages.map((p) => ({ ...p, items: p.items.filter((s) => s.id !== session.id) }));
          const first = without[0];
          if (!first) continue;
          const pinnedCount = first.items.findIndex((s) => !s.pinned);
          const at = session.pinned ? 0 : pinnedCount === -1 ? first.items.length : pinnedCount;
          const items = [...first.items.slice(0, at), session, ...first.items.slice(at)];
          qc.setQueryData(key, { ...data, pages: [{ ...first, items }, ...without.slice(1)] });
        }
        qc.setQueryData(trpc.session.get.queryKey({ id: session.id }), session);
      },
      remove(ids: string[]) {
        const gone = new Set(ids);
        qc.setQueriesData({ queryKey: listKey }, (data) => mapPages(data, (items) => items.filter((s) => !gone.has(s.id))));
        for (const id of ids) qc.removeQueries({ queryKey: trpc.session.get.queryKey({ id }) });
      },
      invalidate() {
        return qc.invalidateQueries({ queryKey: listKey });
      },
      /** Refetches the folders, whose counts follow sessions moving, arriving and leaving. */
      invalidateFolders() {
        return qc.invalidateQueries({ queryKey: trpc.folder.list.queryKey() });
      },
    };
  }, [qc, trpc]);
}
