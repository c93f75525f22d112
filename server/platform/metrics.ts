import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

/**
 * The metrics of one App (prom-client), each counted where its work happens: HTTP requests by the
 * server, answers by the runner and the generation pipeline, subscribers by the stream reader.
 * One registry per App, so several Apps (tests) never share a count. Served at `/api/metrics`.
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const sources = { running: () => 0, queued: () => 0 };
  return {
    registry,
    httpRequests: new Counter({
      name: "parley_http_requests_total",
      help: "HTTP requests answered, by method, API route (or 'page') and status",
      labelNames: ["method", "route", "status"] as const,
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: "parley_http_request_duration_seconds",
      help: "Time from a request's arrival to the end of its response (streams: until they close)",
      labelNames: ["method", "route"] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
    answersRunning: new Gauge({
      name: "parley_answers_running",
      help: "Answers generating on this instance now",
      registers: [registry],
      collect() {
        this.set(sources.running());
      },
    }),
    answersQueued: new Gauge({
      name: "parley_answers_queued",
      help: "Answers waiting for a free slot on this instance",
      registers: [registry],
      collect() {
        this.set(sources.queued());
      },
    }),
    answersTotal: new Counter({
      name: "parley_answers_total",
      help: "Answers ended, by final status (completed, stopped, failed, interrupted)",
      labelNames: ["status"] as const,
      registers: [registry],
    }),
    streamSubscribers: new Gauge({
      name: "parley_stream_subscribers",
      help: "Answer streams this instance is serving to clients now",
      registers: [registry],
    }),
    firstToken: new Histogram({
      name: "parley_answer_first_token_seconds",
      help: "Time from an answer starting to its first answer token",
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60],
      registers: [registry],
    }),
    rateLimited: zeroed(
      new Counter({
        name: "parley_rate_limited_total",
        help: "Calls refused as TOO_MANY_REQUESTS, by limit (calls, sends, sign_in, share, queue, streams, documents)",
        labelNames: ["limit"] as const,
        registers: [registry],
      }),
      "limit",
      ["calls", "sends", "sign_in", "share", "queue", "streams", "documents"],
    ),
    suggestionEvents: zeroed(
      new Counter({
        name: "parley_suggestion_events_total",
        help: "Events clients reported on follow-up suggestions, by event (impression, click, dismiss)",
        labelNames: ["event"] as const,
        registers: [registry],
      }),
      "event",
      ["impression", "click", "dismiss"],
    ),
    sessionsExpired: zeroed(
      new Counter({
        name: "parley_sessions_expired_total",
        help: "Sessions the retention sweep deleted, by reason (retention, temporary)",
        labelNames: ["reason"] as const,
        registers: [registry],
      }),
      "reason",
      ["retention", "temporary"],
    ),
    /** Where the answer gauges read their values at scrape time: the runner's own counts. */
    countAnswersFrom(runner: { readonly running: number; readonly queued: number }) {
      sources.running = () => runner.running;
      sources.queued = () => runner.queued;
    },
  };
}
export type Metrics = ReturnType<typeof createMetrics>;

/** A counter with each of its label's series at 0 from the start, so a scrape shows that nothing happened yet. */
function zeroed<L extends string>(counter: Counter<L>, label: L, values: string[]) {
  for (const value of values) counter.inc({ [label]: value } as Partial<Record<L, string>>, 0);
  return counter;
}
