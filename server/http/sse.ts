import type { OutgoingHttpHeaders, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { OpenStream } from "./openStreams";
import { STOPPED } from "../platform/iterables";

/**
 * Parley's one SSE writer: every event stream of every face (tRPC subscriptions in
 * trpc/subscriptions.ts, WeKnora's answer streams in rest/routes/chat.ts) is written here,
 * straight to the Node response. Each face brings its encoding (its headers, its frames, its
 * ping); the writer waits while a client is slow to read (`drain`), pings quiet streams from one
 * timer for the whole instance, and gives the stream's place among its caller's open streams
 * (openStreams.ts) back when it ends.
 */

/** How a face's streams look on the wire, besides their frames (which the face encodes itself). */
export interface SseEncoding {
  /** The response's headers (each face keeps its own: tRPC's and WeKnora's differ). */
  readonly headers: OutgoingHttpHeaders;
  /** What keeps a quiet stream alive (proxies drop silent connections, clients reconnect after a silence). */
  readonly ping: string;
  /** How long a stream stays quiet before it is pinged; 0: never. */
  readonly pingMs: number;
}

/** Every started stream; one interval pings those quiet for their encoding's `pingMs`. */
const started = new Set<SseStream>();
let pinger: { timer: NodeJS.Timeout; everyMs: number } | null = null;

function pingQuiet() {
  const now = Date.now();
  for (const stream of started) stream.pingIfQuiet(now);
}

function track(stream: SseStream, pingMs: number) {
  started.add(stream);
  if (pingMs <= 0) return;
  // Looked at every third of the shortest interval: a quiet stream hears a ping after pingMs to 4/3 of it.
  const everyMs = Math.max(10, Math.floor(pingMs / 3));
  if (pinger && pinger.everyMs <= everyMs) return;
  if (pinger) clearInterval(pinger.timer);
  pinger = { timer: setInterval(pingQuiet, everyMs).unref(), everyMs };
}

function untrack(stream: SseStream) {
  started.delete(stream);
  if (started.size === 0 && pinger) {
    clearInterval(pinger.timer);
    pinger = null;
  }
}

/**
 * One SSE response. Made before anything is written, so `signal` covers the work that decides the
 * response (a subscription's call); `start` writes the head, then `write` / `writeEach` the frames
 * and `end` finishes it.
 */
export class SseStream {
  readonly #res: ServerResponse;
  readonly #encoding: SseEncoding;
  readonly #abort = new AbortController();
  #opened: OpenStream | null = null;
  /** Where frames go as framed chunks of their own (`#send`); null: through `res.write`. */
  #socket: Duplex | null = null;
  #lastWrite = 0;
  #ended = false;

  constructor(res: ServerResponse, encoding: SseEncoding) {
    this.#res = res;
    this.#encoding = encoding;
    const gone = () => {
      this.#finish();
      this.#abort.abort(STOPPED);
    };
    // Already gone (its `close` has passed), or going later.
    if (res.destroyed) gone();
    else res.once("close", gone);
  }

  /** Aborted once the client has gone or the stream was ended: stop reading what it would write. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /**
   * Writes the head (with any headers already set on the response) and starts pinging. `opened`
   * is the stream's place among its caller's open streams: given back when the stream ends, and
   * when it is ended (its key revoked, its browser signed out) the response ends at once, writing
   * nothing more.
   */
  start(opened: OpenStream | null) {
    // Gone before the head: nothing to write, and the place goes back now.
    if (this.#ended) return opened?.close();
    this.#opened = opened;
    opened?.ended.addEventListener("abort", () => this.end(), { once: true });
    const res = this.#res;
    // The head, the face's first frame and whatever frames are ready in this turn (a resume's
    // missed events) go out as one write, at the end of the turn: one packet for the client to
    // read before its first event, not three.
    const socket = res.socket;
    if (socket) {
      socket.cork();
      setImmediate(() => socket.uncork());
    }
    res.writeHead(200, this.#encoding.headers);
    // Sent this turn, not with the first frame: a queued answer may stay quiet a while.
    res.flushHeaders();
    // A response with its socket wrote its head there (flushHeaders), so the body's chunks can
    // follow it there; one waiting behind a pipelined response has no socket yet and keeps to
    // res.write, as does an HTTP/1.0 client's (no chunks) and a HEAD's (no body).
    if (res.chunkedEncoding && socket && res.req.method !== "HEAD") this.#socket = socket;
    this.#lastWrite = Date.now();
    track(this, this.#encoding.pingMs);
  }

  /**
   * Writes; false once the connection is gone or the stream has ended. While the client is slow to
   * read, a promise that settles once it has caught up (a plain boolean otherwise, so a stream of
   * small frames costs no promise per frame).
   */
  write(text: string): boolean | Promise<boolean> {
    if (this.#gone()) return false;
    this.#lastWrite = Date.now();
    return this.#send(text) || this.#drained();
  }

  /**
   * One chunk of the body. Node's `res.write` sends a chunk as four pieces (its size, CRLF, the
   * data, CRLF) through a corked socket uncorked on the next tick: a writev and a tick per frame,
   * per subscriber. The same bytes go out here as one socket write; `res.end()` then writes the
   * last chunk after them, as it would after its own. Empty text writes nothing (an empty chunk
   * would end the body).
   */
  #send(text: string): boolean {
    const socket = this.#socket;
    if (socket === null) return this.#res.write(text);
    if (text === "") return true;
    return socket.write(`${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`);
  }

  async #drained(): Promise<boolean> {
    // Written to the socket, it is the socket that drains (the response only says so for its own writes).
    const drains = this.#socket ?? this.#res;
    await new Promise<void>((resolve) => {
      const done = () => {
        drains.off("drain", done);
        this.#res.off("close", done);
        this.#abort.signal.removeEventListener("abort", done);
        resolve();
      };
      drains.on("drain", done);
      this.#res.on("close", done);
      this.#abort.signal.addEventListener("abort", done, { once: true });
    });
    return !this.#ended && !this.#abort.signal.aborted;
  }

  /**
   * Writes the frames of each value in turn (`framesOf` renders one value; "" writes nothing) and
   * throws what `values` throws; false once the stream can take no more.
   */
  async writeEach<T>(values: AsyncIterable<T>, framesOf: (value: T) => string): Promise<boolean> {
    for await (const value of values) {
      const text = framesOf(value);
      if (text === "") continue;
      const written = this.write(text);
      if (written === false || (written !== true && !(await written))) return false;
    }
    return !this.#ended;
  }

  /**
   * Ends the response and gives the stream's place back (safe to call twice). With an error the
   * response is cut off instead, so the client sees a broken stream (and resumes), not an end.
   */
  end(error?: unknown) {
    if (!this.#finish()) return;
    this.#abort.abort(STOPPED);
    if (error === undefined) this.#res.end();
    else this.#res.destroy(error instanceof Error ? error : new Error("The stream failed", { cause: error }));
  }

  /** Called by the instance's pinger: a ping to a stream quiet for its `pingMs` whose last write has gone out. */
  pingIfQuiet(now: number) {
    const res = this.#res;
    if (this.#gone() || res.writableLength > 0 || now - this.#lastWrite < this.#encoding.pingMs) return;
    this.#lastWrite = now;
    this.#send(this.#encoding.ping);
  }

  /** Ended, or its response or connection is (the socket may close before the response hears of it). */
  #gone(): boolean {
    return this.#ended || this.#res.destroyed || this.#res.writableEnded || this.#socket?.writable === false;
  }

  /** Stops the pings and gives the place back; true the first time only. */
  #finish() {
    if (this.#ended) return false;
    this.#ended = true;
    untrack(this);
    this.#opened?.close();
    return true;
  }
}
