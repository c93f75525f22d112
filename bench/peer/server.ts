/**
 * The peer's reader: what Vercel's ai-chatbot runs for `GET /api/chat/[id]/stream`, reduced to the
 * `resumable-stream` package itself (no auth, no database lookups): resume an existing stream by id,
 * skipping the characters the client already has, and send it as SSE. Its producer runs in the
 * bench process (the instance that generates the answer), on the same Redis.
 */
import http from "node:http";
import { Redis } from "ioredis";
import { createResumableStreamContext } from "resumable-stream/ioredis";

const url = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const context = createResumableStreamContext({
  waitUntil: null,
  keyPrefix: process.env.PEER_PREFIX ?? "parley:bench-peer",
  publisher: new Redis(url),
  subscriber: new Redis(url),
});

const server = http.createServer(async (req, res) => {
  const u = new URL(req.url ?? "/", "http://x");
  const match = /^\/stream\/([\w-]+)$/.exec(u.pathname);
  if (!match) return res.writeHead(404).end();
  const skip = u.searchParams.get("skip");
  try {
    const stream = await context.resumeExistingStream(match[1], skip ? Number(skip) : undefined);
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
