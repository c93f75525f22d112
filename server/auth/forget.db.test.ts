import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiKeys, webSessions } from "../../db/schema";
import type { App } from "../boot/app";
import { authenticateWebSession, bootstrap, createCallerCache, createWebSession, insertApiKey, purgeExpiredWebSessions } from "./accounts";
import { createTestApp, createTestTenant } from "../testing/app";

/** What Parley must forget: expired browser sign-ins, and the bootstrap key of an earlier value. */
const KEY_A = `pk_${"a".repeat(40)}`;
const KEY_B = `pk_${"b".repeat(40)}`;
let app: App;
beforeAll(async () => {
  // A database of its own even on the servers back end: the bootstrap keys of tenant `default` are
  // shared by every suite on the run's Postgres database.
  app = await createTestApp({ PARLEY_BOOTSTRAP_KEY: KEY_A, DATABASE_URL: "" });
});
afterAll(() => app.close());

/** Who a key signs in as, through a cache of its own (as a freshly started instance would). */
const signsIn = async (key: string) => (await createCallerCache().resolve(app.db, key)) !== null;

describe("expired browser sign-ins", () => {
  it("are purged; live ones stay", async () => {
    const t = await createTestTenant(app);
    const [key] = await app.db.select({ id: apiKeys.id }).from(apiKeys).where(eq(apiKeys.userId, t.owner.user.id));
    if (!key) throw new Error("the tenant owner has a key");
    const live = await createWebSession(app.db, key.id);
    const expired = await createWebSession(app.db, key.id);
    await app.db.update(webSessions).set({ expiresAt: new Date(Date.now() - 1000) }).where(eq(webSessions.expiresAt, expired.expiresAt));
    const rows = async () => (await app.db.select().from(webSessions).where(eq(webSessions.apiKeyId, key.id))).length;
    expect(await rows()).toBe(2);
    expect(await purgeExpiredWebSessions(app.db)).toBeGreaterThanOrEqual(1);
    expect(await rows()).toBe(1);
    expect(await authenticateWebSession(app.db, live.token)).not.toBeNull();
  });
});

describe("PARLEY_BOOTSTRAP_KEY changing", () => {
  it("revokes the key of its previous value, and only that one", async () => {
    expect(await signsIn(KEY_A)).toBe(true);
    const owner = await createCallerCache().resolve(app.db, KEY_A);
    const { apiKey: other } = await insertApiKey(app.db, { tenantId: owner!.tenant.id, userId: owner!.user.id, name: "ci" });
    // A restart with the same value changes nothing.
    expect((await bootstrap(app.db, KEY_A)).revoked).toBeUndefined();
    expect(await signsIn(KEY_A)).toBe(true);
    // A restart with a new value: the new one signs in, the old value's key no longer does.
    const restart = await bootstrap(app.db, KEY_B);
    expect(restart.revoked).toHaveLength(1);
    const [revokedRow] = await app.db.select().from(apiKeys).where(eq(apiKeys.id, restart.revoked![0]!));
    expect(revokedRow?.revokedAt).not.toBeNull();
    expect(await signsIn(KEY_B)).toBe(true);
    expect(await signsIn(KEY_A)).toBe(false);
    expect(await signsIn(other)).toBe(true);
    // Started without the variable, nothing is revoked.
    expect((await bootstrap(app.db, undefined)).revoked).toBeUndefined();
    expect(await signsIn(KEY_B)).toBe(true);
  });
});
