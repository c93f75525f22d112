"use client";
import { skipToken, useQuery } from "@tanstack/react-query";
import { useReducer, useRef, useState } from "react";
import { Composer } from "./Composer";
import { ArrowDownIcon, Logo, MenuIcon, NewChatIcon, SettingsIcon } from "./icons";
import { MessageView } from "./MessageView";
import { conversationReducer, initialState } from "./streamReducer";
import { useTRPC, type Session } from "./trpc";
import { useAnswerStream } from "./useAnswerStream";
import { useChatTurns } from "./useChatTurns";
import { useMessagePages } from "./useMessagePages";
import { useSearchHighlight } from "./useSearchHighlight";
import { useStickToBottom } from "./useStickToBottom";
import { sessionTitle } from "./util";

const SUGGESTIONS = [
  "How do answers survive a reload?",
  "What can admins do in Parley?",
  "How do I export a chat?",
  "Which model answers without an API key?",
];

export function Conversation({
  sessionId,
  onSessionCreated,
  highlight,
  onOpenSidebar,
  onOpenSettings,
  onNewChat,
}: {
  sessionId: string | null;
  onSessionCreated: (session: Session) => void;
  highlight: string;
  onOpenSidebar: () => void;
  onOpenSettings: () => void;
  onNewChat: () => void;
}) {
  const trpc = useTRPC();
  const session = useQuery(trpc.session.get.queryOptions(sessionId ? { id: sessionId } : skipToken));
  const [state, dispatch] = useReducer(conversationReducer, sessionId ? initialState : { ...initialState, status: "ready" });
  const [notice, setNotice] = useState<string | null>(null);
  const scroller = useRef<HTMLDivElement>(null);
  const content = useRef<HTMLDivElement>(null);
  const ready = state.status === "ready";

  const scroll = useStickToBottom(scroller, state.messages, ready);
  const pages = useMessagePages({ sessionId, state, dispatch, scroller, settled: scroll.settled, holdPlace: scroll.holdPlace, onError: setNotice });
  useSearchHighlight(content, highlight, state.messages, ready);
  const answer = useAnswerStream(sessionId, state.stream, dispatch);
  const turns = useChatTurns({
    sessionId,
    messages: state.messages,
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

  const { streamingMessageId } = answer;
  const title = sessionId ? sessionTitle(session.data) : "New chat";
  const empty = ready && state.messages.length === 0;

  return (
    <main className="chat-main" aria-label="Conversation">
      <header className="chat-header">
        <button type="button" className="icon-btn menu-btn" aria-label="Open sidebar" onClick={onOpenSidebar}>
          <MenuIcon />
        </button>
        <h1 className="chat-title" title={title}>
          {title}
        </h1>
        <div className="chat-header-actions">
          <button type="button" className="icon-btn mobile-only" aria-label="New chat" onClick={onNewChat}>
            <NewChatIcon />
          </button>
          <button type="button" className="icon-btn" aria-label="Chat settings" title="Chat settings" onClick={() => void turns.openSettings()}>
            <SettingsIcon />
          </button>
        </div>
      </header>

      <div className="chat-scroll" ref={scroller} onScroll={scroll.onScroll}>
        <div className="chat-column" ref={content}>
          <div ref={pages.topSentinel} className="sentinel" aria-hidden="true" />
          {state.loadingOlder && <p className="older-status">Loading earlier messages…</p>}
          {ready && state.hasMore && !state.loadingOlder && (
            <button type="button" className="link-btn older-status" onClick={pages.loadOlder}>
              Load earlier messages
            </button>
          )}
          {state.status === "loading" && <p className="chat-placeholder">Loading messages…</p>}
          {state.status === "error" && (
            <div className="chat-placeholder" role="alert">
              <p>{state.loadError}</p>
              <button type="button" className="btn" onClick={onNewChat}>
                Start a new chat
              </button>
            </div>
          )}
          {empty && (
            <div className="empty-chat">
              <Logo size={44} />
              <h2>How can I help?</h2>
              <p>Ask about anything in your knowledge. Answers stream in and survive a reload.</p>
              <div className="suggestions">
                {SUGGESTIONS.map((s) => (
                  <button key={s} type="button" className="suggestion" onClick={() => void turns.send(s)} disabled={turns.busy}>
                    {s}
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
              onRetrySend={() => turns.retrySend(m)}
              onRetryAnswer={() => turns.retryAnswer(m)}
            />
          ))}
        </div>
      </div>

      {scroll.showJump && (
        <button type="button" className="jump-btn" aria-label="Scroll to the latest message" onClick={scroll.jumpToBottom}>
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
          disabled={turns.busy || state.status === "error"}
          streaming={streamingMessageId !== null}
          stopping={turns.stopping}
          onSend={turns.send}
          onStop={turns.stop}
        />
        <p className="composer-hint">Answers come from your knowledge bases and may be incomplete. Check the sources.</p>
      </div>
    </main>
  );
}
