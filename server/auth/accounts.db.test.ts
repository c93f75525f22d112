import { randomUUID } from "node:crypto";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiKeys, tenants } from "../../db/schema";
import type { App } from "../boot/app";
import { bootstrap, createCallerCache, revokeApiKey, sha256 } from "./accounts";
import { parseEnv } from "../platform/env";
import { browserFor, callerFor, codeOf, createTestApp, createTestTenant, fieldErrorsOf } from "../testing/app";
import { signInCookie } from "../testing/http";

let app: App;
beforeAll(async () => {
  app = await createTestApp();
});
afterAll(() => app.close());

describe("authentication", () => {
  it("refuses calls without a key, with an unknown key, or with a revoked key", async () => {
    const t = await createTestTenant(app);
    expect(await codeOf(callerFor(app, null).session.list())).toBe("UNAUTHORIZED");
    expect(await codeOf(callerFor(app, "pk_unknown").session.list())).toBe("UNAUTHORIZED");
    expect(await codeOf(callerFor(app, null).auth.me())).toBe("UNAUTHORIZED");
    const member = await t.addUser("member");
    expect((await member.api.auth.me()).user.id).toBe(member.user.id);
    const [key] = (await t.owner.api.admin.apiKeys.list({ userId: member.user.id })).items;
    await t.owner.api.admin.apiKeys.revoke({ id: key!.id });
    expect(await codeOf(member.api.session.list())).toBe("UNAUTHORIZED");
  });

  it("caches resolved keys briefly: a revocation whose signal was lost still ends within the TTL", async () => {
    const t = await createTestTenant(app);
    const m = await t.addUser("member");
    const cache = createCallerCache(100);
    expect((await cache.resolve(app.db, m.apiKey))?.user.id).toBe(m.user.id);
    const [key] = await app.db.select().from(apiKeys).where(eq(apiKeys.hash, sha256(m.apiKey)));
    await revokeApiKey(app.db, t.tenant.id, key!.id); // no broadcast reaches this cache
    expect((await cache.resolve(app.db, m.apiKey))?.user.id).toBe(m.user.id);
    await new Promise((r) => setTimeout(r, 120));
    expect(await cache.resolve(app.db, m.apiKey)).toBeNull();
    const other = await t.addUser("member");
    await cache.resolve(app.db, other.apiKey);
    const [otherKey] = await app.db.select().from(apiKeys).where(eq(apiKeys.hash, sha256(other.apiKey)));
    await revokeApiKey(app.db, t.tenant.id, otherKey!.id);
    cache.forgetKey(otherKey!.id); // what the revocation signal does
    expect(await cache.resolve(app.db, other.apiKey)).toBeNull();
  });

  it("accepts X-API-Key as well as a bearer token", async () => {
    const t = await createTestTenant(app);
    const viaHeader = callerFor(app, null, { "x-api-key": t.owner.apiKey });
    expect((await viaHeader.auth.me()).tenant.id).toBe(t.tenant.id);
  });

  it("stores keys only as SHA-256 hashes and never returns them in listings", async () => {
    const t = await createTestTenant(app);
    const [row] = await app.db.select().from(apiKeys).where(eq(apiKeys.hash, sha256(t.owner.apiKey)));
    expect(row!.hash).toBe(sha256(t.owner.apiKey));
    expect(JSON.stringify(row)).not.toContain(t.owner.apiKey);
    const listed = await t.owner.api.admin.apiKeys.list();
    expect(JSON.stringify(listed)).not.toContain(t.owner.apiKey);
    expect(JSON.stringify(listed)).not.toContain(row!.hash);
    expect(Object.keys(listed.items[0]!).sort()).toEqual(["createdAt", "id", "lastUsedAt", "name", "prefix", "revokedAt", "userId"]);
  });

  it("signs a browser in with an httpOnly, SameSite=Lax cookie and out again", async () => {
    const t = await createTestTenant(app);
    const anonymous = browserFor(app, null);
    expect(await codeOf(anonymous.api.auth.signIn({ apiKey: "pk_wrong" }))).toBe("UNAUTHORIZED");
    expect(await fieldErrorsOf(anonymous.api.auth.signIn({ apiKey: "" }))).toEqual(["apiKey"]);
    const signedIn = await anonymous.api.auth.signIn({ apiKey: t.owner.apiKey });
    expect(signedIn.user.id).toBe(t.owner.user.id);
    const cookie = anonymous.resHeaders.get("set-cookie")!;
    expect(cookie).toMatch(/^parley_session=[\w-]+; Path=\/; HttpOnly; SameSite=Lax/);
    const browser = browserFor(app, null, { cookie: cookie.split(";")[0]! });
    expect((await browser.api.auth.me()).user.id).toBe(t.owner.user.id);
    expect(await browser.api.auth.signOut()).toEqual({ ok: true });
    expect(browser.resHeaders.get("set-cookie")).toContain("Max-Age=0");
    expect(await codeOf(browser.api.auth.me())).toBe("UNAUTHORIZED");
  });

  it("a revoked key signs its browser sessions out", async () => {
    const t = await createTestTenant(app);
    const m = await t.addUser("member");
    const browser = callerFor(app, null, { cookie: await signInCookie(app, m.apiKey) });
    expect((await browser.auth.me()).user.id).toBe(m.user.id);
    const [key] = (await t.owner.api.admin.apiKeys.list({ userId: m.user.id })).items;
    await t.owner.api.admin.apiKeys.revoke({ id: key!.id });
    expect(await codeOf(browser.auth.me())).toBe("UNAUTHORIZED");
  });
});

describe("bootstrap", () => {
  it("created tenant 'default' with owner 'admin' once; a configured key signs in as that owner", async () => {
    const [def] = await app.db.select().from(tenants).where(eq(tenants.name, "default"));
    expect(def).toBeDefined();
    expect(await bootstrap(app.db)).toEqual({ created: false });
    const key = `pk_${randomUUID()}${randomUUID()}`;
    await bootstrap(app.db, key);
    const me = await callerFor(app, key).auth.me();
    expect(me.tenant.name).toBe("default");
    expect(me.user).toMatchObject({ name: "admin", role: "owner" });
  });

  it("refuses a bootstrap key shorter than 32 characters, naming the variable", () => {
    expect(() => parseEnv({ PARLEY_BOOTSTRAP_KEY: "x".repeat(31) })).toThrow(/PARLEY_BOOTSTRAP_KEY: must be at least 32 characters/);
    expect(parseEnv({ PARLEY_BOOTSTRAP_KEY: "x".repeat(32) }).PARLEY_BOOTSTRAP_KEY).toHaveLength(32);
    expect(() => parseEnv({ DATABASE_URL: "not a url" })).toThrow(/DATABASE_URL/);
    expect(() => parseEnv({ PARLEY_MAX_CONCURRENT_ANSWERS: "0" })).toThrow(/PARLEY_MAX_CONCURRENT_ANSWERS/);
  });
});

describe("scope: tenant wall and roles", () => {
  it("a session of another tenant is NOT_FOUND for every procedure, even for its owner role", async () => {
    const a = await createTestTenant(app);
    const b = await createTestTenant(app);
    const s = await a.owner.api.session.create({ title: "secret" });
    const id = s.id;
    const them = b.owner.api;
    expect(await codeOf(them.session.get({ id }))).toBe("NOT_FOUND");
    expect(await codeOf(them.session.update({ id, title: "x" }))).toBe("NOT_FOUND");
    expect(await codeOf(them.session.delete({ id }))).toBe("NOT_FOUND");
    expect(await codeOf(them.session.clearMessages({ id }))).toBe("NOT_FOUND");
    expect(await codeOf(them.session.export({ id, format: "json" }))).toBe("NOT_FOUND");
    expect(await codeOf(them.message.list({ sessionId: id }))).toBe("NOT_FOUND");
    expect(await them.session.deleteMany({ ids: [id] })).toEqual({ deleted: 0 });
    expect((await them.session.list({ search: "secret" })).items).toEqual([]);
    expect((await them.admin.sessions({ search: "secret" })).items).toEqual([]);
    expect((await a.owner.api.session.get({ id })).title).toBe("secret");
  });

  it("members see only their own sessions; admins read and delete any in their tenant but only owners chat/edit", async () => {
    const t = await createTestTenant(app);
    const alice = await t.addUser("member");
    const bob = await t.addUser("member");
    const admin = await t.addUser("admin");
    const s = await alice.api.session.create({ title: "alice's" });
    expect(await codeOf(bob.api.session.get({ id: s.id }))).toBe("NOT_FOUND");
    expect(await codeOf(bob.api.session.delete({ id: s.id }))).toBe("NOT_FOUND");
    expect(await codeOf(bob.api.message.list({ sessionId: s.id }))).toBe("NOT_FOUND");
    expect((await bob.api.session.list()).items).toEqual([]);
    expect((await admin.api.session.get({ id: s.id })).id).toBe(s.id);
    expect((await admin.api.session.export({ id: s.id, format: "markdown" })).content).toContain("# alice's");
    expect((await admin.api.message.list({ sessionId: s.id })).items).toEqual([]);
    expect(await codeOf(admin.api.session.update({ id: s.id, title: "hijack" }))).toBe("NOT_FOUND");
    expect(await codeOf(admin.api.session.clearMessages({ id: s.id }))).toBe("NOT_FOUND");
    expect((await admin.api.session.list()).items).toEqual([]);
    expect(await admin.api.session.delete({ id: s.id })).toEqual({ id: s.id });
    expect(await codeOf(alice.api.session.get({ id: s.id }))).toBe("NOT_FOUND");
  });

  it("a member calling any admin procedure gets FORBIDDEN", async () => {
    const t = await createTestTenant(app);
    const m = (await t.addUser("member")).api;
    const calls = [
      m.admin.sessions(),
      m.admin.stats(),
      m.admin.users.list(),
      m.admin.users.create({ name: "x", role: "member" }),
      m.admin.apiKeys.list(),
      m.admin.apiKeys.create({ name: "k" }),
      m.admin.apiKeys.revoke({ id: randomUUID() }),
      m.admin.tenants.create({ name: "x" }),
    ];
    expect(await Promise.all(calls.map(codeOf))).toEqual(Array(calls.length).fill("FORBIDDEN"));
  });
});

describe("admin", () => {
  it("lists every session of the tenant with its owner, filters by user and searches", async () => {
    const t = await createTestTenant(app);
    const alice = await t.addUser("member", "alice");
    const bob = await t.addUser("member", "bob");
    await alice.api.session.create({ title: "alpha plan" });
    await bob.api.session.create({ title: "beta plan" });
    const all = await t.owner.api.admin.sessions();
    expect(all.items.map((s) => s.owner.name).sort()).toEqual(["alice", "bob"]);
    expect(all.items[0]!.messageCount).toBe(0);
    expect((await t.owner.api.admin.sessions({ userId: bob.user.id })).items.map((s) => s.title)).toEqual(["beta plan"]);
    expect((await t.owner.api.admin.sessions({ search: "alpha" })).items.map((s) => s.title)).toEqual(["alpha plan"]);
    expect(await fieldErrorsOf(t.owner.api.admin.sessions({ userId: "bob" }))).toEqual(["userId"]);
    const page = await t.owner.api.admin.sessions({ limit: 1 });
    const next = await t.owner.api.admin.sessions({ limit: 1, cursor: page.nextCursor! });
    expect(next.items[0]!.id).not.toBe(page.items[0]!.id);
    expect(next.nextCursor).toBeNull();
  });

  it("counts sessions, messages, users and sessions per day over 30 days", async () => {
    const t = await createTestTenant(app);
    const m = await t.addUser("member");
    await m.api.session.create();
    await t.owner.api.session.create();
    const stats = await t.owner.api.admin.stats();
    expect(stats).toMatchObject({ sessions: 2, messages: 0, users: 2, activeStreams: 0 });
    expect(stats.sessionsPerDay).toHaveLength(30);
    expect(stats.sessionsPerDay.at(-1)).toEqual({ day: new Date().toISOString().slice(0, 10), count: 2 });
    expect(stats.sessionsPerDay.slice(0, -1).every((d) => d.count === 0)).toBe(true);
  });

  it("creates users with a key shown once, and keys for users; revokes keys", async () => {
    const t = await createTestTenant(app);
    const { user, apiKey } = await t.owner.api.admin.users.create({ name: "carol", role: "member" });
    expect(user).toMatchObject({ name: "carol", role: "member", tenantId: t.tenant.id });
    expect((await callerFor(app, apiKey).auth.me()).user.id).toBe(user.id);
    expect(await codeOf(t.owner.api.admin.users.create({ name: "carol", role: "member" }))).toBe("CONFLICT");
    expect(await fieldErrorsOf(t.owner.api.admin.users.create({ name: "", role: "member" }))).toEqual(["name"]);
    expect(await fieldErrorsOf(t.owner.api.admin.users.create({ name: "x".repeat(101), role: "member" }))).toEqual(["name"]);
    expect(await fieldErrorsOf(t.owner.api.admin.users.create({ name: "dan", role: "god" } as never))).toEqual(["role"]);
    const created = await t.owner.api.admin.apiKeys.create({ userId: user.id, name: "laptop" });
    expect(created.key).toMatchObject({ userId: user.id, name: "laptop", revokedAt: null });
    expect(created.apiKey.startsWith(created.key.prefix)).toBe(true);
    const revoked = await t.owner.api.admin.apiKeys.revoke({ id: created.key.id });
    expect(revoked).toEqual({ id: created.key.id });
    expect(await codeOf(callerFor(app, created.apiKey).auth.me())).toBe("UNAUTHORIZED");
    expect((await callerFor(app, apiKey).auth.me()).user.id).toBe(user.id);
    expect((await t.owner.api.admin.users.list()).items.map((u) => u.name)).toEqual(["admin", "carol"]);
    expect(await codeOf(t.owner.api.admin.apiKeys.revoke({ id: randomUUID() }))).toBe("NOT_FOUND");
  });

  it("keeps admins from managing owners and admins, and tenants apart", async () => {
    const t = await createTestTenant(app);
    const other = await createTestTenant(app);
    const admin = await t.addUser("admin");
    expect(await codeOf(admin.api.admin.users.create({ name: "boss", role: "owner" }))).toBe("FORBIDDEN");
    expect((await admin.api.admin.users.create({ name: "m1", role: "member" })).user.role).toBe("member");
    expect(await codeOf(admin.api.admin.apiKeys.create({ userId: t.owner.user.id, name: "steal" }))).toBe("FORBIDDEN");
    const ownerKey = (await t.owner.api.admin.apiKeys.list({ userId: t.owner.user.id })).items[0];
    expect(await codeOf(admin.api.admin.apiKeys.revoke({ id: ownerKey!.id }))).toBe("FORBIDDEN");
    expect(await codeOf(admin.api.admin.apiKeys.create({ userId: other.owner.user.id, name: "x" }))).toBe("NOT_FOUND");
    const foreignKey = (await other.owner.api.admin.apiKeys.list()).items[0];
    expect(await codeOf(t.owner.api.admin.apiKeys.revoke({ id: foreignKey!.id }))).toBe("NOT_FOUND");
    expect((await t.owner.api.admin.users.list()).items.every((u) => u.tenantId === t.tenant.id)).toBe(true);
  });

  it("only the owner of 'default' creates tenants", async () => {
    const t = await createTestTenant(app);
    expect(await codeOf(t.owner.api.admin.tenants.create({ name: "nope" }))).toBe("FORBIDDEN");
    const key = `pk_${randomUUID()}${randomUUID()}`;
    await bootstrap(app.db, key);
    const root = callerFor(app, key);
    const name = `acme-${randomUUID().slice(0, 6)}`;
    const created = await root.admin.tenants.create({ name });
    expect(created.tenant.name).toBe(name);
    expect(created.owner.role).toBe("owner");
    expect((await callerFor(app, created.apiKey).auth.me()).tenant.name).toBe(name);
    expect(await codeOf(root.admin.tenants.create({ name }))).toBe("CONFLICT");
  });
});
