import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEmbedder, createOfflineEmbedder, createOpenAIEmbedder, OFFLINE_EMBEDDER_ID } from "./embed";

const dot = (a: number[], b: number[]) => a.reduce((sum, x, i) => sum + x * b[i]!, 0);

describe("the offline embedder", () => {
  const embedder = createOfflineEmbedder();

  it("gives deterministic unit vectors of 256 dimensions", async () => {
    const [a, b] = await embedder.embed(["How do I scale Parley out?", "How do I scale Parley out?"]);
    expect(a).toHaveLength(256);
    expect(Math.hypot(...a!)).toBeCloseTo(1, 6);
    expect(a).toEqual(b);
    expect(embedder).toMatchObject({ id: OFFLINE_EMBEDDER_ID, fullMatchCosine: 0.6 });
  });

  it("embeds a batch a text per turn of the event loop, so a batch of long texts never holds it", async () => {
    const text = "Deploying a release means tagging the build and running the deploy tool. ".repeat(80);
    let turns = 0;
    let spinning = true;
    const spin = () => {
      if (!spinning) return;
      turns++;
      setImmediate(spin);
    };
    setImmediate(spin);
    const vectors = await embedder.embed(Array.from({ length: 20 }, (_, i) => `${text} ${i}`));
    spinning = false;
    expect(vectors).toHaveLength(20);
    // The loop turned between every two texts (before, it turned only once the whole batch was done).
    expect(turns).toBeGreaterThanOrEqual(19);
  });

  it("finds texts about the same thing more alike than unrelated ones, with no word in common", async () => {
    const [question, related, unrelated] = await embedder.embed([
      "What does the employee earn?",
      "The worker's salary and wages are paid monthly.",
      "The river flooded the valley after heavy rain.",
    ]);
    expect(dot(question!, related!)).toBeGreaterThan(dot(question!, unrelated!) + 0.1);
  });

  it("matches words its vocabulary lacks through their stems", async () => {
    const [question, match, other] = await embedder.embed(["pgvector setup", "Installing pgvector on the server", "Installing the server"]);
    expect(dot(question!, match!)).toBeGreaterThan(dot(question!, other!));
  });

  it("gives Chinese text meaningful vectors: a question is nearest the passage that answers it", async () => {
    const [question, answer, other, english] = await embedder.embed([
      "会话上下文的过期时间是多久？",
      "会话上下文存储在Redis中，带TTL过期策略，默认24小时后过期。",
      "客户端SDK提供会话批量查询与标题生成的方法。",
      "How long is the session context kept?",
    ]);
    expect(question!.some((x) => x !== 0)).toBe(true);
    expect(question).toHaveLength(256);
    expect(dot(question!, answer!)).toBeGreaterThan(dot(question!, other!) + 0.1);
    expect(dot(question!, english!)).toBeLessThan(dot(question!, answer!));
  });

  it("embeds an empty or all-stop-word text as a zero vector instead of failing", async () => {
    const [empty] = await embedder.embed(["the of and"]);
    expect(empty!.every((x) => x === 0)).toBe(true);
  });
});

describe("an OpenAI-compatible embedder", () => {
  let server: ReturnType<typeof createServer>;
  let baseURL: string;
  const requests: { model: string; input: string[] }[] = [];

  beforeAll(async () => {
    // eslint-disable-next-line @typescript-eslint/no-misused-promises -- Node ignores the promise: a failing handler is an unhandled rejection that fails the test, as it should
    server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { model: string; input: string[] };
      requests.push(body);
      if (req.url !== "/v1/embeddings") return res.writeHead(404).end();
      // Out of order, unnormalised, as servers may send them.
      const data = body.input.map((text, index) => ({ object: "embedding", index, embedding: [text.length, 2, 0] })).reverse();
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ object: "list", data, model: body.model, usage: { prompt_tokens: 1, total_tokens: 1 } }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("is used when PARLEY_EMBEDDING_MODEL is set, and the offline one otherwise", () => {
    expect(createEmbedder({ OPENAI_BASE_URL: baseURL, PARLEY_EMBEDDING_MODEL: "nomic-embed-text" }).id).toBe("openai:nomic-embed-text");
    expect(createEmbedder({ OPENAI_BASE_URL: baseURL }).id).toBe(OFFLINE_EMBEDDER_ID);
  });

  it("sends texts in batches and returns unit vectors in input order", async () => {
    const embedder = createOpenAIEmbedder({ baseURL, apiKey: "k", model: "m" });
    const texts = Array.from({ length: 70 }, (_, i) => "x".repeat(i + 1));
    const vectors = await embedder.embed(texts);
    expect(requests.map((r) => r.input.length)).toEqual([64, 6]);
    expect(requests[0]!.model).toBe("m");
    expect(vectors).toHaveLength(70);
    expect(vectors[0]).toEqual([1 / Math.hypot(1, 2), 2 / Math.hypot(1, 2), 0]);
    expect(vectors[69]![0]).toBeCloseTo(70 / Math.hypot(70, 2), 10);
    expect(embedder.fullMatchCosine).toBe(1);
  });
});
