import { randomUUID } from "node:crypto";
import pino, { type DestinationStream, type Logger } from "pino";

export type { Logger };

/**
 * Parley's one logger: JSON lines on stdout (pino), `LOG_LEVEL` (default `info`). Children carry
 * the fields of what they log about: `instance` (the process), then a request's method, path,
 * status, ms and caller ids, or an answer's session and message ids.
 *
 * Logs never carry a key, a cookie or message text: no call passes request bodies, questions or
 * answers, and header-shaped fields are redacted in case one ever does.
 */
const REDACT = [
  "headers.authorization",
  "headers.cookie",
  'headers["x-api-key"]',
  'headers["set-cookie"]',
  "req.headers.authorization",
  "req.headers.cookie",
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  "apiKey",
  "*.apiKey",
];

/**
 * Kept on globalThis: the server entry and Next's bundles each carry their own copy of this
 * module, and one process is one instance with one logger.
 */
const processWide = globalThis as unknown as { __parleyInstanceId?: string; __parleyLogger?: Logger };

/** This process: the `instance` of its log lines and of its answers' leases. */
export const INSTANCE_ID = (processWide.__parleyInstanceId ??= randomUUID());

export function createLogger(options: { level?: string; destination?: DestinationStream } = {}): Logger {
  return pino(
    {
      level: options.level ?? process.env.LOG_LEVEL ?? "info",
      base: { instance: INSTANCE_ID },
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT, censor: "[redacted]" },
      serializers: { err: pino.stdSerializers.err },
    },
    // Written off the request path (SonicBoom's asynchronous writes, lines that queue meanwhile go
    // out together); pino flushes what is left synchronously when the process exits.
    options.destination ?? pino.destination({ fd: 1, sync: false }),
  );
}

/** The process's logger, created on first use (entry points and modules outside any App). */
export function rootLogger(): Logger {
  return (processWide.__parleyLogger ??= createLogger());
}

/** A share link's token is a secret like a key: a request's path is logged without it. */
export const loggedPath = (path: string) => path.replace(/^(\/api)?\/share\/[^/]+/, "$1/share/[token]");

/** What a request's log line says about whom and what it concerned (tenant, user, session, message ids). */
export type RequestLogFields = Partial<Record<"tenantId" | "userId" | "sessionId" | "messageId" | "procedure" | "traceId", string>>;
const requestFieldsOf = new WeakMap<object, RequestLogFields>();

/** The fields of a request's log line, filled in as the request learns them (its caller, its ids). */
export function requestLogFields(request: object): RequestLogFields {
  let fields = requestFieldsOf.get(request);
  if (!fields) requestFieldsOf.set(request, (fields = {}));
  return fields;
}
