"use client";
import { skipToken } from "@tanstack/react-query";
import { useSubscription } from "@trpc/tanstack-react-query";
import { useCallback, useEffect, type Dispatch } from "react";
import { errorMessage } from "./errors";
import { useSessionCache } from "./sessionCache";
import type { Action, StreamState } from "./streamReducer";
import { useTRPC, type StreamEvent } from "./trpc";

/** Give up waiting for the replay to catch up with the stored text after this long. */
const RESTORE_TIMEOUT_MS = 8000;

/**
 * Follows the one answer being written (`stream`) over `chat.stream`, feeding its events to the
 * reducer and keeping the session lists in step (a new title, a finished answer).
 */
export function useAnswerStream(sessionId: string | null, stream: StreamState | null, dispatch: Dispatch<Action>) {
  const trpc = useTRPC();
  const cache = useSessionCache();

  const onEvent = useCallback(
    (messageId: string, event: StreamEvent) => {
      if (event.type === "title" && sessionId) cache.patch(sessionId, { title: event.title });
      dispatch({ type: "event", messageId, event });
      if (event.type === "complete" || event.type === "stop" || event.type === "error") void cache.invalidate();
    },
    [cache, sessionId, dispatch],
  );
  const subscription = useSubscription(
    trpc.chat.stream.subscriptionOptions(stream && sessionId ? { sessionId, messageId: stream.messageId } : skipToken, {
      enabled: Boolean(stream && sessionId),
      onData: (tracked) => {
        const messageId = stream?.messageId;
        if (!messageId) return;
        const event = "data" in tracked && "id" in tracked ? tracked.data : tracked;
        onEvent(messageId, event);
      },
      onError: (error) => {
        if (stream) dispatch({ type: "streamError", messageId: stream.messageId, error: errorMessage(error) });
      },
    }),
  );

  const restoring = Boolean(stream?.restoring);
  useEffect(() => {
    if (!restoring) return;
    const t = setTimeout(() => dispatch({ type: "restoreTimeout" }), RESTORE_TIMEOUT_MS);
    return () => clearTimeout(t);
  }, [restoring, stream?.messageId, dispatch]);

  return {
    /** The answer being followed, if any. */
    streamingMessageId: stream?.messageId ?? null,
    restoring,
    connectionError: stream?.connectionError,
    /** Subscribe again after the connection failed for good, replaying from the first event. */
    reconnect: () => {
      dispatch({ type: "resubscribe" });
      subscription.reset();
    },
  };
}
