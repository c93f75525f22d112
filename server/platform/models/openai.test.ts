import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { isInfrastructureError } from "../errors";
import { startFakeOpenAI, type FakeOpenAI } from "../../testing/fakeOpenai";
import { MAX_EVENT_CHARS } from "./chatStream";
import { createOpenAIModel } from "./openai";
import type { ChatModel, GenerationChunk } from "./types";

let server: FakeOpenAI;
let model: ChatModel;

beforeAll(async () => {
  server = await startFakeOpenAI();
  model = createOpenAIModel({ baseURL: server.baseURL, apiKey: "test-key", model: "fake-chat" });
});
afterAll(() => server.close());
afterEach(() => vi.unstubAllEnvs());

const question = [{ role: "user" as const, content: "How do answers stream?" }];

async function collect(chunks: AsyncIterable<GenerationChunk>) {
  const got: GenerationChunk[] = [];
  for await (const chunk of chunks) got.push(chunk);
  return got;
}

const text = (chunks: GenerationChunk[]) => chunks.map((c) => (c.type === "delta" ? c.text : "")).join("");
const streamOf = (m: ChatModel) => collect(m.stream({ messages: question, references: [], signal: new AbortController().signal }));

/** Raw server-sent events, for replies the fake's scripts cannot make. */
const event = (data: unknown) => `data: ${JSON.stringify(data)}\n\n`;
const delta = (content: string) => event({ object: "chat.completion.chunk", choices: [{ index: 0, delta: { content }, finish_reason: null }] });
const stop = event({ object: "chat.completion.chunk", choices: [{ index: 0, delta: {}, finish_reason: "stop" }] });

describe("createOpenAIModel", () => {
  it("gives up on a server that does not answer within timeoutMs: streams and whole completions alike, closing the request", async () => {
    const impatient = createOpenAIModel({ baseURL: server.baseURL, apiKey: "test-key", model: "fake-chat", timeoutMs: 300 });
    server.reply({ text: "too late", responseDelayMs: 5_000 });
    for (const call of [
      () => collect(impatient.stream({ messages: question, references: [], signal: new AbortController().signal })),
      () => impatient.complete({ messages: question, signal: new AbortController().signal }),
    ]) {
      const started = Date.now();
      await expect(call()).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(await server.requests.at(-1)!.closed).toBe("closed_early");
    }
  });

  it("streams deltas that concatenate to the reply, then the usage chunk", async () => {
    const reply = "Answers stream as events, a few words at a time.";
    server.reply({ text: reply, usage: { prompt_tokens: 17, completion_tokens: 11 } });
    const chunks = await collect(model.stream({ messages: question, references: [], signal: new AbortController().signal }));

    expect(model).toMatchObject({ name: "fake-chat", offline: false });
    expect(chunks.filter((c) => c.type === "delta").length).toBe(10);
    expect(text(chunks)).toBe(reply);
    expect(chunks.at(-1)).toEqual({ type: "usage", usage: { promptTokens: 17, completionTokens: 11, totalTokens: 28 } });

    const request = server.requests.at(-1)!;
    expect(request.path).toBe("/v1/chat/completions");
    expect(request.headers.authorization).toBe("Bearer test-key");
    expect(request.headers["content-type"]).toBe("application/json");
    expect(request.headers.accept).toBe("text/event-stream");
    expect(request.body).toMatchObject({ model: "fake-chat", stream: true, stream_options: { include_usage: true }, messages: question });
  });

  it("keeps every delta, in order, of a reply sent far faster than its reader takes it (the response pauses while the reader is behind)", async () => {
    const reply = Array.from({ length: 2_000 }, (_, i) => `w${i} `).join("");
    server.reply({ text: reply });
    const deltas: string[] = [];
    for await (const chunk of model.stream({ messages: question, references: [], signal: new AbortController().signal })) {
      if (chunk.type === "delta") deltas.push(chunk.text);
      // A slow reader: the reply is all sent long before it has read the first few hundred deltas.
      if (deltas.length % 100 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(deltas).toHaveLength(2_000);
    expect(deltas.join("")).toBe(reply);
  });

  it("forwards sampling options, leaving out a top_p or seed of 0", async () => {
    server.reply({ text: "ok" });
    const signal = new AbortController().signal;
    const options = { messages: question, references: [], signal };
    await collect(model.stream({ ...options, temperature: 0.3, maxTokens: 512, topP: 0.9, seed: 7, frequencyPenalty: 0.5, presencePenalty: -0.25 }));
    expect(server.requests.at(-1)!.body).toMatchObject({
      temperature: 0.3,
      max_tokens: 512,
      top_p: 0.9,
      seed: 7,
      frequency_penalty: 0.5,
      presence_penalty: -0.25,
    });

    await collect(model.stream({ ...options, temperature: 0, topP: 0, seed: 0 }));
    const body = server.requests.at(-1)!.body;
    expect(body.temperature).toBe(0);
    for (const absent of ["top_p", "seed", "max_tokens", "frequency_penalty", "presence_penalty", "max_completion_tokens"]) {
      expect(body).not.toHaveProperty(absent);
    }
  });

  it("stops promptly when aborted, and the server sees the connection close", async () => {
    server.reply({ text: "word ".repeat(200), chunkDelayMs: 20 });
    const controller = new AbortController();
    const deltas: string[] = [];
    const started = Date.now();
    const run = (async () => {
      for await (const chunk of model.stream({ messages: question, references: [], signal: controller.signal })) {
        if (chunk.type === "delta") deltas.push(chunk.text);
        if (deltas.length === 3) controller.abort();
      }
    })();

    await expect(run).rejects.toMatchObject({ name: "AbortError" });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(deltas).toHaveLength(3);
    const request = server.requests.at(-1)!;
    expect(await request.closed).toBe("closed_early");
    expect(request.chunksSent).toBeLessThan(20);
  });

  it("closes the connection when the caller stops reading", async () => {
    server.reply({ text: "word ".repeat(200), chunkDelayMs: 20 });
    for await (const chunk of model.stream({ messages: question, references: [], signal: new AbortController().signal })) {
      if (chunk.type === "delta") break;
    }
    expect(await server.requests.at(-1)!.closed).toBe("closed_early");
  });

  it("throws after the first deltas when the connection drops mid-stream, without retrying", async () => {
    server.reply({ text: "one two three four five six", failAfterChunks: 2, failWith: "disconnect" });
    const before = server.requests.length;
    const deltas: string[] = [];
    const run = (async () => {
      for await (const chunk of model.stream({ messages: question, references: [], signal: new AbortController().signal })) {
        if (chunk.type === "delta") deltas.push(chunk.text);
      }
    })();
    await expect(run).rejects.toThrow();
    expect(deltas.join("")).toBe("one two ");
    expect(server.requests.length - before).toBe(1);
  });

  it("throws on an error event mid-stream", async () => {
    server.reply({ text: "one two three four", failAfterChunks: 1, failWith: "error-event" });
    const before = server.requests.length;
    const deltas: string[] = [];
    const run = (async () => {
      for await (const chunk of model.stream({ messages: question, references: [], signal: new AbortController().signal })) {
        if (chunk.type === "delta") deltas.push(chunk.text);
      }
    })();
    await expect(run).rejects.toThrow(/scripted failure mid-stream/);
    expect(deltas).toEqual(["one "]);
    expect(server.requests.length - before).toBe(1);
  });

  it("throws when the reply ends cleanly before the model finished", async () => {
    server.reply({ text: "one two three", failAfterChunks: 2, failWith: "end" });
    await expect(collect(model.stream({ messages: question, references: [], signal: new AbortController().signal }))).rejects.toThrow(
      /ended before the answer was finished/,
    );
  });

  it("throws on HTTP errors (401, 500) without retrying a stream", async () => {
    for (const status of [401, 500]) {
      server.reply({ status });
      const before = server.requests.length;
      await expect(collect(model.stream({ messages: question, references: [], signal: new AbortController().signal }))).rejects.toMatchObject({
        status,
        message: `${status} scripted failure ${status}`,
      });
      expect(server.requests.length - before).toBe(1);
    }
  });

  it("gives a stream the whole timeoutMs to begin only: tokens may then come slower than that", async () => {
    const impatient = createOpenAIModel({ baseURL: server.baseURL, apiKey: "test-key", model: "fake-chat", timeoutMs: 300 });
    server.reply({ text: "one two three four five", chunkDelayMs: 120 });
    expect(text(await streamOf(impatient))).toBe("one two three four five");
  });

  it("finds the server as the SDK would: a baseURL with or without its trailing slash, else OPENAI_BASE_URL, with OPENAI_ORG_ID and OPENAI_PROJECT_ID sent", async () => {
    server.reply({ text: "found" });
    const slashed = createOpenAIModel({ baseURL: `${server.baseURL}/`, apiKey: "test-key", model: "fake-chat" });
    expect(text(await streamOf(slashed))).toBe("found");
    expect(server.requests.at(-1)!.path).toBe("/v1/chat/completions");

    vi.stubEnv("OPENAI_BASE_URL", server.baseURL);
    vi.stubEnv("OPENAI_ORG_ID", "org-parley");
    vi.stubEnv("OPENAI_PROJECT_ID", "proj-answers");
    const fromEnv = createOpenAIModel({ model: "fake-chat" });
    expect(text(await streamOf(fromEnv))).toBe("found");
    const request = server.requests.at(-1)!;
    expect(request.path).toBe("/v1/chat/completions");
    expect(request.headers).toMatchObject({ authorization: "Bearer none", "openai-organization": "org-parley", "openai-project": "proj-answers" });
  });

  it("streams one after another over one kept-alive connection", async () => {
    server.reply({ text: "again and again" });
    await streamOf(model);
    // The stream is over at [DONE]; its connection is free once the reply's end is read too.
    await server.requests.at(-1)!.closed;
    await new Promise((resolve) => setTimeout(resolve, 20));
    await streamOf(model);
    const [first, second] = server.requests.slice(-2);
    expect(second!.remotePort).toBe(first!.remotePort);
  });

  it("keeps a word whose UTF-8 bytes arrive in two reads whole", async () => {
    const bytes = Buffer.from(delta("héllo wörld"));
    const cut = bytes.indexOf(Buffer.from("é")) + 1;
    server.reply({ raw: { writes: [bytes.subarray(0, cut), bytes.subarray(cut), stop, "data: [DONE]\n\n"] } });
    expect(text(await streamOf(model))).toBe("héllo wörld");
  });

  it("ends the stream at data: [DONE], ignoring what follows, and drops a connection the server keeps open after it", async () => {
    server.reply({ raw: { writes: [delta("Done "), delta("here."), stop, "data: [DONE]\n\n", delta(" Ignored.")], keepOpen: true } });
    const started = Date.now();
    expect(text(await streamOf(model))).toBe("Done here.");
    expect(Date.now() - started).toBeLessThan(500);
    expect(await server.requests.at(-1)!.closed).toBe("closed_early");
  });

  it("throws when data: [DONE] comes before any finish_reason", async () => {
    server.reply({ raw: { writes: [delta("Half "), "data: [DONE]\n\n"] } });
    await expect(streamOf(model)).rejects.toThrow(/ended before the answer was finished/);
  });

  it("throws on an event that is not JSON, after the deltas before it, and closes the connection", async () => {
    server.reply({ raw: { writes: [delta("Before "), "data: {not json\n\n", delta("after.")], keepOpen: true } });
    const deltas: string[] = [];
    const run = (async () => {
      for await (const chunk of model.stream({ messages: question, references: [], signal: new AbortController().signal })) {
        if (chunk.type === "delta") deltas.push(chunk.text);
      }
    })();
    await expect(run).rejects.toThrow(/not JSON: \{not json/);
    expect(deltas).toEqual(["Before "]);
    expect(await server.requests.at(-1)!.closed).toBe("closed_early");
  });

  it("throws on an SSE error event with its message", async () => {
    server.reply({ raw: { writes: [delta("Before "), `event: error\ndata: ${JSON.stringify({ message: "model overloaded" })}\n\n`] } });
    await expect(streamOf(model)).rejects.toThrow("model overloaded");
  });

  it("throws rather than buffer an event longer than MAX_EVENT_CHARS, and closes the connection", async () => {
    server.reply({ raw: { writes: [delta("Before "), `data: "${"x".repeat(MAX_EVENT_CHARS + 100_000)}`], keepOpen: true } });
    await expect(streamOf(model)).rejects.toThrow(/event longer than/);
    expect(await server.requests.at(-1)!.closed).toBe("closed_early");
  });

  it("when aborted, gives none of the chunks it read ahead: the next read throws the abort's reason", async () => {
    // One write: the three arrive together, the first is taken, the other two wait, read ahead.
    server.reply({ raw: { writes: [delta("One ") + delta("two ") + delta("three ")], keepOpen: true } });
    const controller = new AbortController();
    const chunks = model.stream({ messages: question, references: [], signal: controller.signal })[Symbol.asyncIterator]();
    expect(await chunks.next()).toEqual({ value: { type: "delta", text: "One " }, done: false });
    controller.abort("user");
    await expect(chunks.next()).rejects.toBe("user");
    expect(await server.requests.at(-1)!.closed).toBe("closed_early");
  });

  it("stops promptly when aborted before the response begins, throwing the abort's reason", async () => {
    server.reply({ text: "too late", responseDelayMs: 5_000 });
    const controller = new AbortController();
    setTimeout(() => controller.abort("shutdown"), 50);
    const started = Date.now();
    await expect(collect(model.stream({ messages: question, references: [], signal: controller.signal }))).rejects.toBe("shutdown");
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(await server.requests.at(-1)!.closed).toBe("closed_early");
  });

  it("throws a model failure, not a backing-service one, when the server refuses the connection", async () => {
    const unreachable = createOpenAIModel({ baseURL: "http://127.0.0.1:9/v1", apiKey: "test-key", model: "nowhere" });
    const error = await streamOf(unreachable).catch((e: unknown) => e);
    expect(error).toMatchObject({ message: "Connection error (ECONNREFUSED)." });
    expect(isInfrastructureError(error)).toBe(false);
  });

  it("complete() returns the whole reply from a non-streaming call", async () => {
    server.reply({ text: "Streaming answers in Parley" });
    const title = await model.complete({ messages: question, maxTokens: 40, temperature: 0.2, signal: new AbortController().signal });
    expect(title).toBe("Streaming answers in Parley");
    const body = server.requests.at(-1)!.body;
    expect(body).toMatchObject({ model: "fake-chat", max_tokens: 40, temperature: 0.2 });
    expect(body.stream).toBeFalsy();
  });

  it("complete() rejects when the server fails", async () => {
    server.reply({ status: 401 });
    await expect(model.complete({ messages: question, signal: new AbortController().signal })).rejects.toMatchObject({ status: 401 });
  });
});
