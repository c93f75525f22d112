"use client";
import { useTranslations } from "next-intl";
import { useMutation } from "@tanstack/react-query";
import { useState, type Dispatch } from "react";
import { errorCode, errorMessage } from "./errors";
import { useSessionCache } from "./sessionCache";
import type { Action, UiMessage } from "./streamReducer";
import { useTRPC, useTRPCClient, type Session } from "./trpc";
import { uuid } from "./util";

/**
 * Asking and stopping: a question shows at once and is sent with its own requestId (so a retry is
 * the same request); a new chat becomes a session on its first message, or when its settings open.
 */
export function useChatTurns({
  sessionId,
  placement,
  streamingMessageId,
  dispatch,
  onSessionCreated,
  onOpenSettings,
  beforeSend,
  onError,
}: {
  sessionId: string | null;
  /** Where a new chat's session goes: a folder, or a temporary chat (in none). */
  placement: { folderId?: string | null; temporary?: true };
  streamingMessageId: string | null;
  dispatch: Dispatch<Action>;
  /** The session this view just created (for the first message or the settings). */
  onSessionCreated: (session: Session) => void;
  onOpenSettings: () => void;
  /** Just before a question is shown. */
  beforeSend: () => void;
  onError: (message: string | null) => void;
}) {
  const trpc = useTRPC();
  const client = useTRPCClient();
  const t = useTranslations("chat");
  const cache = useSessionCache();
  const createSession = useMutation(trpc.session.create.mutationOptions());
  const stopMutation = useMutation(trpc.chat.stop.mutationOptions({ onError: (e) => onError(errorMessage(e)) }));
  const [sending, setSending] = useState(false);

  const deliver = async (targetId: string, temp: UiMessage) => {
    try {
      const turn = await client.chat.send.mutate({ sessionId: targetId, query: temp.content, requestId: temp.requestId });
      dispatch({ type: "sent", tempId: temp.id, userMessage: turn.userMessage, assistantMessage: turn.assistantMessage });
      void cache.invalidate();
    } catch (e) {
      const code = errorCode(e);
      dispatch({
        type: "sendFailed",
        tempId: temp.id,
        error: code === "CONFLICT" ? t("conflict") : errorMessage(e),
      });
    }
  };

  const startSession = async (): Promise<string> => {
    const created = await createSession.mutateAsync(placement);
    cache.upsertTop(created);
    if (created.folderId) void cache.invalidateFolders();
    onSessionCreated(created);
    return created.id;
  };

  const openSettings = async () => {
    try {
      if (!sessionId) await startSession();
      onOpenSettings();
    } catch (e) {
      onError(errorMessage(e));
    }
  };

  const send = async (text: string): Promise<boolean> => {
    const query = text.trim();
    if (!query || sending || streamingMessageId) return false;
    setSending(true);
    onError(null);
    try {
      const target = sessionId ?? (await startSession());
      const requestId = uuid();
      const now = new Date();
      const temp: UiMessage = {
        id: `pending-${requestId}`,
        sessionId: target,
        requestId,
        role: "user",
        content: query,
        status: "completed",
        references: [],
        model: null,
        channel: "web",
        parentId: null,
        siblings: { index: 1, count: 1 },
        feedback: null,
        createdAt: now,
        updatedAt: now,
        pending: true,
      };
      beforeSend();
      dispatch({ type: "optimistic", message: temp });
      await deliver(target, temp);
      return true;
    } catch (e) {
      onError(errorMessage(e));
      return false;
    } finally {
      setSending(false);
    }
  };

  const retrySend = async (temp: UiMessage) => {
    if (!sessionId || sending) return;
    setSending(true);
    dispatch({ type: "retrySend", tempId: temp.id });
    await deliver(sessionId, temp);
    setSending(false);
  };

  const stop = () => {
    if (sessionId && streamingMessageId) stopMutation.mutate({ sessionId, messageId: streamingMessageId });
  };

  return { send, retrySend, openSettings, stop, stopping: stopMutation.isPending, busy: sending || streamingMessageId !== null };
}
