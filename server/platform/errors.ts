import { TRPCError } from "@trpc/server";
import type { TRPC_ERROR_CODE_KEY } from "@trpc/server/rpc";

/**
 * Parley's one error taxonomy. Domain modules throw `AppError`; `toTRPCError` is the only place
 * that maps it (and infrastructure failures) to tRPC codes.
 */
export type ErrorKind =
  | "bad_input"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "conflict"
  | "too_large"
  | "rate_limited"
  | "unavailable";

const codeOf: Record<ErrorKind, TRPC_ERROR_CODE_KEY> = {
  bad_input: "BAD_REQUEST",
  unauthorized: "UNAUTHORIZED",
  forbidden: "FORBIDDEN",
  not_found: "NOT_FOUND",
  conflict: "CONFLICT",
  too_large: "PAYLOAD_TOO_LARGE",
  rate_limited: "TOO_MANY_REQUESTS",
  unavailable: "SERVICE_UNAVAILABLE",
};

/** The kind a tRPC code stands for (a refusal the server words as a code, shown on another face). */
export const kindOfCode = (code: string): ErrorKind | undefined => (Object.keys(codeOf) as ErrorKind[]).find((kind) => codeOf[kind] === code);

export class AppError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    /** For bad input: which field, so clients can show the error beside it. */
    readonly field?: string,
    /** For `rate_limited`: when to try again, sent as `Retry-After`. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = "AppError";
  }
}

export const notFound = (what: string) => new AppError("not_found", `${what} not found`);
export const badInput = (field: string, message: string) => new AppError("bad_input", message, field);
export const rateLimited = (message: string, retryAfterSeconds: number) =>
  new AppError("rate_limited", message, undefined, Math.max(1, Math.ceil(retryAfterSeconds)));

/** The `Retry-After` an error asks for (seconds), found on it or on its cause. */
export function retryAfterOf(error: unknown): number | undefined {
  for (let e = error as { cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (e instanceof AppError && e.retryAfterSeconds !== undefined) return e.retryAfterSeconds;
  }
  return undefined;
}

/** Errors from a database or Redis that is down or unreachable. */
export function isInfrastructureError(error: unknown): boolean {
  const e = error as { code?: string; name?: string; message?: string; cause?: unknown } | undefined;
  if (!e || typeof e !== "object") return false;
  const code = e.code ?? "";
  if (["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "CONNECT_TIMEOUT", "CONNECTION_CLOSED", "CONNECTION_ENDED", "CONNECTION_DESTROYED"].includes(code)) return true;
  // Postgres: connection exceptions (08xxx), admin shutdown / cannot connect now (57P0x).
  if (/^08/.test(code) || /^57P0/.test(code)) return true;
  const message = e.message ?? "";
  if (/Stream isn't writeable|Connection is closed|enableOfflineQueue|MaxRetriesPerRequest|PGlite is closed/i.test(message)) return true;
  return e.cause !== undefined && e.cause !== error && isInfrastructureError(e.cause);
}

export function toTRPCError(error: unknown): TRPCError {
  if (error instanceof TRPCError) return error;
  if (error instanceof AppError) return new TRPCError({ code: codeOf[error.kind], message: error.message, cause: error });
  if (isInfrastructureError(error)) {
    return new TRPCError({ code: "SERVICE_UNAVAILABLE", message: "A backing service is unavailable, try again shortly", cause: error });
  }
  return new TRPCError({ code: "INTERNAL_SERVER_ERROR", message: "Internal error", cause: error });
}
