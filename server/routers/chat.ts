import { tracked } from "@trpc/server";
import { z } from "zod";
import { getAnswer, sendChat, stopChat } from "../answers";
import { badInput } from "../errors";
import { isStreamId, readAnswerStream } from "../streams";
import { authedProcedure, router } from "../trpc";

const ids = { sessionId: z.uuid(), messageId: z.uuid() };

export const chatSendInput = z.object({ sessionId: z.uuid(), query: z.string().min(1).max(16000), requestId: z.uuid().optional() });

export const chatRouter = router({
  send: authedProcedure.input(chatSendInput).mutation(({ ctx, input }) => sendChat(ctx.app, ctx.me, input, { limitAs: ctx.limitAs })),
  stream: authedProcedure
    // lastEventId must be declared here, or tRPC strips the resume id the client sends.
    .input(z.object({ ...ids, lastEventId: z.string().max(40).nullish() }))
    // Checks run before the first event so their errors keep their codes (NOT_FOUND, BAD_REQUEST).
    .subscription(async ({ ctx, input, signal }) => {
      if (input.lastEventId && !isStreamId(input.lastEventId)) throw badInput("lastEventId", "Not an event id of this stream");
      const answer = await getAnswer(ctx.app, ctx.me, input.sessionId, input.messageId, "tenant");
      return (async function* () {
        for await (const { id, event } of readAnswerStream(ctx.app, answer, input.lastEventId ?? null, signal ?? new AbortController().signal)) {
          yield tracked(id, event);
        }
      })();
    }),
  stop: authedProcedure.input(z.object(ids)).mutation(({ ctx, input }) => stopChat(ctx.app, ctx.me, input.sessionId, input.messageId)),
});
