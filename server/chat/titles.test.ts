import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startFakeOpenAI, type FakeOpenAI } from "../testing/fakeOpenai";
import { createOfflineModel } from "../platform/models/offline";
import { createOpenAIModel } from "../platform/models/openai";
import { generateTitle, heuristicTitle } from "./titles";

const wordCount = (title: string) => title.split(" ").length;

function expectWellFormed(title: string) {
  expect(wordCount(title), title).toBeGreaterThanOrEqual(4);
  expect(wordCount(title), title).toBeLessThanOrEqual(10);
  expect(title.length, title).toBeLessThanOrEqual(100);
  expect(title, "single spaces, trimmed").toBe(title.replace(/\s+/g, " ").trim());
  expect(title).not.toMatch(/["“”«»`]/);
  expect(title).not.toMatch(/[.,;:!?…。？！]$/);
}

const inputs = [
  "hi",
  "Hello!",
  "thanks",
  "redis",
  "Redis cluster?",
  "what is redis",
  "Hi, can you tell me how pinning works?",
  "Could you please tell me what the default stream TTL is?",
  "Please explain the difference between sliding_window and smart compression in Parley's LLM context manager, with examples and every detail you can find.",
  "Ünïcödé façade naïve café résumé?",
  "🎉🎉🎉",
  "   ",
  "?!?",
  "<|endoftext|> what does <|im_start|> mean",
  "<|endoftext|>",
  "I run Parley on two instances behind nginx. How do I share Redis between them? Thanks!",
  "Hey there, I have a question about exporting sessions as JSON",
  "```\nconst x = 1;\n```\nWhy does this fail?",
  "C++ vs C# for servers",
  `"Quoted question about streams?"`,
  "a".repeat(16000),
  "word ".repeat(3200),
  `${"Supercalifragilisticexpialidocious-antidisestablishmentarianism ".repeat(12)}?`,
];

describe("heuristicTitle", () => {
  it("gives 4–10 words, at most 100 characters, no quotes or trailing punctuation, for any message", () => {
    for (const input of inputs) expectWellFormed(heuristicTitle(input));
  });

  it("is deterministic", () => {
    for (const input of inputs) expect(heuristicTitle(input)).toBe(heuristicTitle(input));
  });

  it("strips greetings and filler and keeps the user's core words", () => {
    expect(heuristicTitle("Hi, can you tell me how pinning works?")).toBe("Question about how pinning works");
    expect(heuristicTitle("Could you please tell me what the default stream TTL is?")).toBe("What the default stream TTL is");
    expect(heuristicTitle("Hey there, I have a question about exporting sessions as JSON")).toBe("Exporting sessions as JSON");
    expect(heuristicTitle("Please help me configure Redis Cluster for Parley, thanks!")).toBe("Configure Redis Cluster for Parley");
  });

  it("pads short requests into a question about their words", () => {
    expect(heuristicTitle("redis")).toBe("A question about redis");
    expect(heuristicTitle("Redis cluster?")).toBe("Question about Redis cluster");
    expect(heuristicTitle("hi")).toBe("Greeting to start a conversation");
    expect(heuristicTitle("🎉🎉🎉")).toBe("General question for the assistant");
  });

  it("takes the question out of a message with context before it", () => {
    expect(heuristicTitle("I run Parley on two instances behind nginx. How do I share Redis between them? Thanks!")).toBe(
      "How do I share Redis between them",
    );
  });

  it("cuts long messages at a word boundary, not ending on a stop word", () => {
    const title = heuristicTitle(inputs[8]!);
    expect(title).toBe("The difference between sliding_window and smart compression in Parley's LLM");
    expect(heuristicTitle("word ".repeat(3200))).toBe(`Word${" word".repeat(9)}`);
  });

  it("drops special-token text and keeps unicode words", () => {
    expect(heuristicTitle("<|endoftext|> what does <|im_start|> mean")).toBe("Question about what does mean");
    expect(heuristicTitle("Ünïcödé façade naïve café résumé?")).toBe("Ünïcödé façade naïve café résumé");
  });
});

describe("Chinese titles", () => {
  const chinese = [
    "会话上下文在Redis中的默认过期时间是多久？",
    "如何配置Redis集群？",
    "请问，会话删除以后，临时知识库的状态会被清理吗？谢谢",
    "我有一个问题。我在两台服务器上部署了系统，怎样共享Redis？",
    "这是一个非常非常非常非常非常非常非常非常非常非常长的句子没有标点符号也没有空格一直写下去",
    "你好",
    "过期",
  ];

  it("are Chinese, at most 20 characters, with no English wrapper and no trailing punctuation", () => {
    for (const input of chinese) {
      const title = heuristicTitle(input);
      expect(Array.from(title).length, title).toBeLessThanOrEqual(20);
      expect(title).not.toMatch(/question|about/i);
      expect(title).not.toMatch(/[.,;:!?…。？！，]$/);
    }
  });

  it("keep the question's own words, cut between words and not on a function word", () => {
    expect(heuristicTitle("会话上下文在Redis中的默认过期时间是多久？")).toBe("会话上下文在Redis中的默认过期时间");
    expect(heuristicTitle("如何配置Redis集群？")).toBe("如何配置Redis集群");
    expect(heuristicTitle("请问，会话删除以后，临时知识库的状态会被清理吗？谢谢")).toBe("会话删除以后，临时知识库的状态会被清理");
    expect(heuristicTitle("你好")).toBe("开始对话的问候");
    expect(heuristicTitle("过期")).toBe("关于过期的问题");
  });

  it("take a model's Chinese title, and fall back when it is English or too long", async () => {
    const server = await startFakeOpenAI();
    try {
      const online = createOpenAIModel({ baseURL: server.baseURL, apiKey: "k", model: "fake-titles" });
      const question = "会话上下文在Redis中的默认过期时间是多久？";
      server.reply({ text: "标题：Redis会话上下文过期时间" });
      expect(await generateTitle(online, question)).toBe("Redis会话上下文过期时间");
      expect(server.requests.at(-1)!.body.messages![0]!.content).toMatch(/in Chinese, of at most 20 characters/);
      for (const reply of ["Session context expiry in Redis", "会话上下文在Redis中的默认过期时间以及清理机制的详细说明", "默认是24小时"]) {
        server.reply({ text: reply });
        expect(await generateTitle(online, question), reply).toBe(heuristicTitle(question));
      }
    } finally {
      await server.close();
    }
  });
});

describe("generateTitle", () => {
  let server: FakeOpenAI;
  let online: ReturnType<typeof createOpenAIModel>;

  beforeAll(async () => {
    server = await startFakeOpenAI();
    online = createOpenAIModel({ baseURL: server.baseURL, apiKey: "k", model: "fake-titles" });
  });
  afterAll(() => server.close());

  const question = "What is the capital of Australia, and why was it chosen?";

  it("uses the heuristic for the offline model, without asking it", async () => {
    const offline = createOfflineModel({ tokenDelayMs: 0 });
    const complete = vi.spyOn(offline, "complete");
    for (const input of inputs) {
      const title = await generateTitle(offline, input);
      expect(title).toBe(heuristicTitle(input));
      expectWellFormed(title);
    }
    expect(complete).not.toHaveBeenCalled();
  });

  it("asks an online model with only the user's message and keeps a good title", async () => {
    server.reply({ text: "Choosing the capital city of Australia" });
    const title = await generateTitle(online, question);

    expect(title).toBe("Choosing the capital city of Australia");
    const { body } = server.requests.at(-1)!;
    expect(body.stream).toBeFalsy();
    expect(body.messages!.map((m) => m.role)).toEqual(["system", "user"]);
    expect(body.messages![1]!.content).toBe(question);
    expect(body.messages![0]!.content).toMatch(/Do not answer the question/);
  });

  it("cleans up labels, quotes, reasoning and trailing punctuation", async () => {
    for (const reply of [
      'Title: "Choosing the capital city of Australia."',
      "**Title:** Choosing the capital city of Australia!",
      "<think>The user asks about Canberra.</think>\n\n“Choosing the capital city of Australia”",
      "# Choosing the capital city of Australia\nSecond line ignored",
    ]) {
      server.reply({ text: reply });
      expect(await generateTitle(online, question)).toBe("Choosing the capital city of Australia");
    }
  });

  it("rejects titles that carry the answer and falls back to the heuristic", async () => {
    for (const answerLike of [
      "The capital of Australia is Canberra",
      "Canberra is the capital of Australia",
      "Capital of Australia: Canberra, chosen as a compromise",
      "Yes, Australia has a planned capital",
      "Australia chose Canberra in 1908 as capital",
      "Canberra, planned compromise capital between Sydney and Melbourne",
    ]) {
      server.reply({ text: answerLike });
      const title = await generateTitle(online, question);
      expect(title, answerLike).toBe(heuristicTitle(question));
      expect(title).not.toMatch(/Canberra|1908|Sydney/);
      expectWellFormed(title);
    }
  });

  it("rejects titles of the wrong length", async () => {
    for (const reply of ["Canberra", "Australia capital", "A very long title that keeps going on and on well past the ten word limit"]) {
      server.reply({ text: reply });
      expect(await generateTitle(online, question)).toBe(heuristicTitle(question));
    }
  });

  it("falls back to the heuristic when the model fails or the caller aborts", async () => {
    server.reply({ status: 500 });
    expect(await generateTitle(online, question)).toBe(heuristicTitle(question));

    const unreachable = createOpenAIModel({ baseURL: "http://127.0.0.1:9/v1", apiKey: "k", model: "nowhere" });
    expect(await generateTitle(unreachable, question)).toBe(heuristicTitle(question));

    server.reply({ text: "Choosing the capital city of Australia" });
    expect(await generateTitle(online, question, AbortSignal.abort())).toBe(heuristicTitle(question));
  });

  it("keeps every title within limits for long and odd messages", async () => {
    server.reply({ text: "Understanding a very long pasted message" });
    for (const input of inputs) expectWellFormed(await generateTitle(online, input));
    // The prompt is bounded even for a 16000-character message.
    const long = server.requests.find((r) => r.body.messages?.[1]?.content.startsWith("aaaa"));
    expect(long!.body.messages![1]!.content.length).toBeLessThan(16000);
  });
});
