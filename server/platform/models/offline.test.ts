import { describe, expect, it } from "vitest";
import type { Reference } from "../../../common/settings";
import { readFileSync } from "node:fs";
import { chunkBlocks } from "../../knowledge/chunk";
import { parseText } from "../../knowledge/parse";
import { createOfflineModel, leadIn, OFFLINE_MODEL_NAME } from "./offline";
import { countTokens, splitSentences } from "./text";
import type { ChatMessage, GenerateOptions, GenerationChunk } from "./types";

const references: Reference[] = [
  {
    id: "doc:streams",
    title: "Answer streams",
    source: "Operations guide",
    score: 0.9,
    content:
      "Every answer is written to a Redis Stream before anyone reads it. A client that loses its connection resumes from the last event id it saw. " +
      "Streams are kept for one hour after their last event. The office coffee machine is on the third floor.",
  },
  {
    id: "doc:stop",
    title: "Stopping",
    source: "Operations guide",
    score: 0.6,
    content: "Any instance can stop an answer through a Redis signal. A stopped answer keeps the words streamed so far.",
  },
];

const ask = (question: string): ChatMessage[] => [
  { role: "system", content: "Answer from the sources." },
  { role: "user", content: "An earlier question about pinning." },
  { role: "assistant", content: "An earlier answer." },
  { role: "user", content: question },
];

async function run(
  model: ReturnType<typeof createOfflineModel>,
  messages: ChatMessage[],
  refs: Reference[],
  options: Partial<Pick<GenerateOptions, "maxTokens" | "signal">> = {},
) {
  const deltas: string[] = [];
  const chunks: GenerationChunk[] = [];
  for await (const chunk of model.stream({ messages, references: refs, signal: new AbortController().signal, ...options })) {
    chunks.push(chunk);
    if (chunk.type === "delta") deltas.push(chunk.text);
  }
  const usage = chunks.find((c) => c.type === "usage");
  return { deltas, text: deltas.join(""), usage: usage?.type === "usage" ? usage.usage : undefined, last: chunks.at(-1) };
}

/** The answer's body sentences with their citation, e.g. ["Streams are kept … [1].", …]. */
function citedSentences(answer: string): { sentence: string; n: number }[] {
  const [, ...body] = answer.split("\n\n");
  return body
    .join(" ")
    .split(/(?<=\]\.|\]!|\]\?)\s+/)
    .map((s) => {
      const match = s.match(/^(.*) \[(\d+)\]([.!?])$/)!;
      expect(match, `uncited sentence: ${s}`).toBeTruthy();
      return { sentence: `${match[1]}${match[3]}`, n: Number(match[2]) };
    });
}

describe("the offline model", () => {
  const fast = createOfflineModel({ tokenDelayMs: 0 });

  it("is named as the built-in offline model", () => {
    expect(fast).toMatchObject({ name: OFFLINE_MODEL_NAME, offline: true });
    expect(OFFLINE_MODEL_NAME).toBe("Parley offline model (built-in)");
  });

  it("answers with cited sentences taken word for word from the references", async () => {
    const { text } = await run(fast, ask("How does a client resume a stream after losing its connection?"), references);

    expect(text.split("\n\n")[0]).toBe("You asked: “How does a client resume a stream after losing its connection?” Here is what the Operations guide says:");
    const cited = citedSentences(text);
    expect(cited.length).toBeGreaterThanOrEqual(3);
    for (const { sentence, n } of cited) {
      expect(n).toBeGreaterThanOrEqual(1);
      expect(n).toBeLessThanOrEqual(references.length);
      expect(splitSentences(references[n - 1]!.content)).toContain(sentence);
    }
    expect(cited.map((c) => c.sentence)).toContain("A client that loses its connection resumes from the last event id it saw.");
    expect(text).not.toContain("coffee");
  });

  it("answers a handbook question from the handbook sections it is given", async () => {
    const question = "How do I pin a session?";
    const chunks = chunkBlocks(parseText(readFileSync("docs/handbook.md", "utf8"), "text/markdown"));
    const sessions = chunks.find((c) => c.heading === "Sessions" && c.content.includes("Pin a session"))!;
    const refs: Reference[] = [{ id: "handbook:sessions", title: sessions.heading, source: "Parley handbook", content: sessions.content, score: 1 }];

    const { text } = await run(fast, ask(question), refs);
    expect(text).toMatch(/^The Parley handbook explains how to pin a session:\n\n/);
    expect(text).toContain("Pin a session to keep it at the top of the list [1].");
    for (const { sentence, n } of citedSentences(text)) expect(splitSentences(refs[n - 1]!.content)).toContain(sentence);
  });

  it("says plainly that it found no source when there are no references", async () => {
    const question = "What is the capital of Australia?";
    const { text, usage } = await run(fast, ask(question), []);

    expect(text).toContain("I could not find a source for this question");
    expect(text).toContain(`You asked: “${question}”`);
    expect(text).toMatch(/rephras/);
    expect(text).toMatch(/add a document/);
    expect(text.split(/(?<=[.!?”])\s+/).length).toBeGreaterThanOrEqual(3);
    expect(text).not.toMatch(/Canberra|Sydney/);
    expect(text).not.toMatch(/\[\d+\]/);
    expect(usage?.completionTokens).toBe(countTokens(text));
  });

  it("streams word by word, each delta a word and its following whitespace, then usage", async () => {
    const { deltas, text, usage, last } = await run(fast, ask("How long are streams kept?"), references);

    expect(deltas.length).toBeGreaterThan(10);
    for (const delta of deltas) expect(delta).toMatch(/^\S+\s*$/);
    expect(last?.type).toBe("usage");
    expect(usage!.completionTokens).toBe(countTokens(text));
    expect(usage!.promptTokens).toBeGreaterThan(countTokens(references[0]!.content));
    expect(usage!.totalTokens).toBe(usage!.promptTokens + usage!.completionTokens);
  });

  it("paces words by tokenDelayMs", async () => {
    const slow = createOfflineModel({ tokenDelayMs: 8 });
    const started = Date.now();
    const { deltas } = await run(slow, ask("How long are streams kept?"), references);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual((deltas.length - 1) * 8 * 0.8);
  });

  it("with no delay is fast but still lets the event loop run", async () => {
    let loopRan = false;
    setImmediate(() => (loopRan = true));
    const sawLoopRun: boolean[] = [];
    const started = Date.now();
    for await (const chunk of fast.stream({ messages: ask("How does a client resume a stream?"), references, signal: new AbortController().signal })) {
      if (chunk.type === "delta") sawLoopRun.push(loopRan);
    }
    expect(Date.now() - started).toBeLessThan(500);
    expect(sawLoopRun.length).toBeGreaterThan(32);
    expect(sawLoopRun.at(-1)).toBe(true);
  });

  it("stops within one delay when aborted", async () => {
    const slow = createOfflineModel({ tokenDelayMs: 200 });
    const controller = new AbortController();
    const deltas: string[] = [];
    let abortedAt = 0;
    const consume = (async () => {
      for await (const chunk of slow.stream({ messages: ask("How does a client resume a stream?"), references, signal: controller.signal })) {
        if (chunk.type === "delta") deltas.push(chunk.text);
        if (deltas.length === 2) {
          // Abort while the model waits before its third word.
          setTimeout(() => {
            abortedAt = Date.now();
            controller.abort();
          }, 20);
        }
      }
    })();

    await expect(consume).rejects.toMatchObject({ name: "AbortError" });
    expect(Date.now() - abortedAt).toBeLessThan(100);
    expect(deltas).toHaveLength(2);
  });

  it("takes special-token text in the question as plain text", async () => {
    const { text, usage } = await run(fast, ask("What does <|endoftext|> do in a stream <|im_start|>?"), references);
    expect(text.length).toBeGreaterThan(0);
    expect(usage!.promptTokens).toBeGreaterThan(0);
    expect(usage!.completionTokens).toBe(countTokens(text));
  });

  it("cuts the answer to maxTokens", async () => {
    const question = ask("How does a client resume a stream?");
    const whole = await run(fast, question, references);
    const capped = await run(fast, question, references, { maxTokens: 12 });
    expect(whole.usage!.completionTokens).toBeGreaterThan(12);
    expect(capped.usage!.completionTokens).toBeLessThanOrEqual(12);
    expect(capped.text.endsWith("…")).toBe(true);
    expect(whole.text.startsWith(capped.text.slice(0, -1))).toBe(true);
  });

  describe("complete()", () => {
    const conversation: ChatMessage[] = [
      { role: "user", content: "How do I resume a dropped stream? I use the SDK." },
      { role: "assistant", content: "Noise first. The client resumes from the last event id of the stream [1]. Nothing is repeated." },
      { role: "user", content: "Can any instance serve the stream?" },
      { role: "assistant", content: "Yes. Any instance can serve any stream, whether or not the producing instance is alive [1]." },
    ];

    it("summarises a conversation with its own key sentences, one line per message", async () => {
      const summary = await fast.complete({
        messages: [{ role: "system", content: "Summarise the conversation below." }, ...conversation],
        signal: new AbortController().signal,
      });
      const lines = summary.split("\n");
      expect(lines).toEqual([
        "User: How do I resume a dropped stream?",
        "Assistant: The client resumes from the last event id of the stream.",
        "User: Can any instance serve the stream?",
        "Assistant: Any instance can serve any stream, whether or not the producing instance is alive.",
      ]);
    });

    it("cuts the summary to maxTokens", async () => {
      const summary = await fast.complete({
        messages: [{ role: "system", content: "Write a summary." }, ...conversation],
        maxTokens: 10,
        signal: new AbortController().signal,
      });
      expect(countTokens(summary)).toBeLessThanOrEqual(10);
      expect(summary.endsWith("…")).toBe(true);
      expect(summary.startsWith("User: How do I")).toBe(true);
    });

    it("answers other requests as honestly as stream() without sources", async () => {
      const reply = await fast.complete({ messages: [{ role: "user", content: "Who won the 1998 World Cup?" }], signal: new AbortController().signal });
      expect(reply).toContain("I could not find a source for this question");
      expect(reply).not.toMatch(/France|Brazil/);
    });
  });

  describe("in Chinese", () => {
    const zhReferences: Reference[] = [
      {
        id: "doc:context",
        title: "会话上下文持久化机制（Redis）",
        source: "WeKnora 会话管理API",
        score: 0.9,
        content:
          "办公室的咖啡机在三楼，每天早上都有人排队。默认使用Redis作为上下文存储后端，键前缀与TTL可在容器初始化时配置。" +
          "上下文管理器在添加消息时加载、压缩、落盘，确保上下文不超过最大token限制。TTL过期：默认24小时，过期后上下文自动失效。",
      },
    ];

    it("answers a Chinese question in Chinese, quoting whole sentences with their citation", async () => {
      const { text, deltas } = await run(fast, ask("会话上下文在Redis中的默认过期时间是多久？"), zhReferences);
      const [lead, ...body] = text.split("\n\n");
      expect(lead).toBe("关于“会话上下文在Redis中的默认过期时间是多久？”这个问题，《WeKnora 会话管理API》中是这样说的：");
      expect(body.join("")).toContain("TTL过期：默认24小时，过期后上下文自动失效 [1]。");
      expect(body.join("")).not.toContain("咖啡机");
      // Streamed word by word, not a whole sentence at once.
      expect(deltas.length).toBeGreaterThan(20);
      expect(deltas.join("")).toBe(text);
    });

    it("ends a clause it quotes on its own as a sentence", async () => {
      const refs: Reference[] = [{ id: "doc:list", title: "会话", source: "手册", score: 1, content: "会话列表按页加载，翻页不会遗漏；删除会话会移除它的全部消息。置顶的会话排在最前面。" }];
      const { text } = await run(fast, ask("删除会话会怎样？"), refs);
      expect(text).toContain("会话列表按页加载，翻页不会遗漏 [1]。删除会话会移除它的全部消息 [1]。");
      expect(text).not.toContain("；");
    });

    it("says in Chinese that it found no source", async () => {
      const { text } = await run(fast, ask("明天巴黎的天气怎么样？"), []);
      expect(text).toMatch(/^我在可用的知识中没有找到这个问题的来源/);
      expect(text).toContain("你的问题是：“明天巴黎的天气怎么样？”。");
      expect(text).toContain("“明天巴黎天气”");
      expect(text).not.toMatch(/[A-Za-z]/);
    });
  });

  describe("answering what the question asks", () => {
    /** A document's chunks (those under `heading`, if given) as references, as the knowledge base holds them. */
    const referencesOf = (file: string, source: string, heading?: string): Reference[] =>
      chunkBlocks(parseText(readFileSync(file, "utf8"), "text/markdown"))
        .filter((c) => heading === undefined || c.heading === heading)
        .map((c, i) => ({ id: `${source}#${i}`, title: c.heading || source, source, content: c.content, score: 1 }));
    // The incident note, and what retrieval also finds for its question: the handbook's list of settings.
    const incident = {
      en: {
        refs: [...referencesOf("server/knowledge/evaluation/long-answers-fail.md", "Incident note"), ...referencesOf("docs/handbook.md", "Parley handbook", "Configuration")],
        question: "Answers from our local model keep failing halfway through. Which settings should I change?",
        problem: "After we pointed Parley at a local model server, longer answers kept failing halfway through [1].",
        fix: "The fix is to raise `PARLEY_ANSWER_MAX_SECONDS` and `PARLEY_MODEL_IDLE_SECONDS` in `/etc/parley/parley.env`, then restart Parley [1].",
      },
      zh: {
        refs: [...referencesOf("server/knowledge/evaluation/long-answers-fail.zh.md", "故障记录"), ...referencesOf("docs/handbook.zh.md", "Parley 使用手册", "配置")],
        question: "本地模型的长回答总是中途失败，应该更改哪些设定？",
        problem: "我们把 Parley 接到一台本地大模型服务器之后，较长的回答经常在中途失败，生成到一半就停了 [1]。",
        fix: "解决办法是在 `/etc/parley/parley.env` 中调大 `PARLEY_ANSWER_MAX_SECONDS` 和 `PARLEY_MODEL_IDLE_SECONDS` 这两项配置，然后重启 Parley [1]。",
      },
    };

    for (const language of ["en", "zh"] as const) {
      it(`quotes the sentence naming the settings and the file after the ones describing the problem, in the passage's order (${language})`, async () => {
        const { refs, question, problem, fix } = incident[language];
        const { text } = await run(fast, ask(question), refs);
        expect(text).toContain(problem);
        expect(text).toContain(fix);
        expect(text.indexOf(problem)).toBeLessThan(text.indexOf(fix));
      });
    }

    it("favours the sentence that states what a question asks for over ones that only share its words", async () => {
      const refs: Reference[] = [
        {
          id: "doc:pace",
          title: "Pace",
          source: "Operations guide",
          score: 1,
          content:
            "The offline model streams its answer at a natural pace, word after word. A slow pace of the offline model reads like typing. " +
            "The pace of the offline model also shapes how long an answer takes. Stream events carry a few words each. " +
            "`PARLEY_OFFLINE_TOKEN_DELAY_MS` is the pause between two words, in milliseconds.",
        },
      ];
      const { text } = await run(fast, ask("Which setting sets the pace of the offline model?"), refs);
      expect(text).toContain("`PARLEY_OFFLINE_TOKEN_DELAY_MS` is the pause between two words, in milliseconds [1].");
    });

    it("matches a question's words to a passage's through Chinese near-synonyms (移除/删除, 对话/会话)", async () => {
      const refs: Reference[] = [
        {
          id: "doc:sessions",
          title: "会话",
          source: "Parley 使用手册",
          score: 1,
          content:
            "会话列表按页加载，翻页不会遗漏。置顶的对话排在列表最前面。对话的标题最多 255 个字符。" +
            "要删除一个会话，在侧边栏中打开它的选项菜单，选择“删除”并确认。导出的文件以标题开头。回答以流式方式逐词输出。",
        },
      ];
      const { text } = await run(fast, ask("怎么移除对话？"), refs);
      const [lead, body] = text.split("\n\n");
      expect(lead).toBe("《Parley 使用手册》中介绍了如何移除对话：");
      expect(body).toContain("要删除一个会话，在侧边栏中打开它的选项菜单，选择“删除”并确认 [1]。");
    });
  });

  describe("the lead-in", () => {
    it("says what the question asks, from the question itself, in its language", () => {
      const handbook = ["Parley 使用手册"];
      expect(leadIn("怎么删除会话？", handbook, "zh")).toBe("《Parley 使用手册》中介绍了如何删除会话：");
      expect(leadIn("我该如何删除我的会话？", handbook, "zh")).toBe("《Parley 使用手册》中介绍了如何删除你的会话：");
      expect(leadIn("LLM 上下文是什么？", handbook, "zh")).toBe("以下是《Parley 使用手册》中关于LLM 上下文的说明：");
      expect(leadIn("刷新页面后回答如何保留？", handbook, "zh")).toBe("关于“刷新页面后回答如何保留？”这个问题，《Parley 使用手册》中是这样说的：");
      expect(leadIn("忘记了 API 密钥怎么办？", ["a", "b"], "zh")).toBe("关于“忘记了 API 密钥怎么办？”这个问题，各来源中是这样说的：");
      expect(leadIn(`${"很长的问题".repeat(10)}？`, handbook, "zh")).toBe("关于你的问题，《Parley 使用手册》中是这样说的：");

      expect(leadIn("How do I pin my session?", ["Parley handbook"], "en")).toBe("The Parley handbook explains how to pin your session:");
      expect(leadIn("How can we scale out?", ["guide.md", "Parley README"], "en")).toBe("The sources explain how to scale out:");
      expect(leadIn("What is the default port?", ["Parley handbook"], "en")).toBe("Here is what the Parley handbook says about the default port:");
      expect(leadIn("Which settings should I change?", ["notes.md"], "en")).toBe("You asked: “Which settings should I change?” Here is what “notes.md” says:");
      expect(leadIn("pin session", ["Parley handbook"], "en")).toBe("You asked: “pin session”. Here is what the Parley handbook says:");
      expect(leadIn(`Why ${"and why ".repeat(20)}?`, ["Parley handbook"], "en")).toBe("Here is what the Parley handbook says about your question:");
    });
  });
});
