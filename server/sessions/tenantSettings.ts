import { eq, isNotNull } from "drizzle-orm";
import type { Db } from "../../db";
import { tenants } from "../../db/schema";
import { notFound } from "../platform/errors";

/**
 * A tenant's rules for its sessions (`admin.tenant.get` / `.update`, owners and admins): how long
 * idle sessions are kept, whether retention spares pinned ones, and whether sessions may be shared.
 */
export interface TenantSettings {
  /** Sessions idle (by `updatedAt`) longer than this many days are deleted; null: kept forever. */
  retentionDays: number | null;
  keepPinned: boolean;
  sharingEnabled: boolean;
}

const settingsColumns = { retentionDays: tenants.retentionDays, keepPinned: tenants.keepPinned, sharingEnabled: tenants.sharingEnabled };

export async function getTenantSettings(db: Db, tenantId: string): Promise<TenantSettings> {
  const [row] = await db.select(settingsColumns).from(tenants).where(eq(tenants.id, tenantId));
  if (!row) throw notFound("Tenant");
  return row;
}

/** Changes the settings given (the router checks `retentionDays` > 0). Turning sharing off makes every link of the tenant 404 until it is on again. */
export async function updateTenantSettings(db: Db, tenantId: string, patch: Partial<TenantSettings>): Promise<TenantSettings> {
  // An explicit `undefined` (as superjson carries it) changes nothing.
  const given = Object.fromEntries(Object.entries(patch).filter(([, value]) => value !== undefined));
  if (Object.keys(given).length === 0) return getTenantSettings(db, tenantId);
  const [row] = await db.update(tenants).set(given).where(eq(tenants.id, tenantId)).returning(settingsColumns);
  if (!row) throw notFound("Tenant");
  return row;
}

/** The tenants that keep sessions for a limited time, with their rules (the retention sweep's list). */
export async function tenantsWithRetention(db: Db): Promise<{ id: string; retentionDays: number; keepPinned: boolean }[]> {
  const rows = await db.select({ id: tenants.id, retentionDays: tenants.retentionDays, keepPinned: tenants.keepPinned }).from(tenants).where(isNotNull(tenants.retentionDays));
  return rows.map((r) => ({ ...r, retentionDays: r.retentionDays! })); // not null, by the where
}
