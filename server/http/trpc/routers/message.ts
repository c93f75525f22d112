import { z } from "zod";
import { switchBranch } from "../../../chat/answers";
import { text, timestamp } from "../../../../common/inputs";
import { listMessages, listSiblings, rateMessage } from "../../../sessions/messages";
import { getSession } from "../../../sessions/sessions";
import { authedProcedure, router } from "../trpc";

export const messageListInput = z.object({ sessionId: z.uuid(), before: timestamp().optional(), limit: z.number().int().min(1).max(100).default(20) });

export const messageRouter = router({
  list: authedProcedure
    .input(messageListInput)
    .query(async ({ ctx, input }) => {
      await getSession(ctx.app.db, ctx.me, input.sessionId, "tenant");
      return listMessages(ctx.app.db, input.sessionId, input);
    }),
  siblings: authedProcedure.input(z.object({ messageId: z.uuid() })).query(({ ctx, input }) => listSiblings(ctx.app.db, ctx.me, input.messageId)),
  switchBranch: authedProcedure
    .input(z.object({ sessionId: z.uuid(), messageId: z.uuid() }))
    .mutation(({ ctx, input }) => switchBranch(ctx.app, ctx.me, input)),
  rate: authedProcedure
    .input(z.object({ messageId: z.uuid(), rating: z.enum(["up", "down"]).nullable(), reason: text().max(500).nullish() }))
    .mutation(({ ctx, input }) => rateMessage(ctx.app.db, ctx.me, input)),
});
