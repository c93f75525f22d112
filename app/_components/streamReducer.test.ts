import { describe, expect, it } from "vitest";
import { conversationReducer, initialState, type Action, type ConversationState, type UiMessage } from "./streamReducer";
import type { Message, Reference, StreamEvent } from "./trpc";

const t0 = new Date("2025-06-01T10:00:00Z");
let counter = 0;
function message(fields: Partial<Message> & Pick<Message, "role">): Message {
  counter += 1;
  return {
    id: `m${counter}`,
    sessionId: "s1",
    requestId: `r${counter}`,
    content: "",
    status: "completed",
    references: [],
    model: null,
    parentId: null,
    channel: "web",
    siblings: { index: 1, count: 1 },
    feedback: null,
    createdAt: new Date(t0.getTime() + counter * 1000),
    updatedAt: new Date(t0.getTime() + counter * 1000),
    ...fields,
  };
}

const run = (state: ConversationState, ...actions: Action[]) => actions.reduce(conversationReducer, state);
const event = (messageId: string, e: StreamEvent): Action => ({ type: "event", messageId, event: e });
const start = (messageId: string): StreamEvent => ({ type: "start", requestId: "r", sessionId: "s1", messageId, model: "offline" });
const answer = (delta: string): StreamEvent => ({ type: "answer", delta });
const shown = (state: ConversationState, id: string) => state.messages.find((m) => m.id === id);
const source: Reference = { id: "c1", title: "Handbook", source: "handbook.md", content: "…", score: 0.9, matchedBy: "both" };

describe("opening a conversation", () => {
  it("shows the loaded page and follows nothing when every answer is finished", () => {
    const items = [message({ role: "user", content: "hi" }), message({ role: "assistant", content: "hello" })];
    const state = run(initialState, { type: "loaded", items, hasMore: true });
    expect(state).toEqual({ status: "ready", messages: items, hasMore: true, loadingOlder: false, stream: null });
  });

  it("follows an answer still being written, restoring from the text already stored", () => {
    const live = message({ role: "assistant", content: "Partial", status: "streaming" });
    const state = run(initialState, { type: "loaded", items: [message({ role: "user" }), live], hasMore: false });
    expect(state.stream).toEqual({ messageId: live.id, restoring: true, shownLength: 7, buffer: "", sawContent: false });
  });

  it("reports a failed load", () => {
    expect(run(initialState, { type: "loadFailed", error: "gone" })).toMatchObject({ status: "error", loadError: "gone" });
  });

  it("prepends an older page without repeating messages it already shows", () => {
    const a = message({ role: "user" });
    const b = message({ role: "assistant" });
    const c = message({ role: "user" });
    let state = run(initialState, { type: "loaded", items: [b, c], hasMore: true }, { type: "olderLoading" });
    expect(state.loadingOlder).toBe(true);
    state = run(state, { type: "older", items: [a, b], hasMore: false });
    expect(state.messages.map((m) => m.id)).toEqual([a.id, b.id, c.id]);
    expect(state).toMatchObject({ loadingOlder: false, hasMore: false });
    expect(run(state, { type: "olderLoading" }, { type: "olderFailed" }).loadingOlder).toBe(false);
  });
});

describe("a restored answer", () => {
  const live = message({ role: "assistant", content: "Hello wor", status: "streaming" });
  const loaded = run(initialState, { type: "loaded", items: [live], hasMore: false });

  it("keeps the stored text on screen until the replayed text has caught up, then follows the stream", () => {
    let state = run(loaded, event(live.id, start(live.id)), event(live.id, answer("Hello ")));
    expect(shown(state, live.id)?.content).toBe("Hello wor");
    expect(state.stream).toMatchObject({ restoring: true, buffer: "Hello ", sawContent: true });

    state = run(state, event(live.id, answer("world")));
    expect(shown(state, live.id)?.content).toBe("Hello world");
    expect(state.stream?.restoring).toBe(false);

    state = run(state, event(live.id, answer("!")));
    expect(shown(state, live.id)?.content).toBe("Hello world!");
  });

  it("takes a snapshot's text and references at once", () => {
    const state = run(loaded, event(live.id, { type: "snapshot", content: "Hello world, all of it", references: [source] }));
    expect(shown(state, live.id)).toMatchObject({ content: "Hello world, all of it", references: [source] });
    expect(state.stream?.restoring).toBe(false);
  });

  it("gives up waiting after the timeout: shows what was rebuilt, or keeps the stored text if nothing came", () => {
    const rebuilt = run(loaded, event(live.id, answer("Hel")), { type: "restoreTimeout" });
    expect(shown(rebuilt, live.id)?.content).toBe("Hel");
    expect(rebuilt.stream?.restoring).toBe(false);

    const nothing = run(loaded, event(live.id, start(live.id)), { type: "restoreTimeout" });
    expect(shown(nothing, live.id)?.content).toBe("Hello wor");
    expect(nothing.stream?.restoring).toBe(false);
  });

  it("records a lost connection, and on reconnect replays from the text now on screen", () => {
    let state = run(loaded, event(live.id, answer("Hello world")), { type: "streamError", messageId: live.id, error: "offline" });
    expect(state.stream?.connectionError).toBe("offline");
    expect(run(state, { type: "streamError", messageId: "other", error: "x" })).toBe(state);

    state = run(state, { type: "resubscribe" });
    expect(state.stream).toMatchObject({ restoring: true, shownLength: 11, buffer: "", sawContent: false, connectionError: undefined });
    state = run(state, event(live.id, start(live.id)), event(live.id, answer("Hello world and more")));
    expect(shown(state, live.id)?.content).toBe("Hello world and more");
  });
});

describe("sending", () => {
  const pending: UiMessage = { ...message({ role: "user", content: "Question?" }), id: "pending-1", pending: true };
  const ready = run(initialState, { type: "reset" });

  it("shows the question at once, then the server's turn, then the streamed answer to its end", () => {
    let state = run(ready, { type: "optimistic", message: pending });
    expect(state.messages).toEqual([pending]);

    const user = message({ role: "user", content: "Question?" });
    const assistant = message({ role: "assistant", status: "streaming" });
    state = run(state, { type: "sent", tempId: pending.id, userMessage: user, assistantMessage: assistant });
    expect(state.messages.map((m) => m.id)).toEqual([user.id, assistant.id]);
    expect(state.stream).toEqual({ messageId: assistant.id, restoring: false, shownLength: 0, buffer: "", sawContent: false });

    state = run(
      state,
      event(assistant.id, start(assistant.id)),
      event(assistant.id, { type: "references", references: [source] }),
      event(assistant.id, answer("An ")),
      event(assistant.id, answer("answer")),
      event("someone-else", answer(" ignored")),
    );
    expect(shown(state, assistant.id)).toMatchObject({ content: "An answer", references: [source], model: "offline" });

    state = run(state, event(assistant.id, { type: "complete", content: "An answer.", durationMs: 1200, model: "offline" }));
    expect(shown(state, assistant.id)).toMatchObject({ content: "An answer.", status: "completed", durationMs: 1200 });
    expect(state.stream).toBeNull();
  });

  it("a repeated request that returns a turn mid-answer restores it", () => {
    const user = message({ role: "user" });
    const assistant = message({ role: "assistant", status: "streaming", content: "Already" });
    const state = run(ready, { type: "optimistic", message: pending }, { type: "sent", tempId: pending.id, userMessage: user, assistantMessage: assistant });
    expect(state.stream).toMatchObject({ restoring: true, shownLength: 7 });
  });

  it("a turn that is already finished is not followed", () => {
    const user = message({ role: "user" });
    const assistant = message({ role: "assistant", content: "Done" });
    const state = run(ready, { type: "sent", tempId: "none", userMessage: user, assistantMessage: assistant });
    expect(state.stream).toBeNull();
  });

  it("marks a failed send for retry, and a retry as pending again", () => {
    let state = run(ready, { type: "optimistic", message: pending }, { type: "sendFailed", tempId: pending.id, error: "busy" });
    expect(state.messages[0]).toMatchObject({ pending: false, sendError: "busy" });
    state = run(state, { type: "retrySend", tempId: pending.id });
    expect(state.messages[0]).toMatchObject({ pending: true, sendError: undefined });
  });
});

describe("branches", () => {
  const q1 = message({ role: "user", content: "q1" });
  const a1 = message({ role: "assistant", content: "a1", parentId: q1.id });
  const q2 = message({ role: "user", content: "q2", parentId: a1.id });
  const a2 = message({ role: "assistant", content: "a2", parentId: q2.id });
  const loaded = run(initialState, { type: "loaded", items: [q1, a1, q2, a2], hasMore: true });

  it("a regenerated answer replaces what followed its question, and is followed", () => {
    const again = message({ role: "assistant", status: "streaming", parentId: q2.id, siblings: { index: 2, count: 2 } });
    const state = run(loaded, { type: "branched", after: q2.id, messages: [again] });
    expect(state.messages.map((m) => m.id)).toEqual([q1.id, a1.id, q2.id, again.id]);
    expect(state.stream).toMatchObject({ messageId: again.id, restoring: false });
    expect(state.hasMore).toBe(true);
  });

  it("an edited first question starts the path again: nothing older is left to load", () => {
    const q = message({ role: "user", content: "q1, better", siblings: { index: 2, count: 2 } });
    const a = message({ role: "assistant", status: "streaming", parentId: q.id });
    const state = run(loaded, { type: "branched", after: null, messages: [q, a] });
    expect(state.messages.map((m) => m.id)).toEqual([q.id, a.id]);
    expect(state).toMatchObject({ hasMore: false, stream: { messageId: a.id } });
  });

  it("a branch point above the loaded pages keeps nothing shown, and older pages still load", () => {
    const q = message({ role: "user", parentId: "older-answer" });
    const state = run(loaded, { type: "branched", after: "older-answer", messages: [q] });
    expect(state.messages.map((m) => m.id)).toEqual([q.id]);
    expect(state.hasMore).toBe(true);
  });

  it("a rating changes the message's feedback only", () => {
    const state = run(loaded, { type: "patched", message: { ...a2, content: "ignored", feedback: { rating: "down", reason: "vague" } } });
    expect(shown(state, a2.id)).toEqual({ ...a2, feedback: { rating: "down", reason: "vague" } });
  });
});

describe("how an answer ends", () => {
  const assistant = message({ role: "assistant", status: "streaming" });
  const following = run(initialState, { type: "reset" }, { type: "sent", tempId: "x", userMessage: message({ role: "user" }), assistantMessage: assistant });

  it("stopped: the text the server kept", () => {
    const state = run(following, event(assistant.id, answer("Half")), event(assistant.id, { type: "stop", reason: "user", content: "Half" }));
    expect(shown(state, assistant.id)).toMatchObject({ content: "Half", status: "stopped" });
    expect(state.stream).toBeNull();
  });

  it("failed: every streamed word is kept, with the reason", () => {
    const state = run(following, event(assistant.id, answer("Some words")), event(assistant.id, { type: "error", stage: "generate", message: "model down" }));
    expect(shown(state, assistant.id)).toMatchObject({ content: "Some words", status: "failed", errorText: "model down" });
    expect(state.stream).toBeNull();
  });

  it("failed while restoring: the longer stored text wins over the shorter replay", () => {
    const live = message({ role: "assistant", content: "Stored longer text", status: "streaming" });
    const state = run(
      initialState,
      { type: "loaded", items: [live], hasMore: false },
      event(live.id, answer("Stored")),
      event(live.id, { type: "error", stage: "generate", message: "" }),
    );
    expect(shown(state, live.id)).toMatchObject({ content: "Stored longer text", status: "failed", errorText: "The answer failed." });
  });
});
