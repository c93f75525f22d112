"use client";
import { useTranslations } from "next-intl";
import { useCallback, useEffect, useRef, type Dispatch, type RefObject } from "react";
import { errorCode, errorMessage } from "./errors";
import type { Action, ConversationState } from "./streamReducer";
import { useTRPCClient } from "./trpc";
import { useInView } from "./useInView";

const PAGE = 30;

/**
 * The conversation's messages, a page at a time: the newest page when a session opens, older pages
 * when the returned top sentinel comes within 150px of `scroller`'s top (once `settled`) or on
 * `loadOlder`. `holdPlace` runs just before an older page is put above.
 */
export function useMessagePages({
  sessionId,
  state,
  dispatch,
  scroller,
  settled,
  holdPlace,
  onError,
}: {
  sessionId: string | null;
  state: ConversationState;
  dispatch: Dispatch<Action>;
  scroller: RefObject<HTMLElement | null>;
  settled: () => boolean;
  holdPlace: () => void;
  onError: (message: string) => void;
}) {
  const client = useTRPCClient();
  const t = useTranslations("chat");
  const createdHere = useRef<string | null>(null);

  // Load the newest page whenever this view opens a session it did not just create itself.
  useEffect(() => {
    if (!sessionId) return;
    if (createdHere.current === sessionId) return;
    let cancelled = false;
    client.message.list
      .query({ sessionId, limit: PAGE })
      .then((page) => !cancelled && dispatch({ type: "loaded", items: page.items, hasMore: page.hasMore }))
      .catch((e) => !cancelled && dispatch({ type: "loadFailed", error: errorCode(e) === "NOT_FOUND" ? t("notFound") : errorMessage(e) }));
    return () => {
      cancelled = true;
    };
  }, [sessionId, client, dispatch, t]);

  const loadOlder = useCallback(async () => {
    if (!sessionId || state.loadingOlder || !state.hasMore) return;
    const oldest = state.messages.find((m) => !m.pending);
    if (!oldest) return;
    dispatch({ type: "olderLoading" });
    try {
      const page = await client.message.list.query({ sessionId, before: new Date(oldest.createdAt), limit: PAGE });
      holdPlace();
      dispatch({ type: "older", items: page.items, hasMore: page.hasMore });
    } catch (e) {
      dispatch({ type: "olderFailed" });
      onError(errorMessage(e));
    }
  }, [client, sessionId, state.hasMore, state.loadingOlder, state.messages, dispatch, holdPlace, onError]);

  /** The newest page again, as when the session opened (after the active path changed). */
  const reload = useCallback(async () => {
    if (!sessionId) return;
    const page = await client.message.list.query({ sessionId, limit: PAGE });
    dispatch({ type: "loaded", items: page.items, hasMore: page.hasMore });
  }, [client, sessionId, dispatch]);

  const loadOlderInView = useCallback(() => settled() && void loadOlder(), [settled, loadOlder]);
  const topSentinel = useInView<HTMLDivElement>(scroller, "150px 0px 0px 0px", state.hasMore && state.status === "ready" ? loadOlderInView : null);

  return {
    loadOlder,
    reload,
    topSentinel,
    /** This view made the session itself: it has no stored messages to load. */
    createdHere: (id: string) => {
      createdHere.current = id;
    },
  };
}
