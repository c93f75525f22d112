"use client";
import { skipToken, useMutation, useQuery } from "@tanstack/react-query";
import { useSubscription } from "@trpc/tanstack-react-query";
import { useCallback, useEffect, useLayoutEffect, useReducer, useRef, useState } from "react";
import { Composer } from "./Composer";
import { errorCode, errorMessage } from "./errors";
import { paintHighlights } from "./Highlight";
import { ArrowDownIcon, Logo, MenuIcon, NewChatIcon, SettingsIcon } from "./icons";
import { MessageView } from "./MessageView";
import { useSessionCache } from "./sessionCache";
import { conversationReducer, initialState, type UiMessage } from "./streamReducer";
import { useTRPC, useTRPCClient, type Session, type StreamEvent } from "./trpc";
import { sessionTitle, uuid } from "./util";

const PAGE = 30;
/** Give up waiting for the replay to catch up with the stored text after this long. */
const RESTORE_TIMEOUT_MS = 8000;

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
  const client = useTRPCClient();
  const cache = useSessionCache();
  const [state, dispatch] = useReducer(conversationReducer, sessionId ? initialState : { ...initialState, status: "ready" });
  const createdHere = useRef<string | null>(null);
  const scroller = useRef<HTMLDivElement>(null);
  const content = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  const [showJump, setShowJump] = useState(false);
  const prepend = useRef<{ height: number; top: number } | null>(null);
  const didInitialScroll = useRef(false);
  const [notice, setNotice] = useState<string | null>(null);

  const session = useQuery(trpc.session.get.queryOptions(sessionId ? { id: sessionId } : skipToken));

  // Load the newest page whenever this view opens a session it did not just create itself.
  useEffect(() => {
    if (!sessionId) return;
    if (createdHere.current === sessionId) return;
    let cancelled = false;
    client.message.list
      .query({ sessionId, limit: PAGE })
      .then((page) => !cancelled && dispatch({ type: "loaded", items: page.items, hasMore: page.hasMore }))
      .catch((e) => !cancelled && dispatch({ type: "loadFailed", error: errorCode(e) === "NOT_FOUND" ? "This chat does not exist or was deleted." : errorMessage(e) }));
    return () => {
      cancelled = true;
    };
  }, [sessionId, client]);

  const loadOlder = useCallback(async () => {
    if (!sessionId || state.loadingOlder || !state.hasMore) return;
    const oldest = state.messages.find((m) => !m.pending);
    if (!oldest) return;
    dispatch({ type: "olderLoading" });
    try {
      const page = await client.message.list.query({ sessionId, before: new Date(oldest.createdAt), limit: PAGE });
      const el = scroller.current;
      if (el) prepend.current = { height: el.scrollHeight, top: el.scrollTop };
      dispatch({ type: "older", items: page.items, hasMore: page.hasMore });
    } catch (e) {
      dispatch({ type: "olderFailed" });
      setNotice(errorMessage(e));
    }
  }, [client, sessionId, state.hasMore, state.loadingOlder, state.messages]);

  // Older messages load when the top of the conversation scrolls into view.
  const topSentinel = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = topSentinel.current;
    if (!el || !state.hasMore || state.status !== "ready") return;
    const io = new IntersectionObserver((entries) => entries.some((e) => e.isIntersecting) && didInitialScroll.current && void loadOlder(), {
      root: scroller.current,
      rootMargin: "150px 0px 0px 0px",
    });
    io.observe(el);
    return () => io.disconnect();
  }, [loadOlder, state.hasMore, state.status]);

  // Scrolling: keep the reader's place when older messages come in above, and follow the answer
  // while the reader is at the bottom.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    if (prepend.current) {
      el.scrollTop = el.scrollHeight - prepend.current.height + prepend.current.top;
      prepend.current = null;
      return;
    }
    if (state.status === "ready" && !didInitialScroll.current && state.messages.length) {
      el.scrollTop = el.scrollHeight;
      didInitialScroll.current = true;
      return;
    }
    if (atBottom.current) el.scrollTop = el.scrollHeight;
  }, [state.messages, state.status]);

  const onScroll = () => {
    const el = scroller.current;
    if (!el) return;
    const near = el.scrollHeight - el.scrollTop - el.clientHeight < 80;
    atBottom.current = near;
    setShowJump(!near);
  };

  // Search terms from the sidebar are highlighted in the messages, and the first one is shown.
  const scrolledToMatch = useRef(false);
  useEffect(() => {
    const first = paintHighlights(content.current, highlight);
    if (first && !scrolledToMatch.current && state.status === "ready") {
      scrolledToMatch.current = true;
      first.startContainer.parentElement?.scrollIntoView({ block: "center" });
    }
  }, [highlight, state.messages, state.status]);
  useEffect(() => {
    scrolledToMatch.current = false;
  }, [highlight]);
  useEffect(() => () => void paintHighlights(null, ""), []);

  // --- the live answer ---
  const stream = state.stream;
  const onEvent = useCallback(
    (messageId: string, event: StreamEvent) => {
      if (event.type === "title" && sessionId) cache.patch(sessionId, { title: event.title });
      dispatch({ type: "event", messageId, event });
      if (event.type === "complete" || event.type === "stop" || event.type === "error") void cache.invalidate();
    },
    [cache, sessionId],
  );
  const subscription = useSubscription(
    trpc.chat.stream.subscriptionOptions(stream && sessionId ? { sessionId, messageId: stream.messageId } : skipToken, {
      enabled: Boolean(stream && sessionId),
      onData: (tracked) => {
        const messageId = stream?.messageId;
        if (!messageId) return;
        const event = ("data" in tracked && "id" in tracked ? tracked.data : tracked) as StreamEvent;
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
  }, [restoring, stream?.messageId]);

  const reconnect = () => {
    dispatch({ type: "resubscribe" });
    subscription.reset();
  };

  // --- sending ---
  const createSession = useMutation(trpc.session.create.mutationOptions());
  const stop = useMutation(trpc.chat.stop.mutationOptions({ onError: (e) => setNotice(errorMessage(e)) }));
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
        error: code === "CONFLICT" ? "An answer is already being written in this chat. Wait for it, or stop it, then retry." : errorMessage(e),
      });
    }
  };

  /** A new chat becomes a session on its first message, or when its settings are opened. */
  const startSession = async (): Promise<string> => {
    const created = await createSession.mutateAsync({});
    createdHere.current = created.id;
    cache.upsertTop(created);
    onSessionCreated(created);
    return created.id;
  };

  const openSettings = async () => {
    try {
      if (!sessionId) await startSession();
      onOpenSettings();
    } catch (e) {
      setNotice(errorMessage(e));
    }
  };

  const send = async (text: string): Promise<boolean> => {
    const query = text.trim();
    if (!query || sending || stream) return false;
    setSending(true);
    setNotice(null);
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
        createdAt: now,
        updatedAt: now,
        pending: true,
      };
      atBottom.current = true;
      dispatch({ type: "optimistic", message: temp });
      await deliver(target, temp);
      return true;
    } catch (e) {
      setNotice(errorMessage(e));
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

  /** A failed answer: ask the same question again (a new turn). */
  const retryAnswer = (assistant: UiMessage) => {
    const index = state.messages.findIndex((m) => m.id === assistant.id);
    const question = state.messages.slice(0, index).findLast((m) => m.role === "user");
    if (question) void send(question.content);
  };

  const streamingMessageId = stream?.messageId ?? null;
  const busy = sending || streamingMessageId !== null;
  const title = sessionId ? sessionTitle(session.data) : "New chat";
  const empty = state.status === "ready" && state.messages.length === 0;

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
          <button type="button" className="icon-btn" aria-label="Chat settings" title="Chat settings" onClick={() => void openSettings()}>
            <SettingsIcon />
          </button>
        </div>
      </header>

      <div className="chat-scroll" ref={scroller} onScroll={onScroll}>
        <div className="chat-column" ref={content}>
          <div ref={topSentinel} className="sentinel" aria-hidden="true" />
          {state.loadingOlder && <p className="older-status">Loading earlier messages…</p>}
          {state.status === "ready" && state.hasMore && !state.loadingOlder && (
            <button type="button" className="link-btn older-status" onClick={loadOlder}>
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
                  <button key={s} type="button" className="suggestion" onClick={() => void send(s)} disabled={busy}>
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
              restoring={m.id === streamingMessageId && restoring}
              connectionError={m.id === streamingMessageId ? stream?.connectionError : undefined}
              onReconnect={reconnect}
              onRetrySend={() => retrySend(m)}
              onRetryAnswer={() => retryAnswer(m)}
            />
          ))}
        </div>
      </div>

      {showJump && (
        <button
          type="button"
          className="jump-btn"
          aria-label="Scroll to the latest message"
          onClick={() => {
            atBottom.current = true;
            scroller.current?.scrollTo({ top: scroller.current.scrollHeight, behavior: "smooth" });
          }}
        >
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
          disabled={busy || state.status === "error"}
          streaming={streamingMessageId !== null}
          stopping={stop.isPending}
          onSend={send}
          onStop={() => sessionId && streamingMessageId && stop.mutate({ sessionId, messageId: streamingMessageId })}
        />
        <p className="composer-hint">Answers come from your knowledge bases and may be incomplete. Check the sources.</p>
      </div>
    </main>
  );
}
