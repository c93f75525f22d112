import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeOpenAI, type FakeOpenAI } from "../../testing/fakeOpenai";
import { createOpenAIModel } from "./openai";
import type { ChatModel, GenerationChunk } from "./types";

let server: FakeOpenAI;
let model: ChatModel;

beforeAll(async () => {
  server = await startFakeOpenAI();
  model = createOpenAIModel({ baseURL: server.baseURL, apiKey: "test-key", model: "fake-chat" });
});
afterAll(() => server.close());

const question = [{ role: "user" as const, content: "How do answers stream?" }];

async function collect(chunks: AsyncIterable<GenerationChunk>) {
  const got: GenerationChunk[] = [];
  for await (const chunk of chunks) got.push(chunk);
  return got;
}

const text = (chunks: GenerationChunk[]) => chunks.map((c) => (c.type === "delta" ? c.text : "")).join("");

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
    expect(request.headers.authorization).toBe("Bearer test-key");
    expect(request.body).toMatchObject({ model: "fake-chat", stream: true, stream_options: { include_usage: true }, messages: question });
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
      });
      expect(server.requests.length - before).toBe(1);
    }
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
