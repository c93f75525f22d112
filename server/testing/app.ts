import { randomUUID } from "node:crypto";
import { eq } from "drizzle-orm";
import { inject } from "vitest";
import { createApp, type App } from "../boot/app";
import { sessions, tenants } from "../../db/schema";
import { createTenant, createUser, DEFAULT_TENANT, type Role, type Tenant, type User } from "../auth/accounts";
import { parseEnv } from "../platform/env";
import type { DocumentPoolOptions } from "../knowledge/documentPool";
import type { Logger } from "../platform/log";
import { appendToPath, lockActiveLeaf } from "../sessions/messages";
import { appRouter } from "../http/trpc/routers/_app";
import { getErrorShape } from "../http/trpc/internals";
import { createContext, fetchExchange } from "../http/trpc/trpc";

/** What createApp takes besides the environment, as a suite may set it. */
export interface TestAppOptions {
  log?: Logger;
  rateLimitWindowSeconds?: number;
  documents?: Partial<DocumentPoolOptions>;
  indexPairs?: boolean;
}

/**
 * Test support for integration suites: an app on the back end the vitest project chose
 * (`embedded`: in-memory PGlite + in-process store; `servers`: this run's Postgres database and
 * Redis under a key prefix of its own), and typed callers authenticated by API key.
 */
export async function createTestApp(overrides: Record<string, string> = {}, options: TestAppOptions = {}): Promise<App> {
  const servers = process.env.PARLEY_TEST_BACKEND === "servers";
  const env = parseEnv({
    PARLEY_OFFLINE_TOKEN_DELAY_MS: "0",
    ...(servers && {
      DATABASE_URL: inject("databaseUrl"),
      REDIS_URL: process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379",
      PARLEY_REDIS_PREFIX: `parley:test${randomUUID().slice(0, 8)}:`,
    }),
    ...overrides,
  });
  const app = await createApp(env, { pgliteDataDir: "memory://", quiet: true, ...options });
  const close = app.close.bind(app);
  // Leave no keys behind in the shared Redis.
  app.close = async () => {
    // Answers still running write their last events as they stop: stop them before cleaning up.
    await app.runner.close();
    if (servers) await app.store.delPattern(`${env.PARLEY_REDIS_PREFIX}*`);
    await close();
  };
  return app;
}

/** A typed caller; like an HTTP client, each call is a new request (a new context). */
export function callerFor(app: App, apiKey: string | null, extraHeaders: Record<string, string> = {}) {
  return browserFor(app, apiKey, extraHeaders).api;
}
export type TestCaller = ReturnType<typeof callerFor>;

/** A caller plus the response headers its calls set (the sign-in cookie). */
export function browserFor(app: App, apiKey: string | null, extraHeaders: Record<string, string> = {}) {
  const headers = new Headers(extraHeaders);
  if (apiKey) headers.set("authorization", `Bearer ${apiKey}`);
  const resHeaders = new Headers();
  return { api: appRouter.createCaller(() => createContext(app, fetchExchange(headers, resHeaders))), resHeaders };
}

/** A person of a test tenant: their API key, and a caller signed in with it. */
export interface TestUser {
  user: User;
  apiKey: string;
  api: TestCaller;
}
export interface TestTenant {
  tenant: Tenant;
  owner: TestUser;
  addUser(role: Role, name?: string): Promise<TestUser>;
}

/** A tenant of its own per test (so suites never collide), with its owner and helpers to add people. */
export async function createTestTenant(app: App): Promise<TestTenant> {
  const { tenant, owner, apiKey } = await createTenant(app.db, `t-${randomUUID()}`);
  return {
    tenant,
    owner: { user: owner, apiKey, api: callerFor(app, apiKey) },
    async addUser(role: Role, name = `${role}-${randomUUID().slice(0, 8)}`) {
      const { user, apiKey: key } = await createUser(app.db, tenant.id, { name, role });
      return { user, apiKey: key, api: callerFor(app, key) };
    },
  };
}

/** A new user of tenant `default` (the one that has the Parley handbook base), as a caller. */
export async function defaultTenantUser(app: App, role: Role) {
  const [tenant] = await app.db.select({ id: tenants.id }).from(tenants).where(eq(tenants.name, DEFAULT_TENANT));
  const { apiKey } = await createUser(app.db, tenant!.id, { name: `${role}-${randomUUID()}`, role }); // bootstrap creates tenant default
  return callerFor(app, apiKey);
}

/**
 * Stores a finished question and answer after the session's active leaf, as the answer pipeline
 * leaves them, without moving the session in its list (rows as an earlier conversation left them).
 * Returns their ids.
 */
export function addFinishedTurn(app: App, sessionId: string, question: string, answer: string, at = new Date()): Promise<Turn> {
  return addTurn(app, sessionId, question, { content: answer, status: "completed" }, at);
}

/** The same with the answer still `streaming`, `partial` its text so far: as an instance left it, with no lease or stream. */
export function addStreamingTurn(app: App, sessionId: string, question: string, partial: string): Promise<Turn> {
  return addTurn(app, sessionId, question, { content: partial, status: "streaming" }, new Date());
}

interface Turn {
  questionId: string;
  answerId: string;
  requestId: string;
}

async function addTurn(app: App, sessionId: string, question: string, answer: { content: string; status: "completed" | "streaming" }, at: Date): Promise<Turn> {
  return app.db.transaction(async (tx) => {
    const [session] = await tx.select({ id: sessions.id, tenantId: sessions.tenantId, userId: sessions.userId }).from(sessions).where(eq(sessions.id, sessionId));
    const requestId = randomUUID();
    const [q, a] = await appendToPath(
      tx,
      session!,
      await lockActiveLeaf(tx, sessionId),
      [
        { requestId, role: "user", content: question, status: "completed" },
        { requestId, role: "assistant", ...answer },
      ],
      { at, touch: false },
    );
    return { questionId: q!.id, answerId: a!.id, requestId };
  });
}

/** The tRPC error code a call fails with (or "OK"), for asserting error paths. */
export async function codeOf(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return "OK";
  } catch (error) {
    return (error as { code?: string }).code ?? "UNKNOWN";
  }
}

/** The field names a BAD_REQUEST reports in `data.zodError.fieldErrors`, as a client sees them. */
export async function fieldErrorsOf(call: Promise<unknown>): Promise<string[]> {
  try {
    await call;
  } catch (error) {
    const e = error as { code?: string; cause?: unknown };
    const shape = getErrorShape({
      config: appRouter._def._config,
      error: error as never,
      type: "mutation",
      path: "test",
      input: undefined,
      ctx: undefined,
    }) as { data: { zodError: { fieldErrors: Record<string, string[]> } | null } };
    if (e.code !== "BAD_REQUEST") return [`<${e.code}>`];
    return Object.keys(shape.data.zodError?.fieldErrors ?? {});
  }
  return ["<OK>"];
}

