"use client";
import { useTranslations } from "next-intl";
import { skipToken, useQuery } from "@tanstack/react-query";
import { useReducer, useRef, useState } from "react";
import { Composer } from "./Composer";
import { ArrowDownIcon, Logo, MenuIcon, NewChatIcon, SettingsIcon, ShareIcon } from "./icons";
import { MessageView, type BranchActions } from "./MessageView";
import { ShareDialog } from "./ShareDialog";
import { conversationReducer, initialState } from "./streamReducer";
import { TemporaryBanner, TemporaryToggle } from "./TemporaryChat";
import { useTRPC, type Session } from "./trpc";
import { useAnswerStream } from "./useAnswerStream";
import { useBranches } from "./useBranches";
import { useChatTurns } from "./useChatTurns";
import { useMessagePages } from "./useMessagePages";
import { useSearchHighlight } from "./useSearchHighlight";
import { useStickToBottom } from "./useStickToBottom";
import { useSessionTitle } from "./util";

const SUGGESTIONS = ["reload", "admins", "export", "model"] as const;

export function Conversation({
  sessionId,
  newChatFolderId,
  onSessionCreated,
  highlight,
  onOpenSidebar,
  onOpenSettings,
  onNewChat,
}: {
  sessionId: string | null;
  /** The folder a new chat goes into (the one the sidebar shows). */
  newChatFolderId: string | null;
  onSessionCreated: (session: Session) => void;
  highlight: string;
  onOpenSidebar: () => void;
  onOpenSettings: () => void;
  onNewChat: () => void;
}) {
  const t = useTranslations("chat");
  const sessionTitle = useSessionTitle();
  const trpc = useTRPC();
  const session = useQuery(trpc.session.get.queryOptions(sessionId ? { id: sessionId } : skipToken));
  const [state, dispatch] = useReducer(conversationReducer, sessionId ? initialState : { ...initialState, status: "ready" });
  const [notice, setNotice] = useState<string | null>(null);
  // Chosen on a new chat before its first message; then the session says.
  const [startTemporary, setStartTemporary] = useState(false);
  const [sharing, setSharing] = useState(false);
  const scroller = useRef<HTMLDivElement>(null);
  const content = useRef<HTMLDivElement>(null);
  const ready = state.status === "ready";

  const scroll = useStickToBottom(scroller, state.messages, ready);
  const pages = useMessagePages({ sessionId, state, dispatch, scroller, settled: scroll.settled, holdPlace: scroll.holdPlace, onError: setNotice });
  useSearchHighlight(content, highlight, state.messages, ready);
  const answer = useAnswerStream(sessionId, state.stream, dispatch);
  const turns = useChatTurns({
    sessionId,
    placement: startTemporary ? { temporary: true } : { folderId: newChatFolderId },
    streamingMessageId: answer.streamingMessageId,
    dispatch,
    onSessionCreated: (created) => {
      pages.createdHere(created.id);
      onSessionCreated(created);
    },
    onOpenSettings,
    beforeSend: scroll.follow,
    onError: setNotice,
  });

  const branches = useBranches({
    sessionId,
    busy: turns.busy,
    dispatch,
    reload: pages.reload,
    beforeSend: scroll.follow,
    onError: setNotice,
  });
  const branch: BranchActions = {
    disabled: turns.busy || branches.branching || !ready,
    onRegenerate: (m) => void branches.regenerate(m),
    onEdit: branches.edit,
    onSwitch: (m, step) => void branches.switchVersion(m, step),
    onRate: branches.rate,
  };

  const { streamingMessageId } = answer;
  const title = sessionId ? sessionTitle(session.data) : t("newChat");
  const empty = ready && state.messages.length === 0;
  const temporary = sessionId ? session.data?.temporary === true : startTemporary;

  return (
    <main className="chat-main" aria-label={t("conversation")}>
      <header className="chat-header">
        <button type="button" className="icon-btn menu-btn" aria-label={t("openSidebar")} onClick={onOpenSidebar}>
          <MenuIcon />
        </button>
        <h1 className="chat-title" title={title}>
          {title}
        </h1>
        <div className="chat-header-actions">
          {!sessionId && <TemporaryToggle on={startTemporary} onChange={setStartTemporary} />}
          {session.data && !session.data.temporary && (
            <button type="button" className="icon-btn" aria-label={t("share")} title={t("share")} onClick={() => setSharing(true)}>
              <ShareIcon />
            </button>
          )}
          <button type="button" className="icon-btn mobile-only" aria-label={t("newChat")} onClick={onNewChat}>
            <NewChatIcon />
          </button>
          <button type="button" className="icon-btn" aria-label={t("settings")} title={t("settings")} onClick={() => void turns.openSettings()}>
            <SettingsIcon />
          </button>
        </div>
      </header>
      {temporary && <TemporaryBanner session={session.data ?? null} onError={setNotice} />}
      {sharing && session.data && (
        <ShareDialog sessionId={session.data.id} title={sessionTitle(session.data)} temporary={session.data.temporary} onClose={() => setSharing(false)} />
      )}

      <div className="chat-scroll" ref={scroller} onScroll={scroll.onScroll}>
        <div className="chat-column" ref={content}>
          <div ref={pages.topSentinel} className="sentinel" aria-hidden="true" />
          {state.loadingOlder && <p className="older-status">{t("loadingOlder")}</p>}
          {ready && state.hasMore && !state.loadingOlder && (
            <button type="button" className="link-btn older-status" onClick={() => void pages.loadOlder()}>
              {t("loadOlder")}
            </button>
          )}
          {state.status === "loading" && <p className="chat-placeholder">{t("loadingMessages")}</p>}
          {state.status === "error" && (
            <div className="chat-placeholder" role="alert">
              <p>{state.loadError}</p>
              <button type="button" className="btn" onClick={onNewChat}>
                {t("startNewChat")}
              </button>
            </div>
          )}
          {empty && (
            <div className="empty-chat">
              <Logo size={44} />
              <h2>{t("emptyTitle")}</h2>
              <p>{t("emptyBody")}</p>
              <div className="suggestions">
                {SUGGESTIONS.map((key) => (
                  <button key={key} type="button" className="suggestion" onClick={() => void turns.send(t(`suggestions.${key}`))} disabled={turns.busy}>
                    {t(`suggestions.${key}`)}
                  </button>
                ))}
              </div>
            </div>
          )}
          {state.messages.map((m) => (
            <MessageView
              key={m.id}
              message={m}
              streaming={m.id === streamingMessageId}
              restoring={m.id === streamingMessageId && answer.restoring}
              connectionError={m.id === streamingMessageId ? answer.connectionError : undefined}
              onReconnect={answer.reconnect}
              onRetrySend={() => void turns.retrySend(m)}
              // A failed answer is answered again: a new version of it.
              onRetryAnswer={() => void branches.regenerate(m)}
              branch={branch}
            />
          ))}
        </div>
      </div>

      {scroll.showJump && (
        <button type="button" className="jump-btn" aria-label={t("jumpToLatest")} onClick={scroll.jumpToBottom}>
          <ArrowDownIcon size={16} />
        </button>
      )}

      <div className="composer-dock">
        {notice && (
          <p className="composer-notice" role="alert">
            {notice}
          </p>
        )}
        <Composer
          draftKey={sessionId}
          disabled={turns.busy || branches.branching || state.status === "error"}
          streaming={streamingMessageId !== null}
          stopping={turns.stopping}
          onSend={turns.send}
          onStop={turns.stop}
        />
        <p className="composer-hint">{t("hint")}</p>
      </div>
    </main>
  );
}
