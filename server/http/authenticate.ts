import type { IncomingMessage } from "node:http";
import type { TLSSocket } from "node:tls";
import type { Db } from "../../db";
import { authenticateKey, authenticateWebSession, cookieFromHeaders, keyFromHeaders, sha256, type Caller, type CallerCache, type HeaderReader } from "../auth/accounts";
import type { Env } from "../platform/env";
import { requestLogFields } from "../platform/log";
import { limitSubject, type RateLimits } from "../auth/rateLimits";

/*
 * Who is calling, worked out in one place for every face: tRPC's context, the REST face's
 * middleware and the upload route. The server resolves the caller from the request's headers
 * before it reads any body (the route table's `admit`, routes.ts) and attaches it to the request,
 * so that a body's cap can depend on who sends it and an anonymous request is refused before
 * anything it sent is parsed; each face then takes the attached caller instead of resolving again.
 */

/** What a caller presented: an API key, or the browser's sign-in cookie (its web session, stored under `webSessionId`). */
export type Credential = { kind: "key" } | { kind: "cookie"; webSessionId: string };

/** A resolved caller: who, through which key (`apiKeyId`, the one a cookie was signed in with too) and credential, counted as whom. */
export interface RequestCaller extends Caller {
  credential: Credential;
  /** The subject of its call and answer limits: its key, or the signed-in user (see limitSubject). */
  limitAs: string;
}

/** The channel a caller's messages record when it names none: `web` for the browser (a sign-in cookie), else `api`. */
export const channelOf = (caller: RequestCaller) => (caller.credential.kind === "cookie" ? "web" : "api");

export interface AuthDeps {
  db: Db;
  callers: Pick<CallerCache, "resolve">;
  limits: Pick<RateLimits, "call" | "signInAllowed" | "wrongKey">;
  env: Pick<Env, "PARLEY_TRUST_PROXY">;
}

/** What authentication reads of a request, whichever server carries it: its headers and its socket. */
export interface ClientRequest {
  /** A request header by its lower-case name. */
  header: HeaderReader;
  /** The socket's peer address (the client, or the proxy in front). */
  remoteAddress?: string;
  /** Whether the socket is TLS. */
  encrypted?: boolean;
}

export interface AuthOptions {
  /** How many calls the request makes (a tRPC batch: one per procedure that needs a caller); 0 counts none. */
  calls: number;
  /** Whether the browser's sign-in cookie is taken (default true; the REST face takes keys only). */
  cookie?: boolean;
}

/**
 * The caller a request's headers name: its API key (`Authorization: Bearer` or `X-API-Key`, through
 * the cache of recently resolved keys), else its sign-in cookie; null when they name nobody (no
 * credential, or a wrong one). Counts the request's calls against the caller's limit, and a wrong
 * key or cookie against its address's wrong-key limit; throws `rate_limited` past either.
 */
export async function authenticate(deps: AuthDeps, request: ClientRequest, options: AuthOptions): Promise<RequestCaller | null> {
  const presented = await presentedCaller(deps, request, options.cookie ?? true);
  if (!presented) return null;
  const caller: RequestCaller = { ...presented.caller, credential: presented.credential, limitAs: limitSubject(presented.caller, presented.credential.kind) };
  if (options.calls > 0) await deps.limits.call(caller.limitAs, options.calls);
  return caller;
}

async function presentedCaller(deps: AuthDeps, request: ClientRequest, cookie: boolean): Promise<{ caller: Caller; credential: Credential } | null> {
  const key = keyFromHeaders(request.header);
  if (key) {
    const caller = await deps.callers.resolve(deps.db, key);
    if (!caller) await deps.limits.wrongKey(clientAddress(request, deps.env.PARLEY_TRUST_PROXY));
    return caller && { caller, credential: { kind: "key" } };
  }
  const token = cookie ? cookieFromHeaders(request.header) : null;
  if (!token) return null;
  const caller = await authenticateWebSession(deps.db, token);
  if (!caller) await deps.limits.wrongKey(clientAddress(request, deps.env.PARLEY_TRUST_PROXY));
  return caller && { caller, credential: { kind: "cookie", webSessionId: sha256(token) } };
}

/**
 * The sign-in form's key (`auth.signIn`), counted toward the same wrong-key limit as a key in a
 * header. Past the limit a wrong key or cookie in a header is refused, while a right one still
 * passes (so one misconfigured client cannot lock out everyone behind its address); the sign-in
 * form, where keys are tried by hand, refuses every attempt from that address before checking it.
 */
export async function signInCaller(deps: AuthDeps, request: ClientRequest, apiKey: string): Promise<Caller | null> {
  const address = clientAddress(request, deps.env.PARLEY_TRUST_PROXY);
  await deps.limits.signInAllowed(address);
  const caller = await authenticateKey(deps.db, apiKey);
  if (!caller) await deps.limits.wrongKey(address);
  return caller;
}

/** The first hop of a header a proxy appends to (`X-Forwarded-For`, `X-Forwarded-Proto`), read only behind a trusted proxy. */
function trustedHop(request: ClientRequest, name: string, trustProxy: boolean): string | undefined {
  return trustProxy ? request.header(name)?.split(",")[0]?.trim() || undefined : undefined;
}

/** The client's address: the socket's, or with a trusted proxy in front the first `X-Forwarded-For` hop. */
export function clientAddress(request: ClientRequest, trustProxy: boolean): string {
  return trustedHop(request, "x-forwarded-for", trustProxy) ?? request.remoteAddress ?? "unknown";
}

/** Whether the client reached Parley over HTTPS: the socket's scheme, or with a trusted proxy in front its `X-Forwarded-Proto`. */
export function isHttps(request: ClientRequest, trustProxy: boolean): boolean {
  const forwarded = trustedHop(request, "x-forwarded-proto", trustProxy);
  return forwarded === undefined ? request.encrypted === true : forwarded.toLowerCase() === "https";
}

/** A Node request as authentication reads it. */
export function clientRequestOf(req: IncomingMessage): ClientRequest {
  return {
    header: (name) => {
      const value = req.headers[name];
      return Array.isArray(value) ? value.join(", ") : value;
    },
    remoteAddress: req.socket.remoteAddress,
    encrypted: (req.socket as Partial<TLSSocket>).encrypted === true,
  };
}

const attached = new WeakMap<IncomingMessage, RequestCaller | null>();

/** Keeps the caller the server resolved with its request (null: anonymous), and names it in the request's log line. */
export function attachCaller(req: IncomingMessage, caller: RequestCaller | null) {
  attached.set(req, caller);
  if (caller) Object.assign(requestLogFields(req), { tenantId: caller.tenant.id, userId: caller.user.id });
}

/** The caller the server resolved for `req` (null: anonymous), or undefined when it resolved none. */
export function attachedCaller(req: IncomingMessage | undefined): RequestCaller | null | undefined {
  return req && attached.get(req);
}

/**
 * A face's caller: the one the server attached to the request, or, for a request that did not come
 * through the server (a face called in process, as tests and server-side callers do), resolved now.
 */
export function callerOf(deps: AuthDeps, resolved: RequestCaller | null | undefined, request: ClientRequest, options: AuthOptions): Promise<RequestCaller | null> {
  return resolved !== undefined ? Promise.resolve(resolved) : authenticate(deps, request, options);
}
