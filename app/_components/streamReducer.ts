import type { Message, StreamEvent } from "./trpc";

/** A message as the conversation shows it, with what only the browser knows. */
export type UiMessage = Message & {
  /** A user message shown before `chat.send` answered. */
  pending?: boolean;
  /** `chat.send` failed: the text and requestId to retry with (idempotent). */
  sendError?: string;
  /** The answer failed (an `error` event): why. */
  errorText?: string;
  durationMs?: number;
};

/** The one answer this view follows over `chat.stream`. */
export interface StreamState {
  messageId: string;
  /**
   * Reopened mid-answer (reload, or coming back to the chat): the stream replays every event from
   * the first, so the text is rebuilt in `buffer` while the stored text stays on screen, until the
   * rebuilt text has caught up with it.
   */
  restoring: boolean;
  /** Length of the text on screen when restoring began. */
  shownLength: number;
  /** The answer rebuilt from events since `start`/`snapshot`. */
  buffer: string;
  /** Any content-bearing event seen since (re)subscribing. */
  sawContent: boolean;
  /** The connection failed for good (the link retries transient drops by itself). */
  connectionError?: string;
}

export interface ConversationState {
  status: "loading" | "ready" | "error";
  loadError?: string;
  messages: UiMessage[];
  hasMore: boolean;
  loadingOlder: boolean;
  stream: StreamState | null;
}

export type Action =
  | { type: "reset" }
  | { type: "loaded"; items: Message[]; hasMore: boolean }
  | { type: "loadFailed"; error: string }
  | { type: "olderLoading" }
  | { type: "older"; items: Message[]; hasMore: boolean }
  | { type: "olderFailed" }
  | { type: "optimistic"; message: UiMessage }
  | { type: "sent"; tempId: string; userMessage: Message; assistantMessage: Message }
  /** A regenerate or edit: the path now runs to `after` (null: from the start), then `messages`. */
  | { type: "branched"; after: string | null; messages: Message[] }
  /** A message changed on the server (its rating). */
  | { type: "patched"; message: Message }
  | { type: "sendFailed"; tempId: string; error: string }
  | { type: "retrySend"; tempId: string }
  | { type: "event"; messageId: string; event: StreamEvent }
  | { type: "streamError"; messageId: string; error: string }
  | { type: "resubscribe" }
  | { type: "restoreTimeout" };

export const initialState: ConversationState = { status: "loading", messages: [], hasMore: false, loadingOlder: false, stream: null };

function restoreFor(messages: Message[]): StreamState | null {
  const live = messages.findLast((m) => m.role === "assistant" && m.status === "streaming");
  return live ? { messageId: live.id, restoring: true, shownLength: live.content.length, buffer: "", sawContent: false } : null;
}

/** Following a new answer (or keeping `current` when it is already final). */
function streamFor(answer: Message, current: StreamState | null): StreamState | null {
  if (answer.status !== "streaming") return current;
  // The same requestId sent again returns the first turn, possibly mid-answer.
  return { messageId: answer.id, restoring: answer.content.length > 0, shownLength: answer.content.length, buffer: "", sawContent: false };
}

function patchMessage(messages: UiMessage[], id: string, patch: Partial<UiMessage>): UiMessage[] {
  return messages.map((m) => (m.id === id ? { ...m, ...patch } : m));
}

export function conversationReducer(state: ConversationState, action: Action): ConversationState {
  switch (action.type) {
    case "reset":
      return { ...initialState, status: "ready" };
    case "loaded":
      return { status: "ready", messages: action.items, hasMore: action.hasMore, loadingOlder: false, stream: restoreFor(action.items) };
    case "loadFailed":
      return { ...state, status: "error", loadError: action.error };
    case "olderLoading":
      return { ...state, loadingOlder: true };
    case "older": {
      const known = new Set(state.messages.map((m) => m.id));
      return {
        ...state,
        loadingOlder: false,
        hasMore: action.hasMore,
        messages: [...action.items.filter((m) => !known.has(m.id)), ...state.messages],
      };
    }
    case "olderFailed":
      return { ...state, loadingOlder: false };
    case "optimistic":
      return { ...state, messages: [...state.messages, action.message] };
    case "sent": {
      const { userMessage, assistantMessage } = action;
      const rest = state.messages.filter((m) => m.id !== action.tempId && m.id !== userMessage.id && m.id !== assistantMessage.id);
      return { ...state, messages: [...rest, userMessage, assistantMessage], stream: streamFor(assistantMessage, state.stream) };
    }
    case "branched": {
      // Not shown (above the loaded pages): what is shown all follows it, and older pages still load.
      const at = action.after === null ? -1 : state.messages.findIndex((m) => m.id === action.after);
      const added = new Set(action.messages.map((m) => m.id));
      const kept = state.messages.slice(0, at + 1).filter((m) => !added.has(m.id));
      const answer = action.messages.at(-1);
      return {
        ...state,
        messages: [...kept, ...action.messages],
        hasMore: action.after === null ? false : state.hasMore,
        stream: answer ? streamFor(answer, state.stream) : state.stream,
      };
    }
    case "patched":
      return { ...state, messages: patchMessage(state.messages, action.message.id, { feedback: action.message.feedback }) };
    case "sendFailed":
      return { ...state, messages: patchMessage(state.messages, action.tempId, { pending: false, sendError: action.error }) };
    case "retrySend":
      return { ...state, messages: patchMessage(state.messages, action.tempId, { pending: true, sendError: undefined }) };
    case "event":
      return applyEvent(state, action.messageId, action.event);
    case "streamError": {
      if (!state.stream || state.stream.messageId !== action.messageId) return state;
      return { ...state, stream: { ...state.stream, connectionError: action.error } };
    }
    case "resubscribe": {
      if (!state.stream) return state;
      const shown = state.messages.find((m) => m.id === state.stream!.messageId)?.content ?? "";
      return { ...state, stream: { ...state.stream, restoring: true, shownLength: shown.length, buffer: "", sawContent: false, connectionError: undefined } };
    }
    case "restoreTimeout": {
      const s = state.stream;
      if (!s || !s.restoring) return state;
      const messages = s.sawContent ? patchMessage(state.messages, s.messageId, { content: s.buffer }) : state.messages;
      return { ...state, messages, stream: { ...s, restoring: false } };
    }
  }
}

function applyEvent(state: ConversationState, messageId: string, event: StreamEvent): ConversationState {
  const s = state.stream;
  if (!s || s.messageId !== messageId) return state;
  const message = state.messages.find((m) => m.id === messageId);
  if (!message) return state;
  let buffer = s.buffer;
  let sawContent = s.sawContent;
  const patch: Partial<UiMessage> = {};
  switch (event.type) {
    case "start":
      // The stream (re)plays from the first event: rebuild the text from nothing.
      buffer = "";
      patch.model = event.model;
      break;
    case "references":
      patch.references = event.references;
      break;
    case "answer":
      buffer += event.delta;
      sawContent = true;
      break;
    case "snapshot":
      buffer = event.content;
      patch.references = event.references;
      sawContent = true;
      break;
    case "title":
      break;
    case "complete":
      return finish(state, messageId, { content: event.content, status: "completed", model: event.model, durationMs: event.durationMs });
    case "stop":
      return finish(state, messageId, { content: event.content, status: "stopped" });
    case "error": {
      // An interrupted answer keeps every word that was streamed; show the longest text we have.
      const content = buffer.length >= message.content.length ? buffer : message.content;
      return finish(state, messageId, { content, status: "failed", errorText: event.message || "The answer failed." });
    }
  }
  // While restoring, the stored text stays on screen until the rebuilt text has caught up with it.
  const restoring = s.restoring && !(sawContent && buffer.length >= s.shownLength);
  if (!restoring) patch.content = buffer;
  return {
    ...state,
    messages: patchMessage(state.messages, messageId, patch),
    stream: { ...s, buffer, sawContent, restoring, connectionError: undefined },
  };
}

function finish(state: ConversationState, messageId: string, patch: Partial<UiMessage>): ConversationState {
  return { ...state, messages: patchMessage(state.messages, messageId, patch), stream: null };
}
