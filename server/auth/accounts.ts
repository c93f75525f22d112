import { createHash, randomBytes } from "node:crypto";
import { and, eq, gt, isNull, lte, ne, sql } from "drizzle-orm";
import type { Db } from "../../db";
import { apiKeys, tenants, users, webSessions } from "../../db/schema";
import { AppError, notFound } from "../platform/errors";

export type Role = "owner" | "admin" | "member";
export interface User {
  id: string;
  tenantId: string;
  name: string;
  role: Role;
  createdAt: Date;
}
export interface Tenant {
  id: string;
  /** The tenant's stable integer number (`tenant_id` on the REST face). */
  number: number;
  name: string;
  createdAt: Date;
}
export interface ApiKey {
  id: string;
  userId: string;
  name: string;
  prefix: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}
/** Who is calling: resolved once per request from a key or the sign-in cookie. */
export interface Caller {
  user: User;
  tenant: Tenant;
  /** The key called with, or the one the browser signed in with. */
  apiKeyId: string;
  /** When the caller came with the sign-in cookie: that sign-in (its token's hash, the row's key). */
  webSessionId?: string;
}

export const SESSION_COOKIE = "parley_session";
const WEB_SESSION_DAYS = 30;
/** How stale `lastUsedAt` may get: one write per key per minute, not one per request. */
const LAST_USED_GRANULARITY_MS = 60_000;

export const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
export const generateApiKey = () => `pk_${randomBytes(30).toString("base64url")}`;
const keyPrefix = (key: string) => key.slice(0, 10);

export const isAdmin = (user: Pick<User, "role">) => user.role === "owner" || user.role === "admin";

const userColumns = { id: users.id, tenantId: users.tenantId, name: users.name, role: users.role, createdAt: users.createdAt };
const tenantColumns = { id: tenants.id, number: tenants.number, name: tenants.name, createdAt: tenants.createdAt };
export const apiKeyColumns = {
  id: apiKeys.id,
  userId: apiKeys.userId,
  name: apiKeys.name,
  prefix: apiKeys.prefix,
  createdAt: apiKeys.createdAt,
  lastUsedAt: apiKeys.lastUsedAt,
  revokedAt: apiKeys.revokedAt,
};

/** Resolves an API key to its caller, or null when unknown or revoked. */
export async function authenticateKey(db: Db, key: string): Promise<Caller | null> {
  if (!key || key.length > 200) return null;
  const [row] = await db
    .select({ user: userColumns, tenant: tenantColumns, apiKeyId: apiKeys.id, lastUsedAt: apiKeys.lastUsedAt })
    .from(apiKeys)
    .innerJoin(users, eq(users.id, apiKeys.userId))
    .innerJoin(tenants, eq(tenants.id, apiKeys.tenantId))
    .where(and(eq(apiKeys.hash, sha256(key)), isNull(apiKeys.revokedAt)))
    .limit(1);
  if (!row) return null;
  if (!row.lastUsedAt || Date.now() - row.lastUsedAt.getTime() > LAST_USED_GRANULARITY_MS) {
    await db.update(apiKeys).set({ lastUsedAt: new Date() }).where(eq(apiKeys.id, row.apiKeyId));
  }
  return { user: row.user, tenant: row.tenant, apiKeyId: row.apiKeyId };
}

/** How long a resolved key is trusted without asking the database; revocation clears it at once. */
const CALLER_CACHE_MS = 10_000;
const CALLER_CACHE_MAX = 10_000;

/**
 * Keys resolved recently, by hash. A revoked key is forgotten on every instance through a signal;
 * should that signal be lost (Redis down at that moment), the entry still expires within seconds.
 */
export function createCallerCache(ttlMs = CALLER_CACHE_MS) {
  const entries = new Map<string, { caller: Caller; expires: number }>();
  return {
    async resolve(db: Db, key: string): Promise<Caller | null> {
      const hash = sha256(key);
      const hit = entries.get(hash);
      if (hit && hit.expires > Date.now()) return hit.caller;
      entries.delete(hash);
      const caller = await authenticateKey(db, key);
      if (caller) {
        if (entries.size >= CALLER_CACHE_MAX) entries.delete(entries.keys().next().value!);
        entries.set(hash, { caller, expires: Date.now() + ttlMs });
      }
      return caller;
    },
    forgetKey(apiKeyId: string) {
      for (const [hash, entry] of entries) if (entry.caller.apiKeyId === apiKeyId) entries.delete(hash);
    },
  };
}
export type CallerCache = ReturnType<typeof createCallerCache>;

/** Resolves the browser's sign-in cookie token; revoking the key signs the browser out too. */
export async function authenticateWebSession(db: Db, token: string): Promise<Caller | null> {
  if (!token || token.length > 200) return null;
  const tokenHash = sha256(token);
  const [row] = await db
    .select({ user: userColumns, tenant: tenantColumns, apiKeyId: apiKeys.id })
    .from(webSessions)
    .innerJoin(apiKeys, eq(apiKeys.id, webSessions.apiKeyId))
    .innerJoin(users, eq(users.id, apiKeys.userId))
    .innerJoin(tenants, eq(tenants.id, apiKeys.tenantId))
    .where(and(eq(webSessions.tokenHash, tokenHash), isNull(apiKeys.revokedAt), gt(webSessions.expiresAt, new Date())))
    .limit(1);
  return row ? { ...row, webSessionId: tokenHash } : null;
}

/** Starts a browser sign-in for a key; returns the cookie token (stored only as a hash). */
export async function createWebSession(db: Db, apiKeyId: string): Promise<{ token: string; expiresAt: Date }> {
  const token = randomBytes(32).toString("base64url");
  const expiresAt = new Date(Date.now() + WEB_SESSION_DAYS * 86_400_000);
  await db.insert(webSessions).values({ tokenHash: sha256(token), apiKeyId, expiresAt });
  return { token, expiresAt };
}

/** Ends a browser sign-in; returns its id (`Caller.webSessionId`) when there was one. */
export async function deleteWebSession(db: Db, token: string): Promise<string | null> {
  const [deleted] = await db.delete(webSessions).where(eq(webSessions.tokenHash, sha256(token))).returning({ id: webSessions.tokenHash });
  return deleted?.id ?? null;
}

export function sessionCookie(token: string, expiresAt: Date, secure: boolean): string {
  const parts = [`${SESSION_COOKIE}=${token}`, "Path=/", "HttpOnly", "SameSite=Lax", `Expires=${expiresAt.toUTCString()}`];
  if (secure) parts.push("Secure");
  return parts.join("; ");
}
export const clearedSessionCookie = () => `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0`;

/** One request header by its lower-case name, read wherever the request keeps it (Node or fetch). */
export type HeaderReader = (name: string) => string | null | undefined;

/** Reads the key from `Authorization: Bearer` or `X-API-Key`. */
export function keyFromHeaders(header: HeaderReader): string | null {
  const bearer = header("authorization");
  if (bearer) {
    const match = /^Bearer\s+(\S+)$/i.exec(bearer.trim());
    if (match) return match[1]!; // (\S+) always captures
  }
  return header("x-api-key")?.trim() || null;
}

export function cookieFromHeaders(header: HeaderReader, name = SESSION_COOKIE): string | null {
  const cookie = header("cookie");
  if (!cookie) return null;
  for (const part of cookie.split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === name) return v.join("=");
  }
  return null;
}

// --- users, keys, tenants ---

/** Inserts a key for a user; returns the key row and the secret, which is never retrievable again. */
export async function insertApiKey(
  db: Db,
  input: { tenantId: string; userId: string; name: string; key?: string; fromBootstrapEnv?: boolean },
): Promise<{ key: ApiKey; apiKey: string }> {
  const apiKey = input.key ?? generateApiKey();
  const [key] = await db
    .insert(apiKeys)
    .values({ tenantId: input.tenantId, userId: input.userId, name: input.name, prefix: keyPrefix(apiKey), hash: sha256(apiKey), fromBootstrapEnv: input.fromBootstrapEnv ?? false })
    .returning(apiKeyColumns);
  return { key: key!, apiKey }; // insert … returning gives the one row inserted
}

export async function createUser(db: Db, tenantId: string, input: { name: string; role: Role }): Promise<{ user: User; apiKey: string }> {
  return db.transaction(async (tx) => {
    const [existing] = await tx.select({ id: users.id }).from(users).where(and(eq(users.tenantId, tenantId), eq(users.name, input.name)));
    if (existing) throw new AppError("conflict", `A user named "${input.name}" already exists`, "name");
    const [user] = await tx.insert(users).values({ tenantId, name: input.name, role: input.role }).returning(userColumns);
    const { apiKey } = await insertApiKey(tx, { tenantId, userId: user!.id, name: "default" });
    return { user: user!, apiKey };
  });
}

export async function listUsers(db: Db, tenantId: string): Promise<User[]> {
  return db.select(userColumns).from(users).where(eq(users.tenantId, tenantId)).orderBy(users.createdAt, users.id);
}

export async function getUser(db: Db, tenantId: string, userId: string): Promise<User> {
  const [user] = await db.select(userColumns).from(users).where(and(eq(users.tenantId, tenantId), eq(users.id, userId)));
  if (!user) throw notFound("User");
  return user;
}

export async function listApiKeys(db: Db, tenantId: string, userId?: string): Promise<ApiKey[]> {
  const where = userId ? and(eq(apiKeys.tenantId, tenantId), eq(apiKeys.userId, userId)) : eq(apiKeys.tenantId, tenantId);
  return db.select(apiKeyColumns).from(apiKeys).where(where).orderBy(apiKeys.createdAt, apiKeys.id);
}

/** Who holds a key of the tenant (its user and role), for deciding whether the caller may manage it. */
export async function apiKeyHolder(db: Db, tenantId: string, id: string): Promise<{ userId: string; role: Role }> {
  const [row] = await db
    .select({ userId: users.id, role: users.role })
    .from(apiKeys)
    .innerJoin(users, eq(users.id, apiKeys.userId))
    .where(and(eq(apiKeys.tenantId, tenantId), eq(apiKeys.id, id)));
  if (!row) throw notFound("API key");
  return row;
}

export async function revokeApiKey(db: Db, tenantId: string, id: string): Promise<{ id: string }> {
  const [row] = await db
    .update(apiKeys)
    .set({ revokedAt: sql`coalesce(${apiKeys.revokedAt}, now())` })
    .where(and(eq(apiKeys.tenantId, tenantId), eq(apiKeys.id, id)))
    .returning({ id: apiKeys.id });
  if (!row) throw notFound("API key");
  return row;
}

export async function createTenant(db: Db, name: string): Promise<{ tenant: Tenant; owner: User; apiKey: string }> {
  return db.transaction(async (tx) => {
    const [existing] = await tx.select({ id: tenants.id }).from(tenants).where(eq(tenants.name, name));
    if (existing) throw new AppError("conflict", `A tenant named "${name}" already exists`, "name");
    // insert … returning gives the one row inserted.
    const [tenant] = await tx.insert(tenants).values({ name }).returning(tenantColumns);
    const [owner] = await tx.insert(users).values({ tenantId: tenant!.id, name: "admin", role: "owner" }).returning(userColumns);
    const { apiKey } = await insertApiKey(tx, { tenantId: tenant!.id, userId: owner!.id, name: "owner" });
    return { tenant: tenant!, owner: owner!, apiKey };
  });
}

export const DEFAULT_TENANT = "default";

/**
 * First start on an empty database: tenant `default`, its owner `admin`, and an owner key (the
 * configured bootstrap key, or a random one). Returns the key only when it was created now and
 * random, and the ids of keys revoked because PARLEY_BOOTSTRAP_KEY changed (see ensureBootstrapKey).
 */
export async function bootstrap(db: Db, bootstrapKey?: string): Promise<{ created: boolean; apiKey?: string; revoked?: string[] }> {
  return db.transaction(async (tx) => {
    // Serialise concurrent first starts of several instances.
    await tx.execute(sql`select pg_advisory_xact_lock(7461501)`);
    const [existing] = await tx.select({ id: tenants.id }).from(tenants).where(eq(tenants.name, DEFAULT_TENANT));
    if (existing) {
      const revoked = bootstrapKey ? await ensureBootstrapKey(tx, existing.id, bootstrapKey) : [];
      return { created: false, ...(revoked.length > 0 && { revoked }) };
    }
    // insert … returning gives the one row inserted.
    const [tenant] = await tx.insert(tenants).values({ name: DEFAULT_TENANT }).returning({ id: tenants.id });
    const [owner] = await tx.insert(users).values({ tenantId: tenant!.id, name: "admin", role: "owner" }).returning({ id: users.id });
    const { apiKey } = await insertApiKey(tx, { tenantId: tenant!.id, userId: owner!.id, name: "bootstrap", key: bootstrapKey, fromBootstrapEnv: !!bootstrapKey });
    return { created: true, apiKey: bootstrapKey ? undefined : apiKey };
  });
}

/**
 * A configured bootstrap key always signs in as the owner of `default`, even on an existing
 * database; the key an earlier value of PARLEY_BOOTSTRAP_KEY made is revoked when the value
 * changes (only that one: keys created otherwise, the printed random one included, stay).
 * Returns the ids revoked.
 */
async function ensureBootstrapKey(db: Db, tenantId: string, key: string): Promise<string[]> {
  const [found] = await db.select({ id: apiKeys.id, fromBootstrapEnv: apiKeys.fromBootstrapEnv }).from(apiKeys).where(eq(apiKeys.hash, sha256(key)));
  const previous = and(eq(apiKeys.tenantId, tenantId), eq(apiKeys.fromBootstrapEnv, true), isNull(apiKeys.revokedAt), found ? ne(apiKeys.id, found.id) : undefined);
  const revoked = await db.update(apiKeys).set({ revokedAt: new Date() }).where(previous).returning({ id: apiKeys.id });
  if (found) {
    // A key configured before keys were marked so: marked now, so that a later change revokes it.
    if (!found.fromBootstrapEnv) await db.update(apiKeys).set({ fromBootstrapEnv: true }).where(eq(apiKeys.id, found.id));
  } else {
    const [owner] = await db
      .select({ id: users.id })
      .from(users)
      .where(and(eq(users.tenantId, tenantId), eq(users.role, "owner")))
      .orderBy(users.createdAt)
      .limit(1);
    if (owner) await insertApiKey(db, { tenantId, userId: owner.id, name: "bootstrap", key, fromBootstrapEnv: true });
  }
  return revoked.map((r) => r.id);
}

/** Deletes browser sign-ins past their expiry (they no longer sign anyone in); returns how many. */
export async function purgeExpiredWebSessions(db: Db): Promise<number> {
  const rows = await db.delete(webSessions).where(lte(webSessions.expiresAt, new Date())).returning({ tokenHash: webSessions.tokenHash });
  return rows.length;
}
