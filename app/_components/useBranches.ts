"use client";
import { useTranslations } from "next-intl";
import { useState, type Dispatch } from "react";
import { errorCode, errorMessage } from "./errors";
import { useSessionCache } from "./sessionCache";
import type { Action, UiMessage } from "./streamReducer";
import { useTRPCClient } from "./trpc";
import { uuid } from "./util";

export type Rating = "up" | "down";

/**
 * The conversation's branches: a new answer to a question (regenerate), a new version of a
 * question (edit), paging between a message's versions (the server keeps the branch chosen, so a
 * reload shows it again), and the owner's rating of an answer.
 */
export function useBranches({
  sessionId,
  busy,
  dispatch,
  reload,
  beforeSend,
  onError,
}: {
  sessionId: string | null;
  /** An answer is being sent or written: nothing branches meanwhile (the server would refuse). */
  busy: boolean;
  dispatch: Dispatch<Action>;
  /** Loads the newest page of the active path again. */
  reload: () => Promise<void>;
  beforeSend: () => void;
  onError: (message: string | null) => void;
}) {
  const client = useTRPCClient();
  const t = useTranslations("chat");
  const cache = useSessionCache();
  const [branching, setBranching] = useState(false);

  /** Runs one branch change at a time, reporting its failure (CONFLICT in words). */
  const run = async (change: (sessionId: string) => Promise<void>): Promise<boolean> => {
    if (!sessionId || busy || branching) return false;
    setBranching(true);
    onError(null);
    try {
      await change(sessionId);
      return true;
    } catch (e) {
      onError(errorCode(e) === "CONFLICT" ? t("conflict") : errorMessage(e));
      return false;
    } finally {
      setBranching(false);
    }
  };

  return {
    branching,
    regenerate: (answer: UiMessage) =>
      run(async (id) => {
        beforeSend();
        const { assistantMessage } = await client.chat.regenerate.mutate({ sessionId: id, messageId: answer.id, requestId: uuid() });
        dispatch({ type: "branched", after: answer.parentId, messages: [assistantMessage] });
        void cache.invalidate();
      }),
    edit: (question: UiMessage, query: string) =>
      run(async (id) => {
        beforeSend();
        const turn = await client.chat.edit.mutate({ sessionId: id, messageId: question.id, query, requestId: uuid() });
        dispatch({ type: "branched", after: question.parentId, messages: [turn.userMessage, turn.assistantMessage] });
        void cache.invalidate();
      }),
    /** Shows the previous (-1) or next (+1) version of a message, and what followed it there. */
    switchVersion: (message: UiMessage, step: -1 | 1) =>
      run(async (id) => {
        const { items } = await client.message.siblings.query({ messageId: message.id });
        const target = items[items.findIndex((m) => m.id === message.id) + step];
        if (!target) return;
        await client.message.switchBranch.mutate({ sessionId: id, messageId: target.id });
        await reload();
      }),
    rate: async (answer: UiMessage, rating: Rating | null, reason?: string) => {
      try {
        const rated = await client.message.rate.mutate({ messageId: answer.id, rating, reason: reason ?? null });
        dispatch({ type: "patched", message: rated });
        return true;
      } catch (e) {
        onError(errorMessage(e));
        return false;
      }
    },
  };
}
