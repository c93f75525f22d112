import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { APIConnectionError, APIConnectionTimeoutError, APIError } from "openai";
import type { GenerationChunk } from "./types";
import { PendingCall, rejection } from "../iterables";

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

  return function streamChat(body: object, signal: AbortSignal): AsyncIterable<GenerationChunk> {
    const payload = JSON.stringify(body);
    const request = () =>
      send(target, {
        method: "POST",
        agent,
        headers: { ...headers, "content-type": "application/json", accept: "text/event-stream", "content-length": Buffer.byteLength(payload) },
      });
    return { [Symbol.asyncIterator]: () => new ChatChunks(request, payload, timeoutMs, signal) };
  };
}

/** Chunks read ahead of the consumer before the response is paused. */
const READ_AHEAD_CHUNKS = 256;

/**
 * One streamed completion as an async iterator, fed by the response's `data` events: the chunks of
 * a network read are parsed at once and queued, and `next()` takes the next one (a promise already
 * settled while some are queued). Node's readable-stream iterator and an async generator around it
 * cost several promise hops and a tick per chunk, the most of reading the model at hundreds of
 * answers. A failure comes after the chunks read before it; an abort comes at once.
 */
class ChatChunks implements AsyncIterator<GenerationChunk> {
  readonly #signal: AbortSignal;
  readonly #request: () => ClientRequest;
  readonly #payload: string;
  readonly #timeoutMs: number;
  #req: ClientRequest | null = null;
  #response: IncomingMessage | undefined;
  #queue: GenerationChunk[] = [];
  #head = 0;
  /** A consumer waiting in `next()`: given the next chunk, the end, or the failure. */
  readonly #waiting = new PendingCall<IteratorResult<GenerationChunk>>();
  #failure: unknown = undefined;
  /** No more chunks will come (the reply ended, failed or was abandoned). */
  #ended = false;
  /** The connection went back to the pool (or was dropped): nothing left to close. */
  #released = false;
  #paused = false;
  /** Stopped: chunks read ahead are dropped, so the next read fails at once (a stop or a bound ends the answer where it was). */
  readonly #onAbort = () => {
    this.#dropQueued();
    this.#fail(this.#signal.reason);
  };

  /** `request` makes the (unsent) request for `payload`, the completion's JSON body. */
  constructor(request: () => ClientRequest, payload: string, timeoutMs: number, signal: AbortSignal) {
    this.#request = request;
    this.#payload = payload;
    this.#timeoutMs = timeoutMs;
    this.#signal = signal;
  }

  next(): Promise<IteratorResult<GenerationChunk>> {
    if (!this.#req && !this.#ended) this.#begin();
    if (this.#head < this.#queue.length) return Promise.resolve({ value: this.#take(), done: false });
    if (this.#failure !== undefined) {
      const failure = this.#failure;
      this.#failure = undefined;
      return rejection(failure);
    }
    if (this.#ended) return Promise.resolve({ value: undefined, done: true });
    return this.#waiting.wait();
  }

  /** The consumer stopped reading: the connection is closed unless the reply was whole. */
  return(): Promise<IteratorResult<GenerationChunk>> {
    this.#dropQueued();
    this.#failure = undefined;
    this.#finish();
    return Promise.resolve({ value: undefined, done: true });
  }

  /** Forgets the chunks read ahead: nobody will take them (the consumer left, or the answer was stopped). */
  #dropQueued() {
    this.#queue = [];
    this.#head = 0;
  }

  #take(): GenerationChunk {
    const chunk = this.#queue[this.#head++]!;
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
      if (this.#paused) {
        this.#paused = false;
        this.#response?.resume();
      }
    }
    return chunk;
  }

  #begin() {
    if (this.#signal.aborted) return this.#fail(this.#signal.reason);
    const req = (this.#req = this.#request());
    this.#signal.addEventListener("abort", this.#onAbort, { once: true });
    responseOf(req, this.#payload, this.#timeoutMs).then(
      (response) => this.#read(response),
      (error: unknown) => this.#fail(error),
    );
  }

  #read(response: IncomingMessage) {
    if (this.#ended) return;
    this.#response = response;
    const status = response.statusCode ?? 0;
    if (status < 200 || status >= 300) {
      // Once it ends, the connection returns to the pool; a late socket error must not go unheard.
      response.on("error", ignore);
      statusError(response).then(
        (error) => this.#fail(error),
        (error: unknown) => this.#fail(error),
      );
      return;
    }
    let done = false;
    let finished = false;
    const parser = createParser({
      maxBufferSize: MAX_EVENT_CHARS,
      onError: (error) => {
        if (error.type === "max-buffer-size-exceeded") this.#fail(new Error(`The model's stream sent an event longer than ${MAX_EVENT_CHARS} characters.`));
      },
      onEvent: (event) => {
        if (done || this.#ended) return;
        if (event.data.startsWith("[DONE]")) {
          done = true;
          return;
        }
        let chunk: ChatCompletionChunk;
        try {
          chunk = chunkOf(event);
        } catch (error) {
          return this.#fail(error);
        }
        const choice = chunk.choices?.[0];
        if (choice?.delta?.content) this.#push({ type: "delta", text: choice.delta.content });
        if (choice?.finish_reason) finished = true;
        if (chunk.usage) {
          const { prompt_tokens, completion_tokens, total_tokens } = chunk.usage;
          this.#push({ type: "usage", usage: { promptTokens: prompt_tokens, completionTokens: completion_tokens, totalTokens: total_tokens } });
        }
      },
    });
    /** The reply is over (its [DONE] or its end): the connection goes back to the pool. */
    const complete = () => {
      response.off("data", onData).off("end", complete).off("close", broken);
      drain(this.#req!, response);
      this.#released = true;
      // A proxy may close a stream cleanly mid-answer.
      if (!finished) this.#fail(new Error("The model's stream ended before the answer was finished."));
      else this.#finish();
    };
    const onData = (text: string) => {
      parser.feed(text);
      if (this.#ended) return;
      if (done) complete();
      else if (this.#queue.length - this.#head >= READ_AHEAD_CHUNKS && !this.#paused) {
        this.#paused = true;
        response.pause();
      }
    };
    // Closed before its end, with no error of its own: the connection broke.
    const broken = () => this.#fail(Object.assign(new Error("aborted"), { code: "ECONNRESET" }));
    response.setEncoding("utf8");
    response.on("error", (error) => this.#fail(error));
    response.on("data", onData).on("end", complete).on("close", broken);
  }

  #push(chunk: GenerationChunk) {
    if (!this.#waiting.give({ value: chunk, done: false })) this.#queue.push(chunk);
  }

  /** No more chunks: a waiting consumer is told so. */
  #finish() {
    this.#ended = true;
    this.#close();
    this.#waiting.give({ value: undefined, done: true });
  }

  /** Fails the stream (once): after the chunks already queued, the consumer gets the error, as the SDK threw it. */
  #fail(cause: unknown) {
    if (this.#ended) return;
    const error = this.#signal.aborted ? (this.#signal.reason as unknown) : isSocketError(cause) ? connectionError(cause, this.#response !== undefined) : cause;
    this.#ended = true;
    this.#close();
    if (!this.#waiting.fail(error)) this.#failure = error;
  }

  #close() {
    this.#signal.removeEventListener("abort", this.#onAbort);
    if (this.#req && !this.#released) {
      this.#released = true;
      this.#req.destroy();
    }
  }
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
