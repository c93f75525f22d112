import { expect } from "vitest";

/**
 * Test support for suites of WeKnora's REST face (`/api/v1`) over HTTP: requests with an API key,
 * answers read as JSON envelopes, and answer streams read frame by frame, their bytes checked.
 */

/** One request: its API key (the client's own unless given; null sends none), a JSON body (or raw text) and its type, more headers. */
export interface RestCallOptions {
  key?: string | null;
  body?: unknown;
  raw?: string;
  /** The body's Content-Type (default `application/json`). */
  contentType?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** An answer read as JSON. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type RestResponse = { status: number; headers: Headers; body: any };

/** A session as the REST face returns it. */
export type RestSession = { id: string; title: string; tenant_id: number; [k: string]: unknown };

/** One SSE frame of an answer stream: its event id and its JSON payload. */
export interface Frame {
  id: string;
  payload: { id: string; response_type: string; content: string; done: boolean; [k: string]: unknown };
}

/**
 * A client of the REST face at `base()` (the `…/api/v1` URL), calling with `key()` unless a
 * request names another. Both are read at each request, so a suite can make its client before
 * its `beforeAll` has served the App.
 */
export function restClient(base: () => string, key: () => string) {
  function request(method: string, path: string, o: RestCallOptions = {}): Promise<Response> {
    const headers = new Headers(o.headers);
    if (o.key !== null) headers.set("X-API-Key", o.key ?? key());
    let body: string | undefined;
    if (o.raw !== undefined || o.body !== undefined) {
      body = o.raw ?? JSON.stringify(o.body);
      headers.set("content-type", o.contentType ?? "application/json");
    }
    return fetch(base() + path, { method, headers, body, signal: o.signal });
  }

  /** A request whose answer is JSON (as every answer but a stream is): its status, headers and body. */
  async function call(method: string, path: string, o: RestCallOptions = {}): Promise<RestResponse> {
    const res = await request(method, path, o);
    const text = await res.text();
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    // eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- tests read any field of the envelope
    return { status: res.status, headers: res.headers, body: JSON.parse(text) };
  }

  /** Creates a session (201) as `as` (the client's key unless given). */
  async function newSession(as?: string, body: unknown = {}): Promise<RestSession> {
    const res = await call("POST", "/sessions", { key: as, body });
    expect(res.status).toBe(201);
    return (res.body as { data: RestSession }).data;
  }

  /** Asks a question over knowledge-chat and reads the whole answer (`o.body`: more fields of the request). */
  async function chat(sessionId: string, query: string, o: RestCallOptions & { body?: Record<string, unknown> } = {}) {
    const res = await request("POST", `/knowledge-chat/${sessionId}`, { ...o, body: { query, ...o.body } });
    return readAll(res);
  }

  return { request, call, newSession, chat };
}

/** Splits raw SSE text into frames, checking every frame's bytes; `:` comments are returned apart. */
export function parseFrames(text: string): { frames: Frame[]; comments: number } {
  expect(text.endsWith("\n\n") || text === "").toBe(true);
  const blocks = text.split("\n\n").slice(0, -1);
  const frames: Frame[] = [];
  let comments = 0;
  for (const block of blocks) {
    if (block.startsWith(":")) {
      expect(block).toBe(":keep-alive");
      comments++;
      continue;
    }
    const match = /^id:(\d+-\d+)\nevent:message\ndata:(\{.*\})$/.exec(block);
    expect(match, `frame bytes: ${JSON.stringify(block)}`).not.toBeNull();
    frames.push({ id: match![1]!, payload: JSON.parse(match![2]!) as Frame["payload"] });
  }
  return { frames, comments };
}

/** The frames of an answer stream read as it arrives (openEventStream's messages), its `:` comments left out. */
export const framesOf = (messages: readonly string[]): Frame[] => messages.filter((m) => !m.startsWith(":")).flatMap((m) => parseFrames(`${m}\n\n`).frames);

/** The answer's text, from its frames. */
export const answerText = (frames: Frame[]) => frames.filter((f) => f.payload.response_type === "answer").map((f) => f.payload.content).join("");

/** Reads a streaming response to its end (the server closes it after the terminal frame). */
export async function readAll(res: Response) {
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toBe("text/event-stream");
  expect(res.headers.get("cache-control")).toBe("no-cache");
  expect(res.headers.get("x-accel-buffering")).toBe("no");
  return parseFrames(await res.text());
}

/** Reads frames until `enough` says so, then drops the connection (as a client that goes away). */
export async function readUntil(res: Response, enough: (frames: Frame[]) => boolean, controller: AbortController) {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
    const complete = text.slice(0, text.lastIndexOf("\n\n") + 2);
    if (enough(parseFrames(complete).frames)) {
      controller.abort();
      return parseFrames(complete).frames;
    }
  }
  return parseFrames(text).frames;
}
