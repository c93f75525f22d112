import type { ServerResponse } from "node:http";
import { createRoute, z } from "@hono/zod-openapi";
import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response";
import type { Context } from "hono";
import { answerToFollow, sendChat, stopChat } from "../../../chat/answers";
import type { Access } from "../../../sessions/sessions";
import { badInput } from "../../../platform/errors";
import { isStreamId, readAnswerStream, type FollowedAnswer } from "../../../chat/streams";
import { chatSessionParam, continueStreamQuery, idempotencyHeader, knowledgeChatBody, sessionIdParam, stopBody } from "../schemas";
import { SseStream } from "../../sse";
import { answerFramesOf, weknoraSse } from "../frames";
import { body, done, errors, nodeBindingsOf, router, type RestEnv, type RestDeps } from "./shared";

const tags = ["chat"];
const sse = (description: string) => ({
  200: { content: { "text/event-stream": { schema: z.string() } }, description },
  ...errors,
  409: { content: { "application/json": { schema: z.unknown() } }, description: "An answer is already streaming in this session (1005)" },
});

/** knowledge-chat starts an answer as chat.send does; continue-stream follows one; stop ends one. */
export function chatRoutes(deps: RestDeps, keepAliveMs: number) {
  const r = router();

  const encoding = weknoraSse(keepAliveMs);
  /**
   * An answer's frames as an SSE response, from the start or after `lastEventId`, written on the
   * Node response by the one SSE writer (http/sse.ts). The stream is counted against the caller
   * first (http/openStreams.ts): over the cap it is refused (429) before `find` looks anything up
   * or starts an answer. A client that goes away stops the reading, never the answer.
   */
  const stream = async (c: Context<RestEnv>, find: () => Promise<FollowedAnswer>, lastEventId: string | null) => {
    const opened = deps.openStreams.open(c.get("caller"));
    let answer: FollowedAnswer;
    let res: ServerResponse | undefined;
    try {
      answer = await find();
      res = nodeBindingsOf(c).outgoing;
      if (!res) throw new Error("Answer streams are written on a Node response: serve the REST face with @hono/node-server");
    } catch (error) {
      opened.close();
      throw error;
    }
    const out = new SseStream(res, encoding);
    out.start(opened);
    try {
      await out.writeEach(readAnswerStream(deps, answer, lastEventId, out.signal), answerFramesOf(answer));
      out.end();
    } catch (error) {
      deps.log.error({ err: error, sessionId: answer.sessionId, messageId: answer.id }, "REST answer stream failed");
      out.end(error);
    }
    return RESPONSE_ALREADY_SENT;
  };

  const answerOf = (c: Context<RestEnv>, ids: { sessionId: string; messageId: string; lastEventId: string | null }, access: Access) =>
    answerToFollow(deps, c.get("caller"), ids, access);

  r.openapi(
    createRoute({
      method: "post",
      path: "/knowledge-chat/{session_id}",
      tags,
      description:
        "Starts an answer and streams it. A retry that must not start a second answer sends the same Idempotency-Key (a uuid, per session): it streams that answer from its first event; the same key with another query is 409 (1005). The answer keeps running if the client goes away.",
      request: { params: chatSessionParam, headers: idempotencyHeader, body: body(knowledgeChatBody) },
      responses: sse("The answer's frames, then the connection closes"),
    }),
    async (c) => {
      const { session_id } = c.req.valid("param");
      const input = c.req.valid("json");
      // Every check (lock, scope, bases) happens here, so a refusal is a JSON error before any frame.
      const started = async () => {
        const turn = await sendChat(
          deps,
          c.get("caller"),
          { sessionId: session_id, query: input.query, requestId: c.req.valid("header")["idempotency-key"] },
          {
            knowledgeBaseIds: input.knowledge_base_ids ?? undefined,
            disableTitle: input.disable_title ?? undefined,
            attachmentIds: input.attachment_ids ?? undefined,
            channel: input.channel ?? undefined,
          },
        );
        return answerOf(c, { sessionId: session_id, messageId: turn.assistantMessage.id, lastEventId: null }, "own");
      };
      return stream(c, started, null);
    },
  );

  r.openapi(
    createRoute({
      method: "get",
      path: "/sessions/continue-stream/{session_id}",
      tags,
      description: "Replays an answer from its first event (or exactly after the Last-Event-ID header), then follows it live.",
      request: { params: chatSessionParam, query: continueStreamQuery },
      responses: sse("The answer's frames, then the connection closes"),
    }),
    async (c) => {
      const lastEventId = c.req.header("last-event-id")?.trim() || null;
      if (lastEventId && !isStreamId(lastEventId)) throw badInput("Last-Event-ID", "Not an event id of this stream");
      const ids = { sessionId: c.req.valid("param").session_id, messageId: c.req.valid("query").message_id, lastEventId };
      return stream(c, () => answerOf(c, ids, "tenant"), ids.lastEventId);
    },
  );

  r.openapi(
    createRoute({
      method: "post",
      path: "/sessions/{id}/stop",
      tags,
      request: { params: sessionIdParam, body: body(stopBody) },
      responses: done("`Generation stopped` or `Message already completed`"),
    }),
    async (c) => {
      const { status } = await stopChat(deps, c.get("caller"), c.req.valid("param").id, c.req.valid("json").message_id);
      return c.json({ success: true as const, message: status === "stopped" ? "Generation stopped" : "Message already completed" }, 200);
    },
  );

  return r;
}
