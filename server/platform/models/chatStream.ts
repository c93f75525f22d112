import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { APIConnectionError, APIConnectionTimeoutError, APIError } from "openai";
import type { GenerationChunk } from "./types";

/**
 * The most of one server-sent event (or of one unfinished line) held in memory. A chat chunk is a
 * few hundred characters; a server that sends a megabyte without ending its event is broken.
 */
export const MAX_EVENT_CHARS = 1 << 20;
/** How much of an error reply is read for its message. */
const MAX_ERROR_BODY_BYTES = 4096;
/** After `data: [DONE]`, how long the reply may take to end before its connection is dropped rather than reused. */
const DRAIN_AFTER_DONE_MS = 1_000;

/** The parts of a `chat.completion.chunk` (or of an error payload) the stream reads. */
interface ChatCompletionChunk {
  choices?: { delta?: { content?: string | null }; finish_reason?: string | null }[];
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number } | null;
  error?: unknown;
}

/**
 * Streams chat completions from `url` (an OpenAI-compatible `/chat/completions`) over Node's own
 * http(s) with one keep-alive connection pool, reading the server-sent events with
 * eventsource-parser: the openai SDK's fetch and web-stream layers cost several times the CPU per
 * chunk. Behaves as the SDK did for Parley: the response must begin within `timeoutMs`; a non-2xx
 * status, an error event, a broken connection, malformed JSON or an over-long event throws (a
 * status error carries `.status`); a reply that ends without a `finish_reason` throws; an abort
 * of `signal` closes the connection and throws its reason. Never retries.
 */
export function createChatStreamer({ url, headers, timeoutMs }: { url: string; headers: Record<string, string>; timeoutMs: number }) {
  const target = new URL(url);
  const secure = target.protocol === "https:";
  const agent = secure ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
  const send = secure ? httpsRequest : httpRequest;

  return async function* streamChat(body: object, signal: AbortSignal): AsyncGenerator<GenerationChunk> {
    signal.throwIfAborted();
    const payload = JSON.stringify(body);
    const req = send(target, {
      method: "POST",
      agent,
      headers: { ...headers, "content-type": "application/json", accept: "text/event-stream", "content-length": Buffer.byteLength(payload) },
    });
    // The error this raises is replaced by the signal's reason (below), which need not be an Error.
    const abort = () => req.destroy();
    signal.addEventListener("abort", abort, { once: true });
    let response: IncomingMessage | undefined;
    let released = false;
    try {
      response = await responseOf(req, payload, timeoutMs);
      // Once it ends, the connection returns to the pool; a late socket error must not go unheard.
      response.on("error", ignore);
      const status = response.statusCode ?? 0;
      if (status < 200 || status >= 300) throw await statusError(response);

      // What one network read held: its chunks are yielded, then its failure (if any) thrown.
      const read: GenerationChunk[] = [];
      let failure: Error | undefined;
      let done = false;
      let finished = false;
      const parser = createParser({
        maxBufferSize: MAX_EVENT_CHARS,
        onError: (error) => {
          if (error.type === "max-buffer-size-exceeded") failure ??= new Error(`The model's stream sent an event longer than ${MAX_EVENT_CHARS} characters.`);
        },
        onEvent: (event) => {
          if (done || failure) return;
          if (event.data.startsWith("[DONE]")) {
            done = true;
            return;
          }
          let chunk: ChatCompletionChunk;
          try {
            chunk = chunkOf(event);
          } catch (error) {
            failure = error as Error;
            return;
          }
          const choice = chunk.choices?.[0];
          if (choice?.delta?.content) read.push({ type: "delta", text: choice.delta.content });
          if (choice?.finish_reason) finished = true;
          if (chunk.usage) {
            const { prompt_tokens, completion_tokens, total_tokens } = chunk.usage;
            read.push({ type: "usage", usage: { promptTokens: prompt_tokens, completionTokens: completion_tokens, totalTokens: total_tokens } });
          }
        },
      });

      response.setEncoding("utf8");
      for await (const text of response.iterator({ destroyOnReturn: false }) as AsyncIterable<string>) {
        parser.feed(text);
        yield* read;
        read.length = 0;
        if (failure) throw failure;
        if (done) break;
      }
      drain(req, response);
      released = true;
      // A proxy may close a stream cleanly mid-answer.
      if (!finished) throw new Error("The model's stream ended before the answer was finished.");
    } catch (error) {
      signal.throwIfAborted();
      throw isSocketError(error) ? connectionError(error, response !== undefined) : error;
    } finally {
      signal.removeEventListener("abort", abort);
      if (!released) req.destroy();
    }
  };
}

/** Sends the request; settles when its response begins, or fails when that takes longer than `timeoutMs`. */
function responseOf(req: ClientRequest, payload: string, timeoutMs: number): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => req.destroy(new APIConnectionTimeoutError()), timeoutMs);
    req.once("response", (response) => {
      clearTimeout(timer);
      resolve(response);
    });
    // Stays attached: errors after the response began (an abort, a reset) must not go unheard either.
    req.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.end(payload);
  });
}

/** One event's JSON, or the error it reports (as the SDK throws it: an `APIError` with the server's message). */
function chunkOf(event: EventSourceMessage): ChatCompletionChunk {
  let chunk: ChatCompletionChunk | null;
  try {
    chunk = JSON.parse(event.data) as ChatCompletionChunk | null;
  } catch {
    if (event.event === "error") throw new APIError(undefined, undefined, event.data.slice(0, 500), undefined);
    throw new Error(`The model's stream sent an event that is not JSON: ${event.data.slice(0, 100)}`);
  }
  if (chunk?.error || event.event === "error") throw new APIError(undefined, (chunk?.error ?? chunk) as object | undefined, undefined, undefined);
  return chunk ?? {};
}

/** The SDK's error for an HTTP status (its `.status` is what generate.ts reports), with the message from the first bytes of the body. */
async function statusError(response: IncomingMessage): Promise<APIError> {
  const parts: Buffer[] = [];
  let length = 0;
  for await (const part of response as AsyncIterable<Buffer>) {
    parts.push(part);
    length += part.length;
    if (length >= MAX_ERROR_BODY_BYTES) break;
  }
  const text = Buffer.concat(parts).subarray(0, MAX_ERROR_BODY_BYTES).toString("utf8");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const headers = new Headers();
  for (const [name, value] of Object.entries(response.headers)) if (value !== undefined) headers.set(name, String(value));
  return APIError.generate(response.statusCode, json as object | undefined, json ? undefined : text, headers);
}

/** Reads what follows `[DONE]` (normally only the reply's end) so the connection returns to the pool; drops it if the reply does not end. */
function drain(req: ClientRequest, response: IncomingMessage): void {
  response.resume();
  if (response.complete) return;
  const timer = setTimeout(() => req.destroy(), DRAIN_AFTER_DONE_MS);
  response.once("close", () => clearTimeout(timer));
}

const isSocketError = (error: unknown): error is Error & { code: string } =>
  error instanceof Error && typeof (error as { code?: unknown }).code === "string" && !(error instanceof APIError);

/**
 * A failed connection to the model server, named by its code only: the system error (with the
 * server's address) stays out of the message users see, and out of `cause`, where it would read as
 * Parley's own database or Redis being down (errors.ts).
 */
function connectionError(error: Error & { code: string }, responseBegan: boolean): APIConnectionError {
  return new APIConnectionError({ message: responseBegan ? `The model's stream broke off (${error.code}).` : `Connection error (${error.code}).` });
}

function ignore(): void {}
