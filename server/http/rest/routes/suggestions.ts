import { createRoute, z } from "@hono/zod-openapi";
import { text } from "../../../../common/inputs";
import { ensureSuggestions, getSuggestions, recordSuggestionEvent, SUGGESTION_EVENTS, type SuggestionSet } from "../../../chat/suggestions";
import { body, done, errors, json, router, type RestDeps } from "./shared";

const tags = ["suggestions"];
const uuid = z.uuid();
const messageParams = z.object({ session_id: uuid, message_id: uuid });

/** WeKnora's `MessageSuggestionSet` (client/message_suggestion.go); `source` is `model` or `answer` (built from the conversation's own words). */
const suggestionSetJson = z
  .object({
    id: z.string(),
    session_id: z.string(),
    assistant_message_id: z.string(),
    status: z.enum(["ready", "suppressed"]),
    allow_regenerate: z.boolean(),
    suppression_reason: z.string().optional(),
    questions: z.array(z.object({ id: z.string(), text: z.string(), category: z.string().optional(), source: z.string() })),
    generated_at: z.string(),
  })
  .openapi("MessageSuggestionSet");
const okSet = z.object({ success: z.literal(true), data: suggestionSetJson });

function toSuggestionSetJson(set: SuggestionSet): z.output<typeof suggestionSetJson> {
  return {
    id: set.id,
    session_id: set.sessionId,
    assistant_message_id: set.messageId,
    status: set.status,
    allow_regenerate: true,
    ...(set.suppressionReason && { suppression_reason: set.suppressionReason }),
    questions: set.questions,
    generated_at: set.generatedAt.toISOString(),
  };
}

/** Optional: a call without a body makes the suggestions once. */
const ensureBody = z.object({ regenerate: z.boolean().nullish() });
const eventBody = z.object({
  suggestion_set_id: uuid,
  question_id: z.preprocess((v) => (v === "" ? undefined : v), text().max(64).nullish()),
  event_type: z.enum(SUGGESTION_EVENTS),
});

/** Follow-up suggestions of an answer (chat/suggestions.ts): make them, read them, count events on them. */
export function suggestionRoutes(deps: RestDeps) {
  const r = router();

  r.openapi(
    createRoute({
      method: "post",
      path: "/sessions/{session_id}/messages/{message_id}/suggestions",
      tags,
      description:
        "The follow-up questions of a completed answer in the caller's own session: those made before, or up to 3 made now by the session's summary model (`regenerate: true`: made again). An answer still streaming, stopped or failed is 400.",
      request: { params: messageParams, body: { content: { "application/json": { schema: ensureBody } }, required: false } },
      responses: { 200: json(okSet, "The suggestion set"), ...errors },
    }),
    async (c) => {
      const { session_id, message_id } = c.req.valid("param");
      // No body is no regenerate.
      const set = await ensureSuggestions(deps, c.get("caller"), session_id, message_id, c.req.valid("json").regenerate ?? false);
      return c.json({ success: true as const, data: toSuggestionSetJson(set) }, 200);
    },
  );

  r.openapi(
    createRoute({
      method: "get",
      path: "/sessions/{session_id}/messages/{message_id}/suggestions",
      tags,
      description: "An answer's follow-up questions; 404 (1003) while none were made, as WeKnora.",
      request: { params: messageParams },
      responses: { 200: json(okSet, "The suggestion set"), ...errors },
    }),
    async (c) => {
      const { session_id, message_id } = c.req.valid("param");
      const set = await getSuggestions(deps.db, c.get("caller"), session_id, message_id);
      return c.json({ success: true as const, data: toSuggestionSetJson(set) }, 200);
    },
  );

  r.openapi(
    createRoute({
      method: "post",
      path: "/sessions/{session_id}/suggestion-events",
      tags,
      description: "Records that a suggestion set was shown (`impression`), a question of it clicked (`click`, naming `question_id`) or the set dismissed (`dismiss`).",
      request: { params: z.object({ session_id: uuid }), body: body(eventBody) },
      responses: done("Event recorded"),
    }),
    async (c) => {
      const input = c.req.valid("json");
      await recordSuggestionEvent(deps, c.get("caller"), c.req.valid("param").session_id, {
        setId: input.suggestion_set_id,
        questionId: input.question_id ?? undefined,
        event: input.event_type,
      });
      return c.json({ success: true as const, message: "Event recorded" }, 200);
    },
  );

  return r;
}
