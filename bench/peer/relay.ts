/**
 * Scenario 9's floor: the least any server can do for a live answer on this machine. It reads the
 * model's stream (Node's http, the SSE split by hand) and writes each delta straight to the one
 * subscriber's SSE response in the same process: no store, no Redis, no resume, nothing kept but
 * the frames sent before the subscriber arrived. Whatever holds more live answers than this relay
 * does not exist here; how far Parley and the peer are from it says what their durability costs.
 *
 * Same routes as the peer's server (`server.ts`): `POST /answer/<id>?q=…` starts the answer (202),
 * `GET /stream/<id>` follows it; events are JSON `{ type, delta }`.
 */
import http from "node:http";
import { chatDeltaSplitter } from "./modelDeltas";

const model = new URL(`${process.env.MODEL_URL}/chat/completions`);
const agent = new http.Agent({ keepAlive: true });

interface Answer {
  subscriber: http.ServerResponse | null;
  /** Frames written before the subscriber arrived. */
  early: string[];
}
const answers = new Map<string, Answer>();

function deliver(answer: Answer, frame: string) {
  if (answer.subscriber) answer.subscriber.write(frame);
  else answer.early.push(frame);
}

function startAnswer(id: string, question: string) {
  const answer: Answer = { subscriber: null, early: [] };
  answers.set(id, answer);
  const body = JSON.stringify({ model: "paced", stream: true, messages: [{ role: "user", content: question }] });
  const req = http.request(model, { method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } }, (res) => {
    res.setEncoding("utf8");
    const split = chatDeltaSplitter();
    res.on("data", (text: string) => {
      for (const delta of split(text)) deliver(answer, `data: ${JSON.stringify({ type: "answer", delta })}\n\n`);
    });
    res.on("end", () => {
      deliver(answer, `data: ${JSON.stringify({ type: "complete" })}\n\n`);
      answer.subscriber?.end();
      answers.delete(id);
    });
  });
  req.end(body);
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? "/", "http://x");
  const started = /^\/answer\/([\w-]+)$/.exec(url.pathname);
  if (req.method === "POST" && started) {
    startAnswer(started[1]!, url.searchParams.get("q") ?? "");
    return res.writeHead(202).end();
  }
  const followed = /^\/stream\/([\w-]+)$/.exec(url.pathname);
  const answer = followed && answers.get(followed[1]!);
  if (!answer) return res.writeHead(404).end();
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
  res.write(answer.early.join(""));
  answer.early = [];
  answer.subscriber = res;
  req.on("close", () => (answer.subscriber = null));
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT), "127.0.0.1", () => console.log("ready"));
