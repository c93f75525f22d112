import { tracked } from "@trpc/server";
import { z } from "zod";
import { text } from "../../../../common/inputs";
import { answerToFollow, sendChat, startAnswer, stopChat } from "../../../chat/answers";
import { badInput } from "../../../platform/errors";
import { isStreamId, readAnswerStream } from "../../../chat/streams";
import { authedProcedure, router } from "../trpc";
import { channelOf } from "../../authenticate";
import { mapEach } from "../../../platform/iterables";

const ids = { sessionId: z.uuid(), messageId: z.uuid() };

export const chatSendInput = z.object({ sessionId: z.uuid(), query: text().min(1).max(16000), requestId: z.uuid().optional() });

export const chatRouter = router({
  send: authedProcedure.input(chatSendInput).mutation(({ ctx, input }) => sendChat(ctx.app, ctx.me, input, { limitAs: ctx.limitAs, channel: channelOf(ctx.me) })),
  // A new version of a question (and its answer) beside `messageId`, with send's limits.
  edit: authedProcedure
    .input(chatSendInput.extend({ messageId: z.uuid() }))
    .mutation(({ ctx, input }) => startAnswer(ctx.app, ctx.me, { ...input, kind: "edit" }, { limitAs: ctx.limitAs, channel: channelOf(ctx.me) })),
  // A new answer to the question `messageId` answers, beside it.
  regenerate: authedProcedure.input(z.object({ ...ids, requestId: z.uuid().optional() })).mutation(async ({ ctx, input }) => {
    const { requestId, assistantMessage } = await startAnswer(ctx.app, ctx.me, { ...input, kind: "regenerate" }, { limitAs: ctx.limitAs, channel: channelOf(ctx.me) });
    return { requestId, assistantMessage };
  }),
  stream: authedProcedure
    // lastEventId must be declared here, or tRPC strips the resume id the client sends.
    .input(z.object({ ...ids, lastEventId: text().max(40).nullish() }))
    // Checks run before the first event so their errors keep their codes (NOT_FOUND, BAD_REQUEST).
    .subscription(async ({ ctx, input, signal }) => {
      if (input.lastEventId && !isStreamId(input.lastEventId)) throw badInput("lastEventId", "Not an event id of this stream");
      // The same resume id for the page read with the check and for the reading that replays it.
      const lastEventId = input.lastEventId ?? null;
      const answer = await answerToFollow(ctx.app, ctx.me, { ...input, lastEventId }, "tenant");
      return mapEach(readAnswerStream(ctx.app, answer, lastEventId, signal ?? new AbortController().signal), ({ id, event }) => tracked(id, event));
    }),
  stop: authedProcedure.input(z.object(ids)).mutation(({ ctx, input }) => stopChat(ctx.app, ctx.me, input.sessionId, input.messageId)),
});
