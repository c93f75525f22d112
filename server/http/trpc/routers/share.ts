import { z } from "zod";
import { createShare, listShares, revokeShare } from "../../../sessions/shares";
import { authedProcedure, router, type Context } from "../trpc";

/** Where links point: PARLEY_PUBLIC_URL, else the host the caller reached (as the sign-in link does). */
function publicBase(ctx: Context): string {
  const configured = ctx.app.env.PARLEY_PUBLIC_URL;
  if (configured && URL.canParse(configured)) return new URL(configured).origin;
  const host = ctx.header("host");
  return host ? `${ctx.isHttps() ? "https" : "http"}://${host}` : `http://localhost:${ctx.app.env.PORT}`;
}

/** Share links of the caller's own sessions: read-only copies anyone with the link may read. */
export const shareRouter = router({
  create: authedProcedure.input(z.object({ sessionId: z.uuid() })).mutation(({ ctx, input }) => createShare(ctx.app.db, ctx.me, input.sessionId, publicBase(ctx))),
  list: authedProcedure
    .input(z.object({ sessionId: z.uuid().optional() }).default({}))
    .query(({ ctx, input }) => listShares(ctx.app.db, ctx.me, input.sessionId)),
  revoke: authedProcedure.input(z.object({ id: z.uuid() })).mutation(({ ctx, input }) => revokeShare(ctx.app.db, ctx.me, input.id)),
});
