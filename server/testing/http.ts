import type { AddressInfo } from "node:net";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { expect } from "vitest";
import type { App } from "../boot/app";
import { readyHost, type AppHost } from "../boot/host";
import { MAX_BATCH_CALLS } from "../../common/limits";
import type { RestOptions } from "../http/rest";
import { apiRoutes } from "../http/routes";
import { createHttpServer } from "../http/server";
import { appRouter } from "../http/trpc/routers/_app";
import { createContext, fetchExchange } from "../http/trpc/trpc";
import { browserFor, createTestApp, createTestTenant, type TestAppOptions, type TestTenant } from "./app";

/** Test support for suites that talk HTTP: Parley's own server on a local port, SSE read as it arrives, sign-in cookies. */

/** How a test serves an App: the REST face's own options (a shorter keep-alive). */
export interface ServeOptions {
  rest?: RestOptions;
}

/**
 * The fast-path HTTP server on a free local port, with a stand-in for Next's pages (`page: <path>`),
 * serving an App (or a host whose state a test controls).
 */
export async function serveApp(appOrHost: App | AppHost, options: ServeOptions = {}): Promise<{ url: string; close(): Promise<void> }> {
  const host = "state" in appOrHost ? appOrHost : readyHost(appOrHost);
  const server = createHttpServer({
    host,
    routes: apiRoutes(host, { rest: options.rest }),
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

/** One round of `healthWhile`: how long its health check took, and how much longer than its pause the whole round took. */
export interface HealthRound {
  healthMs: number;
  stallMs: number;
}

/**
 * Runs `work` while `url`'s /api/health?live=1 is asked one request at a time, `pauseMs` apart, each expected to answer
 * 200: whether the server's process kept answering meanwhile. An event loop held by the work shows in a round's health
 * check or in its stall (a pause that ended late). `workMs`: from this call until `work` settled.
 */
export async function healthWhile<T>(url: string, work: Promise<T>, pauseMs: number): Promise<{ result: T; workMs: number; rounds: HealthRound[] }> {
  const started = performance.now();
  let done = false;
  const rounds: HealthRound[] = [];
  const polling = (async () => {
    for (let last = started; !done; ) {
      const asked = performance.now();
      const health = await fetch(`${url}/api/health?live=1`, { signal: AbortSignal.timeout(10_000) });
      expect(health.status).toBe(200);
      await health.text();
      const healthMs = performance.now() - asked;
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
      const now = performance.now();
      rounds.push({ healthMs, stallMs: now - last - pauseMs });
      last = now;
    }
  })();
  try {
    const result = await work;
    return { result, workMs: performance.now() - started, rounds };
  } finally {
    done = true;
    await polling;
  }
}

/** A test App served by Parley's own server, with a tenant of its own; `close` stops both. */
export interface ServedTestApp {
  app: App;
  /** The server's origin (`http://127.0.0.1:<port>`). */
  url: string;
  tenant: TestTenant;
  close(): Promise<void>;
}

/** createTestApp (with `overrides` and `options`), served by serveApp, and a tenant made in it. */
export async function serveTestApp(overrides: Record<string, string> = {}, options: TestAppOptions & ServeOptions = {}): Promise<ServedTestApp> {
  const { rest, ...appOptions } = options;
  const app = await createTestApp(overrides, appOptions);
  try {
    const server = await serveApp(app, { rest });
    return {
      app,
      url: server.url,
      tenant: await createTestTenant(app),
      async close() {
        await server.close();
        await app.close();
      },
    };
  } catch (error) {
    await app.close();
    throw error;
  }
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

/**
 * Signs a browser in with `apiKey` and returns its cookie (`name=value`) for the `Cookie` header:
 * over HTTP when given a server's URL, else by calling `auth.signIn` on the App in-process.
 */
export async function signInCookie(at: App | string, apiKey: string): Promise<string> {
  if (typeof at !== "string") {
    const browser = browserFor(at, null);
    await browser.api.auth.signIn({ apiKey });
    return browser.resHeaders.get("set-cookie")!.split(";")[0]!;
  }
  const res = await fetch(`${at}/api/trpc/auth.signIn`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ json: { apiKey } }) });
  if (res.status !== 200) throw new Error(`sign-in failed: ${res.status} ${await res.text()}`);
  return res.headers.getSetCookie()[0]!.split(";")[0]!;
}
