/**
 * The bench's paced model for scenario 9: an OpenAI-compatible chat-completions server (its own
 * process, so pacing does not share the bench's event loop) that streams one chunk every PACE_MS
 * (each reply on its own timer) until the bench ends the run. Each chunk's text is `<k>@<send time ms>;`, so whoever receives it
 * knows its order and when the model sent it. The question names the run and the answer:
 * `bench run=<run> answer=<i>`. `POST /end?run=<run>` finishes that run's replies and returns how
 * many chunks each answer was sent (`{ "<i>": count }`). Parley and the peer read the same model.
 */
import http, { type ServerResponse } from "node:http";

const PACE_MS = Number(process.env.PACE_MS ?? 33);
const now = () => performance.timeOrigin + performance.now();

interface Reply {
  res: ServerResponse;
  answer: string;
  sent: number;
  model: string;
  timer: NodeJS.Timeout;
}
const runs = new Map<string, Set<Reply>>();
const counts = new Map<string, Map<string, number>>();

function finish(reply: Reply) {
  clearInterval(reply.timer);
  const chunk = { id: "chatcmpl-paced", object: "chat.completion.chunk", created: 0, model: reply.model, choices: [{ index: 0, delta: {}, finish_reason: "stop" }] };
  reply.res.end(`data: ${JSON.stringify(chunk)}\n\ndata: [DONE]\n\n`);
}

// eslint-disable-next-line @typescript-eslint/no-misused-promises -- Node ignores the promise: a failing handler is an unhandled rejection that stops the bench, as it should
const server = http.createServer(async (req, res) => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const url = new URL(req.url ?? "/", "http://x");
  if (req.method === "POST" && url.pathname === "/end") {
    const run = url.searchParams.get("run") ?? "";
    for (const reply of runs.get(run) ?? []) {
      counts.get(run)!.set(reply.answer, reply.sent);
      if (!reply.res.destroyed) finish(reply);
    }
    runs.delete(run);
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(Object.fromEntries(counts.get(run) ?? [])));
    counts.delete(run);
    return;
  }
  if (req.method !== "POST" || url.pathname !== "/v1/chat/completions") return res.writeHead(404).end();
  const body = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as { model?: string; stream?: boolean; messages?: Array<{ role: string; content: string }> };
  const question = body.messages?.filter((m) => m.role === "user").at(-1)?.content ?? "";
  const match = /run=(\S+) answer=(\S+)/.exec(question);
  const model = body.model ?? "paced";
  if (!body.stream || !match) {
    // Anything else (a title, a summary): a short plain reply.
    return res.writeHead(200, { "content-type": "application/json" }).end(
      JSON.stringify({ id: "chatcmpl-paced", object: "chat.completion", created: 0, model, choices: [{ index: 0, message: { role: "assistant", content: "Bench" }, finish_reason: "stop" }] }),
    );
  }
  const [, run = "", answer = ""] = match; // both groups capture when the pattern matches
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
  const first = { id: "chatcmpl-paced", object: "chat.completion.chunk", created: 0, model, choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }] };
  res.write(`data: ${JSON.stringify(first)}\n\n`);
  if (!runs.has(run)) {
    runs.set(run, new Set());
    counts.set(run, new Map());
  }
  // Each reply on its own timer, started when it was asked: answers' chunks spread over the period.
  const reply: Reply = {
    res,
    answer,
    sent: 0,
    model,
    timer: setInterval(() => {
      const chunk = { id: "chatcmpl-paced", object: "chat.completion.chunk", created: 0, model, choices: [{ index: 0, delta: { content: `${reply.sent}@${now().toFixed(3)};` }, finish_reason: null }] };
      res.write(`data: ${JSON.stringify(chunk)}\n\n`);
      reply.sent++;
    }, PACE_MS),
  };
  runs.get(run)!.add(reply);
  res.on("close", () => {
    clearInterval(reply.timer);
    counts.get(run)?.set(answer, reply.sent);
    runs.get(run)?.delete(reply);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT), "127.0.0.1", () => console.log("ready"));
