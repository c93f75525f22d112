import { setTimeout as sleep } from "node:timers/promises";
import { createApp, provideApp, StoresUnavailable, type App } from "./app";
import type { Env } from "../platform/env";
import { rootLogger, type Logger } from "../platform/log";
import { createMetrics, type Metrics } from "../platform/metrics";

/**
 * The process around the App: it serves at once and builds the App once Postgres and Redis answer
 * (retrying with backoff, no restart needed), and on SIGTERM it drains. The route table asks it
 * whether calls may reach the App (`state`), and health asks it what is missing.
 */
export type HostState = "starting" | "ready" | "draining";

export interface AppHost {
  readonly state: HostState;
  /** The App once its stores answered; null while starting. */
  readonly app: App | null;
  /** While starting: each store that did not answer the last attempt, with why. */
  readonly waitingFor: Readonly<Record<string, string>>;
  readonly env: Pick<Env, "DATABASE_URL" | "REDIS_URL" | "METRICS_TOKEN" | "PARLEY_PUBLIC_URL">;
  readonly log: Logger;
  readonly metrics: Metrics;
}

/** Retry delays while the stores are away: doubling from the first, capped. */
export const RETRY_FIRST_MS = 500;
export const RETRY_MAX_MS = 10_000;

/** An App that is already up, as a host (tests, and whatever serves an App it built itself). */
export function readyHost(app: App): AppHost {
  return { state: "ready", app, waitingFor: {}, env: app.env, log: app.log, metrics: app.metrics };
}

/** Starts building the App in the background; the host answers `starting` until it is up. */
export function startHost(env: Env, options: { log?: Logger; metrics?: Metrics } = {}) {
  const log = options.log ?? rootLogger();
  const metrics = options.metrics ?? createMetrics();
  let state: HostState = "starting";
  let app: App | null = null;
  let waitingFor: Record<string, string> = {};

  const ready: Promise<App | null> = (async () => {
    for (let delay = RETRY_FIRST_MS; state === "starting"; delay = Math.min(delay * 2, RETRY_MAX_MS)) {
      try {
        const built = await createApp(env, { log, metrics });
        if (state !== "starting") {
          // SIGTERM came while it was being built: nothing ran on it yet.
          await built.close();
          return null;
        }
        app = built;
        state = "ready";
        waitingFor = {};
        log.info("stores answered, serving");
        return built;
      } catch (error) {
        waitingFor = error instanceof StoresUnavailable ? error.failing : { app: (error as Error).message };
        log.warn({ waitingFor, retryInMs: delay }, "waiting for the stores");
        await sleep(delay);
      }
    }
    return null;
  })();
  // Next's bundles (server components) reach the same App once it is up.
  provideApp(ready.then((built) => built ?? Promise.reject(new Error("Parley is shutting down"))));

  const host = {
    get state() {
      return state;
    },
    get app() {
      return app;
    },
    get waitingFor() {
      return waitingFor;
    },
    env,
    log,
    metrics,
    ready,
    /**
     * Stops taking new work (the route table answers 503 from now on), lets running and queued
     * answers finish for up to PARLEY_DRAIN_SECONDS, then stops the rest: each is marked
     * `interrupted` with every streamed word kept, and its stream ends with `error`.
     */
    async drain() {
      state = "draining";
      if (!app) return;
      const { runner } = app;
      const deadline = Date.now() + env.PARLEY_DRAIN_SECONDS * 1000;
      log.info({ running: runner.running, queued: runner.queued, drainSeconds: env.PARLEY_DRAIN_SECONDS }, "draining");
      while (runner.running + runner.queued > 0 && Date.now() < deadline) await sleep(50);
      const left = runner.running + runner.queued;
      await runner.close();
      log.info({ interrupted: left }, "drained");
    },
    /** Closes the App's stores. */
    async close() {
      state = "draining";
      await app?.close();
    },
  };
  return host;
}
export type StartedHost = ReturnType<typeof startHost>;
