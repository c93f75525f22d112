import type { Reference, Usage } from "../../common/settings";

/** What `chat.stream` yields, in order: start, references?, answer*, title?, then one terminal event. */
export type StreamEvent =
  | { type: "start"; requestId: string; sessionId: string; messageId: string; model: string }
  | { type: "references"; references: Reference[] }
  | { type: "answer"; delta: string }
  | { type: "title"; title: string }
  | { type: "snapshot"; content: string; references: Reference[] }
  | { type: "complete"; content: string; durationMs: number; usage?: Usage; model: string }
  | { type: "stop"; reason: string; content: string }
  | { type: "error"; stage: string; message: string };

export type TerminalEvent = Extract<StreamEvent, { type: "complete" | "stop" | "error" }>;

export function isTerminal(event: StreamEvent): event is TerminalEvent {
  return event.type === "complete" || event.type === "stop" || event.type === "error";
}

/** What a stream's events say the answer is, word for word (null before its `start`): the text its subscribers saw. */
export function streamedText(events: readonly StreamEvent[]): string | null {
  let content: string | null = null;
  for (const event of events) {
    if (event.type === "start") content = "";
    else if (event.type === "answer") content = (content ?? "") + event.delta;
    else if (event.type === "snapshot") content = event.content;
  }
  return content;
}
