import { z } from "zod";
import { text } from "../../../../common/inputs";
import { tenantStats } from "../../../sessions/tenantStats";
import { apiKeyHolder, createTenant, createUser, DEFAULT_TENANT, getUser, insertApiKey, listApiKeys, listUsers, revokeApiKey } from "../../../auth/accounts";
import { AppError } from "../../../platform/errors";
import { listTenantSessions } from "../../../sessions/sessions";
import { getTenantSettings, updateTenantSettings } from "../../../sessions/tenantSettings";
import { broadcast } from "../../../platform/signals";
import { adminProcedure, router } from "../trpc";
import { listInput } from "./session";

const name = text().trim().min(1).max(100);

/** Only an owner may hand out owner or admin power, or touch an owner's keys. */
function assertMayManage(callerRole: string, targetRole: string) {
  if (callerRole !== "owner" && targetRole !== "member") {
    throw new AppError("forbidden", "Only an owner may manage owners and admins");
  }
}

export const adminRouter = router({
  sessions: adminProcedure
    .input(listInput.extend({ userId: z.uuid().optional(), feedback: z.literal("down").optional() }).default({ limit: 20, archived: false }))
    .query(({ ctx, input }) => listTenantSessions(ctx.app.db, ctx.me, input)),
  stats: adminProcedure.query(({ ctx }) => tenantStats(ctx.app.db, ctx.me.tenant.id)),
  // The tenant's rules for its sessions: retention (null: keep forever) and sharing.
  tenant: router({
    get: adminProcedure.query(({ ctx }) => getTenantSettings(ctx.app.db, ctx.me.tenant.id)),
    update: adminProcedure
      .input(
        z.object({
          retentionDays: z.number().positive().max(36_500).nullable().optional(),
          keepPinned: z.boolean().optional(),
          sharingEnabled: z.boolean().optional(),
        }),
      )
      .mutation(({ ctx, input }) => updateTenantSettings(ctx.app.db, ctx.me.tenant.id, input)),
  }),
  users: router({
    list: adminProcedure.query(async ({ ctx }) => ({ items: await listUsers(ctx.app.db, ctx.me.tenant.id) })),
    create: adminProcedure
      .input(z.object({ name, role: z.enum(["owner", "admin", "member"]) }))
      .mutation(({ ctx, input }) => {
        assertMayManage(ctx.me.user.role, input.role);
        return createUser(ctx.app.db, ctx.me.tenant.id, input);
      }),
  }),
  apiKeys: router({
    list: adminProcedure
      .input(z.object({ userId: z.uuid().optional() }).default({}))
      .query(async ({ ctx, input }) => ({ items: await listApiKeys(ctx.app.db, ctx.me.tenant.id, input.userId) })),
    create: adminProcedure.input(z.object({ userId: z.uuid().optional(), name })).mutation(async ({ ctx, input }) => {
      const user = await getUser(ctx.app.db, ctx.me.tenant.id, input.userId ?? ctx.me.user.id);
      if (user.id !== ctx.me.user.id) assertMayManage(ctx.me.user.role, user.role);
      return insertApiKey(ctx.app.db, { tenantId: ctx.me.tenant.id, userId: user.id, name: input.name });
    }),
    revoke: adminProcedure.input(z.object({ id: z.uuid() })).mutation(async ({ ctx, input }) => {
      const holder = await apiKeyHolder(ctx.app.db, ctx.me.tenant.id, input.id);
      if (holder.userId !== ctx.me.user.id) assertMayManage(ctx.me.user.role, holder.role);
      const revoked = await revokeApiKey(ctx.app.db, ctx.me.tenant.id, input.id);
      // Every instance forgets the key now; if Redis is down, their caches expire within seconds.
      await broadcast(ctx.app, { revokedApiKeyId: input.id }).catch(() => undefined);
      return revoked;
    }),
  }),
  tenants: router({
    create: adminProcedure.input(z.object({ name })).mutation(({ ctx, input }) => {
      if (ctx.me.tenant.name !== DEFAULT_TENANT || ctx.me.user.role !== "owner") {
        throw new AppError("forbidden", "Only the owner of the default tenant may create tenants");
      }
      return createTenant(ctx.app.db, input.name);
    }),
  }),
});
