import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ZodError } from "zod";
import { AppError, isInfrastructureError, retryAfterOf, type ErrorKind } from "../../platform/errors";
import { snakeCase } from "./schemas";

/**
 * The one place Parley's error taxonomy (server/platform/errors.ts) becomes WeKnora's REST envelope:
 * `{"success":false,"error":{"code":<int>,"message":"…","details":…}}` with WeKnora's codes.
 */
const VALIDATION = 1010;
const envelopeOf: Record<ErrorKind | "internal", { code: number; status: ContentfulStatusCode }> = {
  bad_input: { code: 1000, status: 400 },
  unauthorized: { code: 1001, status: 401 },
  forbidden: { code: 1002, status: 403 },
  not_found: { code: 1003, status: 404 },
  conflict: { code: 1005, status: 409 },
  too_large: { code: 1000, status: 413 },
  rate_limited: { code: 1006, status: 429 },
  internal: { code: 1007, status: 500 },
  unavailable: { code: 1008, status: 503 },
};

export interface RestError {
  status: ContentfulStatusCode;
  body: { success: false; error: { code: number; message: string; details?: unknown } };
}

const envelope = (status: ContentfulStatusCode, code: number, message: string, details?: unknown): RestError => ({
  status,
  body: { success: false, error: { code, message, ...(details !== undefined && { details }) } },
});

/** A validation failure naming its fields (`details.field` the first, `details.fields` all of them). */
function validationError(fields: Record<string, string[]>): RestError {
  const names = Object.keys(fields);
  const first = names[0] ?? "body";
  return envelope(400, VALIDATION, `Invalid ${first}: ${fields[first]?.[0] ?? "malformed request"}`, { field: first, fields });
}

export function fromZodError(error: ZodError): RestError {
  const fields: Record<string, string[]> = {};
  for (const issue of error.issues) {
    const name = issue.path.length > 0 ? issue.path.map(String).join(".") : "body";
    (fields[name] ??= []).push(issue.message);
  }
  return validationError(fields);
}

export function toRestError(error: unknown): RestError {
  if (error instanceof ZodError) return fromZodError(error);
  if (error instanceof AppError) {
    // Domain fields are camelCase; this face names them in snake_case, as clients sent them.
    if (error.kind === "bad_input" && error.field) return validationError({ [snakeCase(error.field)]: [error.message] });
    const { status, code } = envelopeOf[error.kind];
    return envelope(status, code, error.message);
  }
  if (error instanceof HTTPException) {
    // Hono's own refusals: malformed JSON (400), any other with its status.
    if (error.status === 400) return validationError({ body: [error.message] });
    return envelope(error.status, 1000, error.message);
  }
  if (isInfrastructureError(error)) return envelope(503, envelopeOf.unavailable.code, "A backing service is unavailable, try again shortly");
  console.error("[parley] internal error (REST):", error);
  return envelope(500, envelopeOf.internal.code, "Internal error");
}

export function respondWithError(c: Context, error: unknown): Response {
  const { status, body } = toRestError(error);
  const retryAfter = retryAfterOf(error);
  if (retryAfter !== undefined) c.header("Retry-After", String(retryAfter));
  return c.json(body, status);
}

export const unauthorized = () => new AppError("unauthorized", "Send a Parley API key as 'X-API-Key: <key>' or 'Authorization: Bearer <key>'");

/** The validation hook of every route: bad input is a 400 envelope naming the field (code 1010). */
export function validationHook(result: { success: true } | { success: false; error: ZodError }, c: Context): Response | undefined {
  if (!result.success) {
    const { status, body } = fromZodError(result.error);
    return c.json(body, status);
  }
  return undefined;
}
