import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * Test support: a local server speaking OpenAI's chat-completions protocol (`POST
 * /v1/chat/completions`, streaming as server-sent `chat.completion.chunk`s, a usage chunk when
 * `stream_options.include_usage`, then `data: [DONE]`). Each test scripts the reply and reads back
 * the requests it received.
 */

export interface FakeReply {
  /** The reply's text, streamed one word (with its following space) per chunk. */
  text?: string;
  /** Pause before each content chunk. */
  chunkDelayMs?: number;
  /**
   * After this many content chunks, fail: cut the connection, send an error event, end the reply
   * cleanly but unfinished, or stall (send nothing more, keeping the connection open until the client closes it).
   */
  failAfterChunks?: number;
  failWith?: "disconnect" | "error-event" | "end" | "stall";
  /** Wait this long before answering at all (a server that accepted the request and hangs). */
  responseDelayMs?: number;
  /** Answer with this HTTP status and an OpenAI-style error body instead. */
  status?: number;
  usage?: { prompt_tokens: number; completion_tokens: number };
  /**
   * Stream these writes verbatim instead (a few milliseconds apart, so each is its own network
   * read), for replies the scripted ones cannot make: malformed events, `event: error`, text after
   * `[DONE]`. The reply then ends, or with `keepOpen` stays open until the client closes it.
   */
  raw?: { writes: (string | Buffer)[]; keepOpen?: boolean };
}

export interface RecordedRequest {
  path: string;
  headers: IncomingMessage["headers"];
  /** The client's port: the same for two requests when they shared a keep-alive connection. */
  remotePort: number | undefined;
  body: Record<string, unknown> & { messages?: { role: string; content: string }[] };
  /** Content chunks written before the reply ended. */
  chunksSent: number;
  /** Settles when the reply is over: "finished" when it was sent whole, "closed_early" when the connection closed first (the client aborted, or a scripted disconnect). */
  closed: Promise<"finished" | "closed_early">;
}

export interface FakeOpenAI {
  baseURL: string;
  requests: RecordedRequest[];
  /** The reply to give from now on (a function sees each request's body). */
  reply(script: FakeReply | ((body: RecordedRequest["body"]) => FakeReply)): void;
  close(): Promise<void>;
}

export async function startFakeOpenAI(): Promise<FakeOpenAI> {
  const requests: RecordedRequest[] = [];
  let script: FakeReply | ((body: RecordedRequest["body"]) => FakeReply) = { text: "Hello from the fake model." };

  // eslint-disable-next-line @typescript-eslint/no-misused-promises -- Node ignores the promise: a failing handler is an unhandled rejection that fails the test, as it should
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as RecordedRequest["body"];

    let settle!: (how: "finished" | "closed_early") => void;
    const recorded: RecordedRequest = {
      path: req.url ?? "",
      headers: req.headers,
      remotePort: req.socket.remotePort,
      body,
      chunksSent: 0,
      closed: new Promise((resolve) => (settle = resolve)),
    };
    requests.push(recorded);
    res.on("close", () => settle(res.writableFinished ? "finished" : "closed_early"));

    if (req.method !== "POST" || req.url !== "/v1/chat/completions") return sendError(res, 404, "not found");
    const reply = typeof script === "function" ? script(body) : script;
    if (reply.responseDelayMs) await new Promise((resolve) => setTimeout(resolve, reply.responseDelayMs));
    if (res.destroyed) return;
    if (reply.status) return sendError(res, reply.status, `scripted failure ${reply.status}`);
    if (reply.raw) await streamRaw(res, reply.raw);
    else if (body.stream) await streamReply(res, body, reply, recorded);
    else sendCompletion(res, body, reply);
  });

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    reply(next) {
      script = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const wordsOf = (text: string) => text.match(/\S+\s*/g) ?? [];

function usageOf(body: RecordedRequest["body"], reply: FakeReply) {
  const prompt_tokens = reply.usage?.prompt_tokens ?? JSON.stringify(body.messages ?? []).length;
  const completion_tokens = reply.usage?.completion_tokens ?? wordsOf(reply.text ?? "").length;
  return { prompt_tokens, completion_tokens, total_tokens: prompt_tokens + completion_tokens };
}

function sendError(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify({ error: { message, type: status === 401 ? "invalid_request_error" : "server_error", code: null } }));
}

function sendCompletion(res: ServerResponse, body: RecordedRequest["body"], reply: FakeReply): void {
  res.writeHead(200, { "content-type": "application/json" });
  res.end(
    JSON.stringify({
      id: "chatcmpl-fake",
      object: "chat.completion",
      created: Math.floor(Date.now() / 1000),
      model: body.model,
      choices: [{ index: 0, message: { role: "assistant", content: reply.text ?? "" }, finish_reason: "stop", logprobs: null }],
      usage: usageOf(body, reply),
    }),
  );
}

async function streamReply(res: ServerResponse, body: RecordedRequest["body"], reply: FakeReply, recorded: RecordedRequest) {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
  const created = Math.floor(Date.now() / 1000);
  const send = (data: unknown) => res.write(`data: ${JSON.stringify(data)}\n\n`);
  const chunk = (delta: Record<string, unknown>, finish_reason: string | null = null) =>
    send({ id: "chatcmpl-fake", object: "chat.completion.chunk", created, model: body.model, choices: [{ index: 0, delta, finish_reason }] });

  chunk({ role: "assistant", content: "" });
  for (const word of wordsOf(reply.text ?? "")) {
    if (reply.chunkDelayMs) await new Promise((resolve) => setTimeout(resolve, reply.chunkDelayMs));
    if (res.destroyed) return;
    if (recorded.chunksSent === reply.failAfterChunks) {
      if (reply.failWith === "error-event") {
        send({ error: { message: "scripted failure mid-stream", type: "server_error" } });
        res.end();
      } else if (reply.failWith === "end") {
        res.end();
      } else if (reply.failWith === "stall") {
        await new Promise((resolve) => res.once("close", resolve));
      } else {
        // Let the chunks already written reach the client first, then cut the connection.
        await new Promise<void>((resolve) => res.write("", () => resolve()));
        res.destroy();
      }
      return;
    }
    chunk({ content: word });
    recorded.chunksSent++;
  }
  chunk({}, "stop");
  const options = body.stream_options as { include_usage?: boolean } | undefined;
  if (options?.include_usage) {
    send({ id: "chatcmpl-fake", object: "chat.completion.chunk", created, model: body.model, choices: [], usage: usageOf(body, reply) });
  }
  res.end("data: [DONE]\n\n");
}

async function streamRaw(res: ServerResponse, raw: NonNullable<FakeReply["raw"]>) {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
  for (const write of raw.writes) {
    if (res.destroyed) return;
    res.write(write);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  if (raw.keepOpen) await new Promise((resolve) => res.once("close", resolve));
  else res.end();
}
