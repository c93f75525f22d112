import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { HttpBindings } from "@hono/node-server";
import type { Context } from "hono";
import type { AnswerDeps } from "../../../chat/answers";
import type { AuthDeps, RequestCaller } from "../../authenticate";
import type { OpenStreams } from "../../openStreams";
import type { SessionStateDeps } from "../../../sessions/removal";
import { validationHook } from "../errors";
import type { StreamReadDeps } from "../../../chat/streams";
import type { Logger } from "../../../platform/log";
import type { Metrics } from "../../../platform/metrics";
import { errorJson, okMessage } from "../schemas";

/** What the REST face calls on: the domain modules' own dependencies, what authenticating a request needs, the open streams and the log. */
export type RestDeps = AnswerDeps &
  SessionStateDeps &
  StreamReadDeps &
  AuthDeps & { openStreams: Pick<OpenStreams, "open">; log: Logger; metrics: Pick<Metrics, "suggestionEvents"> };

export interface RestEnv {
  /** `caller`: who the request's key names (its `apiKeyId`, e.g. to end its streams when it is revoked). */
  Variables: { caller: RequestCaller };
}

/**
 * The Node request and response under a request, given by @hono/node-server (`getRequestListener`
 * in http/routes.ts); none when the app is called in-process (`app.request`, as tests do).
 */
export const nodeBindingsOf = (c: Context<RestEnv>): Partial<HttpBindings> => (c.env as Partial<HttpBindings> | undefined) ?? {};

export const router = () => new OpenAPIHono<RestEnv>({ defaultHook: validationHook });

export const json = <T extends z.ZodType>(schema: T, description: string) => ({ content: { "application/json": { schema } }, description });
/** Every route may fail with the error envelope. */
export const errors = {
  400: json(errorJson, "Bad input (code 1010 names the field)"),
  401: json(errorJson, "No or bad API key (1001)"),
  403: json(errorJson, "X-Tenant-ID is not the key's tenant (1002)"),
  404: json(errorJson, "Not found or not visible (1003)"),
  429: json(errorJson, "Over a rate limit (1006); `Retry-After` says when to try again"),
};
export const done = (description: string) => ({ 200: json(okMessage, description), ...errors });
export const body = <T extends z.ZodType>(schema: T) => ({ content: { "application/json": { schema } }, required: true });
