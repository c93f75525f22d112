import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { eq } from "drizzle-orm";
import { inject } from "vitest";
import { createApp, type App } from "../boot/app";
import { sessions, tenants } from "../../db/schema";
import { createTenant, createUser, DEFAULT_TENANT, type Role } from "../auth/accounts";
import type { StreamEvent } from "../chat/events";
import { parseEnv } from "../platform/env";
import { readyHost, type AppHost } from "../boot/host";
import type { DocumentPoolOptions } from "../knowledge/documentPool";
import type { Logger } from "../platform/log";
import { appendToPath, lockActiveLeaf } from "../sessions/messages";
import { apiRoutes } from "../http/routes";
import { createHttpServer } from "../http/server";
import { MAX_BATCH_CALLS } from "../../common/limits";
import { appRouter } from "../http/trpc/routers/_app";
import { getErrorShape } from "../http/trpc/internals";
import { createContext, fetchExchange } from "../http/trpc/trpc";

/**
 * Test support for integration suites: an app on the back end the vitest project chose
 * (`embedded`: in-memory PGlite + in-process store; `servers`: this run's Postgres database and
 * Redis under a key prefix of its own), and typed callers authenticated by API key.
 */
export async function createTestApp(
  overrides: Record<string, string> = {},
  options: { log?: Logger; rateLimitWindowSeconds?: number; documents?: Partial<DocumentPoolOptions>; indexPairs?: boolean } = {},
): Promise<App> {
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

/** A tenant of its own per test (so suites never collide), with its owner and helpers to add people. */
export async function createTestTenant(app: App) {
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

/** Sends a question and reads its answer's events to the end. */
export async function askAndRead(api: TestCaller, sessionId: string, query: string): Promise<StreamEvent[]> {
  const turn = await api.chat.send({ sessionId, query });
  return readAnswer(api, { sessionId, messageId: turn.assistantMessage.id });
}
/** An answer's text, from its events. */
export const textOf = (events: StreamEvent[]) => events.flatMap((e) => (e.type === "answer" ? [e.delta] : [])).join("");
/** An answer's sources, from its events. */
export const referencesOf = (events: StreamEvent[]) => events.flatMap((e) => (e.type === "references" ? e.references : []));

/**
 * Stores a finished question and answer after the session's active leaf, as the answer pipeline
 * leaves them, without moving the session in its list (rows as an earlier conversation left them).
 * Returns their ids.
 */
export async function addFinishedTurn(app: App, sessionId: string, question: string, answer: string, at = new Date()): Promise<{ questionId: string; answerId: string }> {
  return app.db.transaction(async (tx) => {
    const [session] = await tx.select({ id: sessions.id, tenantId: sessions.tenantId, userId: sessions.userId }).from(sessions).where(eq(sessions.id, sessionId));
    const requestId = randomUUID();
    const [q, a] = await appendToPath(
      tx,
      session!,
      await lockActiveLeaf(tx, sessionId),
      [
        { requestId, role: "user", content: question, status: "completed" },
        { requestId, role: "assistant", content: answer, status: "completed" },
      ],
      { at, touch: false },
    );
    return { questionId: q!.id, answerId: a!.id };
  });
}

/** Reads an answer's `chat.stream` as a subscriber does, to its terminal event, and returns its events. */
export async function readAnswer(caller: TestCaller, input: { sessionId: string; messageId: string; lastEventId?: string }): Promise<StreamEvent[]> {
  const events: StreamEvent[] = [];
  for await (const [, event] of (await caller.chat.stream(input)) as AsyncIterable<[string, StreamEvent]>) events.push(event);
  return events;
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

/**
 * The fast-path HTTP server on a free local port, with a stand-in for Next's pages (`page: <path>`),
 * serving an App (or a host whose state a test controls).
 */
export async function serveApp(appOrHost: App | AppHost): Promise<{ url: string; close(): Promise<void> }> {
  const host = "state" in appOrHost ? appOrHost : readyHost(appOrHost);
  const server = createHttpServer({
    host,
    routes: apiRoutes(host),
    pages: (req, res) => {
      res.setHeader("Content-Type", "text/plain");
      res.end(`page: ${req.url}`);
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * What tRPC's own adapter (its fetch one) answers a request to `/api/trpc/…` with, calling the App's
 * router: the reference for what Parley writes itself (refusals before the router runs, subscription
 * streams), which must be the same bytes.
 */
export function trpcOwnResponse(app: App, request: Request): Promise<Response> {
  return fetchRequestHandler({
    endpoint: "/api/trpc",
    req: request,
    router: appRouter,
    maxBatchSize: MAX_BATCH_CALLS,
    createContext: ({ req, resHeaders }) => createContext(app, fetchExchange(req.headers, resHeaders)),
  });
}

/** An SSE response read as it arrives: tRPC's subscriptions and the REST face's answer streams alike. */
export interface EventStream {
  status: number;
  headers: Headers;
  /** Every message received so far: the text of each block between blank lines (pings and `:` comments too). */
  messages: string[];
  /** When each of `messages` arrived (ms since the epoch). */
  arrivals: number[];
  /** Settles when the response has ended: the server closed it, or `close` dropped it. */
  ended: Promise<void>;
  /** Drops the connection, as a client that goes away. */
  close(): void;
}

/** Opens an SSE request (GET, or POST with a JSON `body`) and collects its messages as they arrive. */
export async function openEventStream(url: string, headers: Record<string, string>, body?: unknown): Promise<EventStream> {
  const controller = new AbortController();
  const res = await fetch(url, {
    method: body === undefined ? "GET" : "POST",
    headers: { accept: "text/event-stream", ...(body !== undefined && { "content-type": "application/json" }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: controller.signal,
  });
  const messages: string[] = [];
  const arrivals: number[] = [];
  const ended = (async () => {
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
          const block = buffer.slice(0, end).trim();
          buffer = buffer.slice(end + 2);
          if (block) {
            messages.push(block);
            arrivals.push(Date.now());
          }
        }
      }
    } catch {
      // Dropped by `close`, or reset: the stream has ended either way.
    }
  })();
  return { status: res.status, headers: res.headers, messages, arrivals, ended, close: () => controller.abort() };
}

/** The URL a tRPC SSE client asks for to call a subscription (`chat.stream`) with `input`. */
export const subscriptionUrl = (base: string, path: string, input: object) =>
  `${base}/api/trpc/${path}?input=${encodeURIComponent(JSON.stringify({ json: input }))}`;

/** Signs a browser in over HTTP with `apiKey`; returns its cookie (`name=value`) for the `Cookie` header. */
export async function signInCookie(base: string, apiKey: string): Promise<string> {
  const res = await fetch(`${base}/api/trpc/auth.signIn`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ json: { apiKey } }) });
  if (res.status !== 200) throw new Error(`sign-in failed: ${res.status} ${await res.text()}`);
  return res.headers.getSetCookie()[0]!.split(";")[0]!;
}
