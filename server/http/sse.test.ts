import http from "node:http";
import net from "node:net";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { SseStream, type SseEncoding } from "./sse";

/*
 * The SSE writer on a real Node server, read as raw bytes from a plain socket: the frames it
 * writes straight to the socket must be the very chunks Node's own `res.write` would have sent,
 * end with Node's last chunk, and wait for a client that is slow to read.
 */

const encoding: SseEncoding = { headers: { "content-type": "text/event-stream" }, ping: ": ping\n\n", pingMs: 0 };

let server: http.Server | null = null;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = null;
});

/** A server that answers every request with `handle`; its port. */
async function serve(handle: (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void> | void): Promise<number> {
  server = http.createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

const get = (path: string, version: "1.0" | "1.1", close = true) => `GET ${path} HTTP/${version}\r\nHost: test\r\n${close ? "Connection: close\r\n" : ""}\r\n`;

/**
 * Every byte the server sends on one connection, as latin1 text, until it closes it: for
 * `request`, then for `next`, sent on the same connection once a chunked body has ended. With
 * `pauseMs` the client reads nothing for that long first.
 */
function rawExchange(port: number, request: string, options: { next?: string; pauseMs?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    const parts: string[] = [];
    let next = options.next;
    socket.setEncoding("latin1");
    if (options.pauseMs) {
      socket.pause();
      setTimeout(() => socket.resume(), options.pauseMs);
    }
    socket.on("data", (data: string) => {
      parts.push(data);
      // The body's last chunk may arrive split across reads: look at everything received.
      if (next !== undefined && parts.join("").endsWith("0\r\n\r\n")) {
        socket.write(next);
        next = undefined;
      }
    });
    socket.on("end", () => resolve(parts.join("")));
    socket.on("error", reject);
    socket.write(request);
  });
}

/** Every byte the server sends for one GET of `path` in HTTP `version`. */
const rawGet = (port: number, path: string, version: "1.0" | "1.1") => rawExchange(port, get(path, version));

/** The frames through the SSE writer. */
function writeFrames(res: http.ServerResponse) {
  const out = new SseStream(res, encoding);
  out.start(null);
  for (const frame of frames) void out.write(frame); // small: none waits
  out.end();
}

const bodyOf = (raw: string) => raw.slice(raw.indexOf("\r\n\r\n") + 4);
const frames = ["data: one\n\n", "data: ü and 中文\n\n", "", "data: three\n\n"];

describe("the SSE writer", () => {
  it("writes each frame as the chunk Node's res.write would send, then Node's last chunk", async () => {
    const port = await serve((req, res) => {
      if (req.url === "/sse") return writeFrames(res);
      res.writeHead(200, encoding.headers);
      res.flushHeaders();
      for (const frame of frames) res.write(frame);
      res.end();
    });
    const written = bodyOf(await rawGet(port, "/sse", "1.1"));
    expect(written).toBe(bodyOf(await rawGet(port, "/node", "1.1")));
    const latin1 = (text: string) => Buffer.from(text).toString("latin1");
    expect(written).toBe(`b\r\ndata: one\n\n\r\n${Buffer.byteLength(frames[1]!).toString(16)}\r\n${latin1(frames[1]!)}\r\nd\r\ndata: three\n\n\r\n0\r\n\r\n`);
  });

  it("writes plain frames to an HTTP/1.0 client, which takes no chunks", async () => {
    const raw = await rawGet(await serve((_req, res) => writeFrames(res)), "/sse", "1.0");
    expect(Buffer.from(bodyOf(raw), "latin1").toString()).toBe(frames.join(""));
  });

  it("leaves a kept-alive connection ready for the next response, pings included", async () => {
    const pinged: SseEncoding = { ...encoding, pingMs: 30 };
    const port = await serve(async (req, res) => {
      if (req.url !== "/sse") {
        res.end("next");
        return;
      }
      const out = new SseStream(res, pinged);
      out.start(null);
      void out.write(frames[0]!);
      await new Promise((resolve) => setTimeout(resolve, 100)); // quiet: pinged
      out.end();
    });
    // The stream's last chunk: the second request goes on the same connection.
    const raw = await rawExchange(port, get("/sse", "1.1", false), { next: get("/plain", "1.1") });
    const [stream, next] = raw.split(/(?=HTTP\/1\.1 200)/).filter(Boolean);
    const ping = `${pinged.ping.length.toString(16)}\r\n${pinged.ping}\r\n`;
    expect(bodyOf(stream!)).toMatch(new RegExp(`^b\r\ndata: one\n\n\r\n(${ping})+0\r\n\r\n$`));
    expect(next).toMatch(/\r\n\r\n(4\r\nnext\r\n0\r\n\r\n|next)$/);
  });

  it("holds the head and the frames of its first turn, and sends them together once the turn ends", async () => {
    // Bytes still in the socket's own buffer: handed to the kernel later, in one write.
    const held: number[] = [];
    const port = await serve(async (_req, res) => {
      const out = new SseStream(res, encoding);
      out.start(null);
      void out.write(frames[0]!);
      await Promise.resolve(); // a resume's missed events come a few promise hops later, in the same turn
      void out.write(frames[3]!);
      held.push(res.socket!.writableLength);
      await new Promise((resolve) => setImmediate(resolve));
      held.push(res.socket!.writableLength);
      void out.write(frames[0]!); // a later frame goes out at once
      held.push(res.socket!.writableLength);
      out.end();
    });
    const raw = await rawGet(port, "/sse", "1.1");
    const firstTurn = "b\r\ndata: one\n\n\r\nd\r\ndata: three\n\n\r\n";
    expect(bodyOf(raw)).toBe(`${firstTurn}b\r\ndata: one\n\n\r\n0\r\n\r\n`);
    expect(held[0]).toBe(raw.length - bodyOf(raw).length + firstTurn.length);
    expect(held.slice(1)).toEqual([0, 0]);
  });

  it("waits while the client is slow to read, and loses nothing", async () => {
    // More than the kernel's socket buffers hold on loopback, so the writer must wait.
    const frame = `data: ${"x".repeat(64 * 1024)}\n\n`;
    const count = 1000;
    let waited = 0;
    const port = await serve(async (_req, res) => {
      const out = new SseStream(res, encoding);
      out.start(null);
      for (let i = 0; i < count; i++) {
        const written = out.write(frame);
        if (written !== true) {
          waited++;
          expect(await written).toBe(true);
        }
      }
      await out.write("data: end\n\n");
      out.end();
    });
    // A client that reads nothing for a while: the server's socket buffer fills up.
    const raw = await rawExchange(port, get("/stream", "1.1"), { pauseMs: 300 });
    expect(waited).toBeGreaterThan(0);
    const body = bodyOf(raw);
    const chunk = `${Buffer.byteLength(frame).toString(16)}\r\n${frame}\r\n`;
    expect(body).toBe(chunk.repeat(count) + "b\r\ndata: end\n\n\r\n0\r\n\r\n");
  });
});
