import { createRoute, z } from "@hono/zod-openapi";
import { deleteMessage, listMessages } from "../../../sessions/messages";
import { countIndexedPairs, searchPairs } from "../../../sessions/pairSearch";
import { getSession } from "../../../sessions/sessions";
import { chatHistoryStatsJson, chatSessionParam, loadQuery, messageJson, messageParams, ok, searchBody, toMessageJson, toTurnHitJson, turnHitJson } from "../schemas";
import { body, done, errors, json, router, type RestDeps } from "./shared";

const tags = ["messages"];

/** Loading a session's messages, deleting one question/answer pair, searching pairs and counting what search finds. */
export function messageRoutes(deps: RestDeps) {
  const r = router();

  r.openapi(
    createRoute({
      method: "get",
      path: "/messages/{session_id}/load",
      tags,
      description: "The page of the active path's messages before `before_time` (or the newest), oldest first.",
      request: { params: chatSessionParam, query: loadQuery },
      responses: { 200: json(ok(z.array(messageJson)), "Messages, oldest first"), ...errors },
    }),
    async (c) => {
      const { session_id } = c.req.valid("param");
      const { limit, before_time } = c.req.valid("query");
      await getSession(deps.db, c.get("caller"), session_id, "tenant");
      const { items } = await listMessages(deps.db, session_id, { limit, before: before_time });
      return c.json({ success: true as const, data: items.map(toMessageJson) }, 200);
    },
  );

  r.openapi(
    createRoute({
      method: "post",
      path: "/messages/search",
      tags,
      description:
        "Question/answer pairs of the caller's own sessions: `keyword` ranked by full-text score, `vector` by similarity of meaning (the configured embedder), `hybrid` (the default) by both; each item says how it matched. A pair is searchable every way within 10 s of its answer ending.",
      request: { body: body(searchBody) },
      responses: { 200: json(ok(z.object({ items: z.array(turnHitJson), total: z.number().int() })), "Matching pairs, best first"), ...errors },
    }),
    async (c) => {
      const input = c.req.valid("json");
      const { items, total } = await searchPairs(deps, c.get("caller"), {
        query: input.query,
        mode: input.mode,
        limit: input.limit,
        sessionIds: input.session_ids ?? undefined,
      });
      return c.json({ success: true as const, data: { items: items.map(toTurnHitJson), total } }, 200);
    },
  );

  r.openapi(
    createRoute({
      method: "get",
      path: "/messages/chat-history-stats",
      tags,
      description: "WeKnora's chat-history index statistics, of the index `messages/search` reads: how many question/answer pairs of the caller's own sessions it finds by meaning.",
      responses: { 200: json(ok(chatHistoryStatsJson), "The index's statistics"), ...errors },
    }),
    async (c) => {
      const indexed = await countIndexedPairs(deps, c.get("caller"));
      const data = { enabled: true, embedding_model_id: deps.knowledge.embedder.id, indexed_message_count: indexed, has_indexed_messages: indexed > 0 };
      return c.json({ success: true as const, data }, 200);
    },
  );

  r.openapi(
    createRoute({
      method: "delete",
      path: "/messages/{session_id}/{id}",
      tags,
      description: "Deletes exactly that message (its children move up to its parent); 409 while it, or an answer to it, streams.",
      request: { params: messageParams },
      responses: { ...done("Message deleted"), 409: json(z.unknown(), "That answer is streaming (1005)") },
    }),
    async (c) => {
      const { session_id, id } = c.req.valid("param");
      await deleteMessage(deps, c.get("caller"), session_id, id);
      return c.json({ success: true as const, message: "Message deleted successfully" }, 200);
    },
  );

  return r;
}
