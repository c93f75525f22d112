import { z } from "zod";
import { text } from "../../../../common/inputs";
import { clearedSessionCookie, cookieFromHeaders, createWebSession, deleteWebSession, sessionCookie } from "../../../auth/accounts";
import { AppError } from "../../../platform/errors";
import { broadcast } from "../../../platform/signals";
import { signInCaller } from "../../authenticate";
import { authedProcedure, publicProcedure, router } from "../trpc";

export const authRouter = router({
  signIn: publicProcedure.input(z.object({ apiKey: text().trim().min(1).max(200) })).mutation(async ({ ctx, input }) => {
    // Guessing keys: wrong attempts are limited per client address, refused before the key is checked.
    const caller = await signInCaller(ctx.app, ctx, input.apiKey);
    if (!caller) throw new AppError("unauthorized", "This API key is unknown or revoked");
    const { token, expiresAt } = await createWebSession(ctx.app.db, caller.apiKeyId);
    ctx.setCookie(sessionCookie(token, expiresAt, ctx.isHttps()));
    return { user: caller.user, tenant: caller.tenant };
  }),
  signOut: publicProcedure.mutation(async ({ ctx }) => {
    const token = cookieFromHeaders(ctx.header);
    const signedOut = token ? await deleteWebSession(ctx.app.db, token) : null;
    // Streams opened with this cookie end on every instance (if Redis is down, on this one).
    if (signedOut) await broadcast(ctx.app, { signedOutWebSessionId: signedOut }).catch(() => undefined);
    ctx.setCookie(clearedSessionCookie());
    return { ok: true as const };
  }),
  me: authedProcedure.query(({ ctx }) => ({ user: ctx.me.user, tenant: ctx.me.tenant })),
});
