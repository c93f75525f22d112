import { z } from "zod";
import { timestamp } from "../inputs";
import { listMessages } from "../messages";
import { getSession } from "../sessions";
import { authedProcedure, router } from "../trpc";

export const messageListInput = z.object({ sessionId: z.uuid(), before: timestamp().optional(), limit: z.number().int().min(1).max(100).default(20) });

export const messageRouter = router({
  list: authedProcedure
    .input(messageListInput)
    .query(async ({ ctx, input }) => {
      await getSession(ctx.app.db, ctx.me, input.sessionId, "tenant");
      return listMessages(ctx.app.db, input.sessionId, input);
    }),
});
