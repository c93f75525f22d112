import { Writable } from "node:stream";
import { Worker } from "node:worker_threads";
import { createTRPCClient, httpBatchLink, httpSubscriptionLink, splitLink } from "@trpc/client";
import { EventSource } from "eventsource";
import superjson from "superjson";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { createParleyClient, followAnswer, type AppRouter } from "../../client";
import type { App } from "../boot/app";
import type { AppHost } from "../boot/host";
import { createLogger } from "../platform/log";
import { createOfflineModel } from "../platform/models/offline";
import { serveApp, serveTestApp, signInCookie, type ServedTestApp } from "../testing/http";
import { MAX_BATCH_CALLS, MAX_BODY_BYTES, MAX_DOCUMENT_BODY_BYTES } from "./routes";

/** Everything the App logs, line by line, as parsed JSON and as raw text. */
const logText: string[] = [];
const capture = new Writable({
  write(chunk, _encoding, done) {
    logText.push(String(chunk));
    done();
  },
});
const logLines = () => logText.join("").trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);

let app: App;
let server: ServedTestApp;
let key: string;
beforeAll(async () => {
  server = await serveTestApp({}, { log: createLogger({ level: "debug", destination: capture }) });
  app = server.app;
  key = server.tenant.owner.apiKey;
});
afterAll(() => server?.close());

const metricsText = async (url = server.url, headers: Record<string, string> = {}) => (await fetch(`${url}/api/metrics`, { headers })).text();
/** A browser's tRPC client: signed in by its cookie, from Parley's own origin. */
function browserClient(cookie: string) {
  const url = `${server.url}/api/trpc`;
  const headers = { cookie, origin: server.url };
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === "subscription",
        true: httpSubscriptionLink({
          url,
          transformer: superjson,
          EventSource,
          eventSourceOptions: () => ({ fetch: (input: string | URL | Request, init?: RequestInit) => fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), ...headers } }) }),
        }),
        false: httpBatchLink({ url, transformer: superjson, headers }),
      }),
    ],
  });
}

/** The value of one sample line of the Prometheus text (`name{labels} value`), 0 when absent. */
const sample = (text: string, series: string) => Number(text.split("\n").find((line) => line.startsWith(`${series} `))?.split(" ")[1] ?? 0);

describe("logs", () => {
  it("carry request and answer fields, and never the key, the cookie or the question", async () => {
    const word = `zanzibarquux${Date.now()}`;
    const cookie = await signInCookie(server.url, key);
    const browser = browserClient(cookie);
    const me = await browser.auth.me.query();
    const session = await browser.session.create.mutate({});
    const turn = await browser.chat.send.mutate({ sessionId: session.id, query: `Tell me about ${word} please` });
    const events = [];
    for await (const event of followAnswer(browser, { sessionId: session.id, messageId: turn.assistantMessage.id })) events.push(event);
    expect(events.at(-1)?.type).toBe("complete");
    await new Promise((r) => setTimeout(r, 50)); // the stream's request line is written as it closes

    const all = logText.join("");
    expect(all).not.toContain(key);
    expect(all).not.toContain(cookie.split("=")[1]);
    expect(all).not.toContain(word);

    const lines = logLines();
    for (const line of lines) expect(line).toMatchObject({ level: expect.any(String), time: expect.any(Number), instance: app.instanceId });
    const send = lines.find((l) => l.msg === "request" && l.procedure === "chat.send");
    expect(send).toMatchObject({
      method: "POST",
      path: "/api/trpc/chat.send",
      status: 200,
      ms: expect.any(Number),
      tenantId: me.tenant.id,
      userId: me.user.id,
      sessionId: session.id,
      messageId: turn.assistantMessage.id,
    });
    const stream = lines.find((l) => l.msg === "request" && l.procedure === "chat.stream");
    expect(stream).toMatchObject({ method: "GET", status: 200, sessionId: session.id, messageId: turn.assistantMessage.id, userId: me.user.id });
    const ended = lines.find((l) => l.msg === "answer ended" && l.messageId === turn.assistantMessage.id);
    expect(ended).toMatchObject({ level: "info", status: "completed", sessionId: session.id, tenantId: me.tenant.id, userId: me.user.id, ms: expect.any(Number) });
  });

  it("redact header-shaped fields, should a call ever pass them", () => {
    const before = logText.length;
    app.log.warn({ headers: { authorization: `Bearer ${key}`, cookie: "parley_session=secret" }, apiKey: key }, "careless");
    const line = logText.slice(before).join("");
    expect(line).not.toContain(key);
    expect(line).not.toContain("secret");
    expect(line).toContain("[redacted]");
  });
});

describe("GET /api/metrics", () => {
  it("counts requests, answers, first tokens and stream subscribers where they happen, with process metrics", async () => {
    const client = createParleyClient({ url: server.url, apiKey: key });
    // The built-in model at a readable pace, so a subscriber is still being served mid-answer.
    const instant = app.models.chat;
    app.models.chat = createOfflineModel({ tokenDelayMs: 5 });
    onTestFinished(() => void (app.models.chat = instant));
    const before = await metricsText();
    const session = await client.session.create.mutate({});
    for (const query of ["What is Parley?", "How are answers streamed?"]) {
      const turn = await client.chat.send.mutate({ sessionId: session.id, query });
      const follow = followAnswer(client, { sessionId: session.id, messageId: turn.assistantMessage.id });
      await follow.next();
      // One subscriber is being served while the answer streams.
      expect(sample(await metricsText(), "parley_stream_subscribers")).toBe(1);
      for await (const event of follow) if (event.type === "complete") break;
    }
    await new Promise((r) => setTimeout(r, 50));
    const after = await metricsText();
    expect(sample(after, 'parley_answers_total{status="completed"}') - sample(before, 'parley_answers_total{status="completed"}')).toBe(2);
    expect(sample(after, "parley_answer_first_token_seconds_count") - sample(before, "parley_answer_first_token_seconds_count")).toBe(2);
    expect(sample(after, "parley_stream_subscribers")).toBe(0);
    expect(sample(after, "parley_answers_running")).toBe(0);
    expect(sample(after, "parley_answers_queued")).toBe(0);
    const sends = 'parley_http_requests_total{method="POST",route="/api/trpc",status="200"}';
    expect(sample(after, sends) - sample(before, sends)).toBeGreaterThanOrEqual(3);
    expect(after).toMatch(/^parley_http_request_duration_seconds_bucket\{le="0\.1",method="POST",route="\/api\/trpc"\} \d+$/m);
    expect(after).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(after).toMatch(/^nodejs_eventloop_lag_seconds \d/m);
  });

  it("asks for the bearer token when METRICS_TOKEN is set", async () => {
    const host: AppHost = { state: "ready", app, waitingFor: {}, env: { ...app.env, METRICS_TOKEN: "scrape-secret" }, log: app.log, metrics: app.metrics };
    const guarded = await serveApp(host);
    try {
      expect((await fetch(`${guarded.url}/api/metrics`)).status).toBe(401);
      expect((await fetch(`${guarded.url}/api/metrics`, { headers: { authorization: "Bearer wrong-secret!" } })).status).toBe(401);
      const ok = await fetch(`${guarded.url}/api/metrics`, { headers: { authorization: "Bearer scrape-secret" } });
      expect(ok.status).toBe(200);
      expect(ok.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(await ok.text()).toContain("# TYPE parley_answers_total counter");
    } finally {
      await guarded.close();
    }
  });
});

describe("an instance that is not ready", () => {
  const hostIn = (state: AppHost["state"], waitingFor: AppHost["waitingFor"] = state === "starting" ? { redis: "connect ECONNREFUSED 127.0.0.1:1" } : {}): AppHost => ({
    state,
    app: state === "starting" ? null : app,
    waitingFor,
    env: { DATABASE_URL: "postgres://db.invalid/parley", REDIS_URL: "redis://127.0.0.1:1" },
    log: app.log,
    metrics: app.metrics,
  });

  it("while starting: health 503 naming the store it waits for, calls SERVICE_UNAVAILABLE with Retry-After, liveness and metrics served", async () => {
    const starting = await serveApp(hostIn("starting"));
    try {
      const health = await fetch(`${starting.url}/api/health`);
      expect(health.status).toBe(503);
      expect(await health.json()).toEqual({ status: "error", db: "postgres", redis: "redis", failing: ["redis"], errors: { redis: "connect ECONNREFUSED 127.0.0.1:1" } });
      expect((await fetch(`${starting.url}/api/health?live=1`)).status).toBe(200);
      expect((await fetch(`${starting.url}/api/metrics`)).status).toBe(200);
      const call = await fetch(`${starting.url}/api/trpc/auth.me`);
      expect(call.status).toBe(503);
      expect(call.headers.get("retry-after")).toBe("2");
      const client = createParleyClient({ url: starting.url, apiKey: key });
      // One call and a batch of two: each gets the code.
      await expect(client.auth.me.query()).rejects.toMatchObject({ data: { code: "SERVICE_UNAVAILABLE", httpStatus: 503 } });
      const batch = await Promise.allSettled([client.auth.me.query(), client.session.list.query({})]);
      expect(batch.map((r) => r.status === "rejected" && (r.reason as { data: { code: string } }).data.code)).toEqual(["SERVICE_UNAVAILABLE", "SERVICE_UNAVAILABLE"]);
      const upload = await fetch(`${starting.url}/api/knowledge/upload`, { method: "POST", body: "x" });
      expect(upload.status).toBe(503);
      expect(await upload.json()).toMatchObject({ error: { code: "SERVICE_UNAVAILABLE" } });
    } finally {
      await starting.close();
    }
  });

  it("while its first attempt runs (nothing has failed yet): health 503 'starting', naming no failing store", async () => {
    const starting = await serveApp(hostIn("starting", {}));
    try {
      const health = await fetch(`${starting.url}/api/health`);
      expect(health.status).toBe(503);
      expect(await health.json()).toEqual({ status: "starting", db: "postgres", redis: "redis" });
      expect((await fetch(`${starting.url}/api/health?live=1`)).status).toBe(200);
    } finally {
      await starting.close();
    }
  });

  it("while draining: health 503 'draining', new calls 503 with Retry-After and Connection: close", async () => {
    const draining = await serveApp(hostIn("draining"));
    try {
      const health = await fetch(`${draining.url}/api/health`);
      expect(health.status).toBe(503);
      expect(await health.json()).toEqual({ status: "draining" });
      const call = await fetch(`${draining.url}/api/trpc/auth.me`, { headers: { authorization: `Bearer ${key}` } });
      expect(call.status).toBe(503);
      expect(call.headers.get("retry-after")).toBe("2");
      expect(call.headers.get("connection")).toBe("close");
      expect((await call.json()).error.json.data.code).toBe("SERVICE_UNAVAILABLE");
    } finally {
      await draining.close();
    }
  });
});

describe("request bodies and batches", () => {
  const post = (path: string, body: BodyInit, headers: Record<string, string> = {}) =>
    fetch(`${server.url}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body, duplex: "half" } as RequestInit);
  /** A body of `bytes` bytes sent chunked (no Content-Length), 64 KB at a time. */
  const chunked = (bytes: number) => {
    let sent = 0;
    return new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= bytes) return controller.close();
        const size = Math.min(64 * 1024, bytes - sent);
        controller.enqueue(new Uint8Array(size).fill(120));
        sent += size;
      },
    });
  };

  it("refuses an unauthenticated body over 1 MB from its Content-Length, before reading it", async () => {
    const over = await post("/api/trpc/chat.send", "x".repeat(MAX_BODY_BYTES + 1));
    expect(over.status).toBe(413);
    expect((await over.json()).error.json).toMatchObject({ message: `The request body is larger than ${MAX_BODY_BYTES} bytes`, data: { code: "PAYLOAD_TOO_LARGE" } });
    // At the limit it reaches tRPC, which asks who is calling.
    expect((await post("/api/trpc/chat.send", "x".repeat(MAX_BODY_BYTES))).status).toBe(401);
  });

  it("counts a chunked body as it arrives: 1 MB passes, one byte more is 413", async () => {
    expect((await post("/api/trpc/chat.send", chunked(MAX_BODY_BYTES), { authorization: `Bearer ${key}` })).status).toBe(400);
    const over = await post("/api/trpc/chat.send", chunked(MAX_BODY_BYTES + 1), { authorization: `Bearer ${key}` });
    expect(over.status).toBe(413);
    expect((await over.json()).error.json.data.code).toBe("PAYLOAD_TOO_LARGE");
    const document = await post("/api/trpc/knowledge.documents.add", chunked(MAX_DOCUMENT_BODY_BYTES), { authorization: `Bearer ${key}` });
    expect(document.status).toBe(400);
    expect((await post("/api/trpc/knowledge.documents.add", chunked(MAX_DOCUMENT_BODY_BYTES + 1), { authorization: `Bearer ${key}` })).status).toBe(413);
  });

  /** Just under 6 MB of JSON that takes seconds to parse (two million empty arrays), naming no caller. */
  const arrayBomb = () => `{"json":[${"[],".repeat(Math.floor((MAX_DOCUMENT_BODY_BYTES - 64) / 3))}[]]}`;

  it("refuses an anonymous body over 1 MB that names the document procedure, alone or in a batch, at once", async () => {
    const bomb = arrayBomb();
    for (const path of ["knowledge.documents.add", "knowledge.documents.add,auth.me?batch=1", "auth.signIn,knowledge.documents.add?batch=1"]) {
      const started = performance.now();
      const refused = await post(`/api/trpc/${path}`, bomb);
      expect(refused.status, path).toBe(413);
      expect(JSON.stringify(await refused.json())).toContain("PAYLOAD_TOO_LARGE");
      expect(performance.now() - started, path).toBeLessThan(1000);
    }
    // A known caller may send 6 MB only to the document procedure itself, never to a batch that names it.
    const batch = await post("/api/trpc/knowledge.documents.add,auth.me?batch=1", "x".repeat(MAX_BODY_BYTES + 1), { authorization: `Bearer ${key}` });
    expect(batch.status).toBe(413);
  });

  it("answers an anonymous call to a procedure that needs a caller with 401 before reading its body", async () => {
    // 1 KB every 20 ms for 4 s: the answer must come while the body is still on its way.
    let sentAll = false;
    let chunks = 0;
    const slow = new ReadableStream<Uint8Array>({
      async pull(controller) {
        await new Promise((r) => setTimeout(r, 20));
        if (++chunks === 200) {
          sentAll = true;
          return controller.close();
        }
        controller.enqueue(new Uint8Array(1024).fill(32));
      },
    });
    const refused = await post("/api/trpc/session.create,session.delete?batch=1", slow);
    expect(refused.status).toBe(401);
    expect(sentAll).toBe(false);
    expect(JSON.stringify(await refused.json())).toContain("UNAUTHORIZED");
  });

  it("keeps /api/health under 2 s while two clients send 6 MB anonymous bodies naming the document procedure for 5 s", async () => {
    // The clients run on a thread of their own: on the server's thread they would stall with it and time nothing.
    const clients = new Worker(
      `const { parentPort, workerData: { url, seconds, bytes } } = require("node:worker_threads");
      const bomb = '{"json":[' + "[],".repeat(Math.floor((bytes - 64) / 3)) + '[]]}';
      const until = Date.now() + seconds * 1000;
      const flood = async () => {
        while (Date.now() < until) {
          await fetch(url + "/api/trpc/knowledge.documents.add", { method: "POST", headers: { "content-type": "application/json" }, body: bomb }).then((r) => r.arrayBuffer(), () => undefined);
        }
      };
      const watch = async () => {
        let worst = 0;
        while (Date.now() < until) {
          const started = performance.now();
          const status = (await fetch(url + "/api/health")).status;
          if (status !== 200) throw new Error("health answered " + status);
          worst = Math.max(worst, performance.now() - started);
          await new Promise((r) => setTimeout(r, 100));
        }
        return worst;
      };
      Promise.all([watch(), flood(), flood()]).then(([worst]) => parentPort.postMessage(worst));`,
      { eval: true, workerData: { url: server.url, seconds: 5, bytes: MAX_DOCUMENT_BODY_BYTES } },
    );
    const worst = await new Promise<number>((resolve, reject) => clients.once("message", resolve).once("error", reject));
    await clients.terminate();
    expect(worst).toBeLessThan(2000);
  }, 60_000);

  it("lets the upload route carry 6 MB, and no more, for a known caller only", async () => {
    const over = await post("/api/knowledge/upload", "x".repeat(MAX_DOCUMENT_BODY_BYTES + 1), { "content-type": "multipart/form-data; boundary=b" });
    expect(over.status).toBe(413);
    expect(await over.json()).toMatchObject({ error: { code: "PAYLOAD_TOO_LARGE" } });
    // The contract: an anonymous request never gets past 1 MB.
    expect((await post("/api/knowledge/upload", "x".repeat(MAX_BODY_BYTES + 1), { "content-type": "multipart/form-data; boundary=b" })).status).toBe(413);
    const multipart = { "content-type": "multipart/form-data; boundary=b", authorization: `Bearer ${key}` };
    // Past 1 MB a known caller's body reaches the route, which finds no form in it.
    expect((await post("/api/knowledge/upload", "x".repeat(2 * MAX_BODY_BYTES), multipart)).status).toBe(400);
    expect((await post("/api/knowledge/upload", "x".repeat(MAX_DOCUMENT_BODY_BYTES + 1), multipart)).status).toBe(413);
  });

  it(`takes a batch of ${MAX_BATCH_CALLS} calls and refuses one more with BAD_REQUEST`, async () => {
    const batch = (n: number) => fetch(`${server.url}/api/trpc/${Array(n).fill("auth.me").join(",")}?batch=1`, { headers: { authorization: `Bearer ${key}` } });
    const full = await batch(MAX_BATCH_CALLS);
    expect(full.status).toBe(200);
    expect(await full.json()).toHaveLength(MAX_BATCH_CALLS);
    const over = await batch(MAX_BATCH_CALLS + 1);
    expect(over.status).toBe(400);
    expect(JSON.stringify(await over.json())).toContain("BAD_REQUEST");
  });

  it(`the SDK splits more than ${MAX_BATCH_CALLS} calls made at once into batches the server takes`, async () => {
    const client = createParleyClient({ url: server.url, apiKey: key });
    const results = await Promise.all(Array.from({ length: MAX_BATCH_CALLS * 2 + 1 }, () => client.auth.me.query()));
    expect(results).toHaveLength(MAX_BATCH_CALLS * 2 + 1);
    expect(new Set(results.map((r) => r.user.id)).size).toBe(1);
  });
});
