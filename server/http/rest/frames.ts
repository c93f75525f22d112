import type { StreamEvent } from "../../chat/events";
import type { DeliveredEvent, FollowedAnswer } from "../../chat/streams";
import type { Reference } from "../../../common/settings";
import type { SseEncoding } from "../sse";
import { toReferenceJson } from "./schemas";

/**
 * WeKnora's SSE wire format over Parley's answer streams. Every frame is
 * `id:<event id>\nevent:message\ndata:<one-line JSON>\n\n` (no space after the colons: WeKnora's
 * Go client matches `event:message` byte for byte), the payload is WeKnora's StreamResponse, and
 * the connection is closed after the terminal frame. Only encoded here: http/sse.ts writes them.
 */
export interface StreamPayload {
  id: string;
  response_type: "agent_query" | "references" | "answer" | "session_title" | "complete" | "stop" | "error";
  content: string;
  done: boolean;
  knowledge_references?: ReturnType<typeof toReferenceJson>[];
  session_id?: string;
  assistant_message_id?: string;
  data?: Record<string, unknown>;
}

/** How long an answer stream may stay quiet before a `:` comment keeps it alive. */
export const KEEP_ALIVE_MS = 15_000;

/** WeKnora's stream headers (its `Cache-Control` is exactly `no-cache`), and a `:` comment after every quiet `keepAliveMs`. */
export const weknoraSse = (keepAliveMs: number): SseEncoding => ({
  headers: { "Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no" },
  ping: ":keep-alive\n\n",
  pingMs: keepAliveMs,
});

function weknoraFrame(id: string, payload: StreamPayload): string {
  // JSON.stringify escapes newlines inside strings, so the data is always one line.
  return `id:${id}\nevent:message\ndata:${JSON.stringify(payload)}\n\n`;
}

/** The payloads one Parley event becomes (a snapshot of an expired stream becomes several). */
function payloadsOf(event: StreamEvent, answer: FollowedAnswer): StreamPayload[] {
  const id = answer.requestId;
  const ids = { session_id: answer.sessionId, assistant_message_id: answer.id };
  // WeKnora's web app reads the ids (and a title) from `data`.
  const agentQuery: StreamPayload = { id, response_type: "agent_query", content: "", done: true, ...ids, data: { ...ids } };
  const references = (refs: Reference[]): StreamPayload[] =>
    refs.length > 0 ? [{ id, response_type: "references", content: "", done: false, knowledge_references: refs.map(toReferenceJson) }] : [];
  switch (event.type) {
    case "start":
      return [agentQuery];
    case "references":
      return references(event.references);
    case "answer":
      return [{ id, response_type: "answer", content: event.delta, done: false }];
    case "title":
      return [{ id, response_type: "session_title", content: event.title, done: true, data: { session_id: answer.sessionId, title: event.title } }];
    case "snapshot":
      return [agentQuery, ...references(event.references), { id, response_type: "answer", content: event.content, done: false }];
    case "complete":
      return [{ id, response_type: "complete", content: "", done: true, data: { total_duration_ms: event.durationMs } }];
    case "stop":
      return [{ id, response_type: "stop", content: "", done: true, data: { reason: weknoraStopReason(event.reason), session_id: answer.sessionId, message_id: answer.id } }];
    case "error":
      return [{ id, response_type: "error", content: event.message, done: true, data: { stage: event.stage } }];
  }
}

/** WeKnora spells a stop by its user `user_requested`; a deleted session's stays `deleted`. */
const weknoraStopReason = (reason: string) => (reason === "user" ? "user_requested" : reason);

/**
 * The frames of one event of `answer`, each under the event's id: what a WeKnora client reads of it.
 * The stream (chat/streams.ts `readAnswerStream`, read from `lastEventId` itself: answer deltas
 * arrive merged, so a replay from the start would join deltas the client has seen with later ones
 * under a later id) ends with the terminal event; the producer writes the title just before it
 * (chat/generate.ts), where WeKnora's order puts `session_title`.
 */
export function answerFramesOf(answer: FollowedAnswer): (delivered: DeliveredEvent) => string {
  return ({ id, event }) => payloadsOf(event, answer).map((payload) => weknoraFrame(id, payload)).join("");
}
