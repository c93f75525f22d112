import { z } from "zod";
import { text } from "../../../../common/inputs";
import { generateSessionTitle } from "../../../chat/answers";
import { sessionInputSchema } from "../../../../common/settings";
import { exportSession } from "../../../sessions/messages";
import { createSession, getSession, listSessions, updateSession } from "../../../sessions/sessions";
import { clearSession, removeSession, removeSessions } from "../../../sessions/removal";
import { authedProcedure, router } from "../trpc";

const id = z.uuid();
export const listInput = z.object({
  limit: z.number().int().min(1).max(100).default(20),
  cursor: text().max(500).optional(),
  search: text().max(500).optional(),
  // Absent: any folder; null: only sessions in none.
  folderId: z.uuid().nullable().optional(),
  archived: z.boolean().default(false),
});

export const sessionRouter = router({
  create: authedProcedure
    .input(sessionInputSchema.extend({ folderId: z.uuid().nullable().optional(), temporary: z.boolean().optional() }).optional())
    .mutation(({ ctx, input: { folderId, temporary, ...settings } = {} }) =>
      createSession(ctx.app.db, ctx.me, settings, { folderId, temporaryHours: temporary ? ctx.app.env.PARLEY_TEMPORARY_HOURS : undefined }),
    ),
  get: authedProcedure.input(z.object({ id })).query(({ ctx, input }) => getSession(ctx.app.db, ctx.me, input.id, "tenant")),
  list: authedProcedure
    .input(listInput.extend({ withTotal: z.boolean().default(false) }).default({ limit: 20, archived: false, withTotal: false }))
    .query(({ ctx, input }) => listSessions(ctx.app.db, ctx.me, input)),
  update: authedProcedure
    // Only `temporary: false` may be set: a temporary chat can be kept, an ordinary session never becomes one.
    .input(
      sessionInputSchema.extend({
        id,
        pinned: z.boolean().optional(),
        archived: z.boolean().optional(),
        folderId: z.uuid().nullable().optional(),
        temporary: z.literal(false, { error: "Only temporary: false (keep the chat) may be set" }).optional(),
      }),
    )
    .mutation(({ ctx, input: { id, ...patch } }) => updateSession(ctx.app.db, ctx.me, id, patch)),
  delete: authedProcedure.input(z.object({ id })).mutation(async ({ ctx, input }) => ({ id: await removeSession(ctx.app, ctx.me, input.id) })),
  deleteMany: authedProcedure
    .input(
      z
        .object({ ids: z.array(id).min(1).max(1000).optional(), all: z.literal(true).optional() })
        .refine((v) => (v.ids === undefined) !== (v.all === undefined), {
          message: "Pass exactly one of 'ids' or 'all: true'",
          path: ["ids"],
        }),
    )
    .mutation(async ({ ctx, input }) => ({ deleted: await removeSessions(ctx.app, ctx.me, input.all ? { all: true } : { ids: input.ids! }) })),
  clearMessages: authedProcedure.input(z.object({ id })).mutation(async ({ ctx, input }) => ({ deleted: await clearSession(ctx.app, ctx.me, input.id) })),
  generateTitle: authedProcedure.input(z.object({ id })).mutation(({ ctx, input }) => generateSessionTitle(ctx.app, ctx.me, input.id)),
  export: authedProcedure
    .input(z.object({ id, format: z.enum(["markdown", "json"]) }))
    .query(async ({ ctx, input }) => exportSession(ctx.app.db, await getSession(ctx.app.db, ctx.me, input.id, "tenant"), input.format)),
});
