/**
 * The peer's reader: what Vercel's ai-chatbot runs for `GET /api/chat/[id]/stream`, reduced to the
 * `resumable-stream` package itself (no auth, no database lookups): resume an existing stream by id,
 * skipping the characters the client already has, and send it as SSE. Its producer runs in the
 * bench process (the instance that generates the answer), on the same Redis.
 *
 * For scenario 9 it also generates, as ai-chatbot's `POST /api/chat` does: `POST /answer/<id>?q=…`
 * asks the model at MODEL_URL (OpenAI-compatible, streaming) and feeds its text deltas, as SSE
 * `answer` events, into `createNewResumableStream(id)` in this process.
 */
import http from "node:http";
import { Redis } from "ioredis";
import { createResumableStreamContext } from "resumable-stream/ioredis";
import { chatDeltaSplitter } from "./modelDeltas";

const url = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const context = createResumableStreamContext({
  waitUntil: null,
  keyPrefix: process.env.PEER_PREFIX ?? "parley:bench-peer",
  publisher: new Redis(url),
  subscriber: new Redis(url),
});

const sse = (data: unknown) => `data: ${JSON.stringify(data)}\n\n`;

/** The model's streamed reply as text deltas (OpenAI chat-completion chunks over SSE). */
async function* modelDeltas(question: string): AsyncGenerator<string> {
  const response = await fetch(`${process.env.MODEL_URL}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "paced", stream: true, messages: [{ role: "user", content: question }] }),
  });
  const decoder = new TextDecoder();
  const split = chatDeltaSplitter();
  const reader = response.body!.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    yield* split(decoder.decode(value, { stream: true }));
  }
}

async function startAnswer(id: string, question: string) {
  const deltas = modelDeltas(question);
  const source = new ReadableStream<string>({
    start: (c) => c.enqueue(sse({ type: "start" })),
    async pull(c) {
      const next = await deltas.next();
      if (next.done) c.close();
      else c.enqueue(sse({ type: "answer", delta: next.value }));
    },
  });
  const out = await context.createNewResumableStream(id, () => source);
  // The generating request's own response: drained, as the browser that asked would read it.
  void (async () => {
    const r = out!.getReader();
    while (!(await r.read()).done);
  })();
}

// eslint-disable-next-line @typescript-eslint/no-misused-promises -- Node ignores the promise: a failing handler is an unhandled rejection that stops the bench, as it should
const server = http.createServer(async (req, res) => {
  const u = new URL(req.url ?? "/", "http://x");
  const answer = /^\/answer\/([\w-]+)$/.exec(u.pathname);
  if (req.method === "POST" && answer) {
    try {
      await startAnswer(answer[1]!, u.searchParams.get("q") ?? "");
      return res.writeHead(202).end();
    } catch (error) {
      return res.writeHead(500).end(String(error));
    }
  }
  const match = /^\/stream\/([\w-]+)$/.exec(u.pathname);
  if (!match) return res.writeHead(404).end();
  const skip = u.searchParams.get("skip");
  try {
    const stream = await context.resumeExistingStream(match[1]!, skip ? Number(skip) : undefined);
    if (!stream) return res.writeHead(stream === null ? 422 : 404).end();
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
    res.flushHeaders();
    const reader = stream.getReader();
    req.on("close", () => void reader.cancel().catch(() => {}));
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      res.write(value);
    }
    res.end();
  } catch (error) {
    if (!res.headersSent) res.writeHead(500);
    res.end(String(error));
  }
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT), "127.0.0.1", () => console.log("ready"));
