import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../boot/app";
import type { StreamEvent } from "./events";
import { handleUpload } from "../http/upload";
import { createTestApp, createTestTenant, type TestCaller } from "../testing/app";
import { ask as askAs, textOf } from "../testing/answers";

/**
 * The contract's "Language" section, end to end on the embedded default and on Postgres + Redis:
 * WeKnora's own (Chinese) session API description uploaded to a knowledge base answers a Chinese
 * question with its source, titles the session in Chinese, and sessions are found by Chinese words.
 */

const SEED = "server/knowledge/evaluation/weknora-session-api.zh.md";
const SEED_TITLE = "WeKnora 会话管理API";
const QUESTION = "会话上下文在Redis中的默认过期时间是多久？";

let app: App;
let member: TestCaller;
let memberKey: string;
let admin: TestCaller;
let baseId: string;

beforeAll(async () => {
  app = await createTestApp();
  const t = await createTestTenant(app);
  ({ api: member, apiKey: memberKey } = await t.addUser("member"));
  admin = (await t.addUser("admin")).api;
  baseId = (await member.knowledge.bases.create({ name: "WeKnora" })).id;
  const form = new FormData();
  form.set("knowledgeBaseId", baseId);
  form.set("title", SEED_TITLE);
  form.set("file", new File([readFileSync(SEED)], "session-api.md", { type: "text/markdown" }));
  const res = await handleUpload(app, new Request("http://localhost/api/knowledge/upload", { method: "POST", body: form, headers: { authorization: `Bearer ${memberKey}` } }));
  expect(res.status).toBe(201);
});
afterAll(() => app.close());

const ask = async (sessionId: string, query: string): Promise<StreamEvent[]> => (await askAs(member, sessionId, query)).events;
const ids = (items: { id: string }[]) => items.map((s) => s.id);

describe("a Chinese question to a Chinese document", () => {
  let sessionId: string;
  let events: StreamEvent[];
  beforeAll(async () => {
    sessionId = (await member.session.create({ knowledgeBaseId: baseId })).id;
    events = await ask(sessionId, QUESTION);
  });

  it("is answered in Chinese from the document, quoting the TTL with its source", () => {
    const references = events.flatMap((e) => (e.type === "references" ? e.references : []));
    expect(references.length).toBeGreaterThan(0);
    expect(references[0]!.source).toBe(SEED_TITLE);
    expect(references[0]!.content).toContain("默认24小时");
    const answer = textOf(events);
    expect(answer.startsWith(`关于“${QUESTION}”这个问题，《${SEED_TITLE}》中是这样说的：`)).toBe(true);
    expect(answer).toMatch(/默认24小时[^\n]*\[1\]/);
    expect(answer).not.toMatch(/Here is what|I could not find/);
    expect(events.at(-1)).toMatchObject({ type: "complete" });
  });

  it("titles the session in Chinese, at most 20 characters, with no English wrapper", async () => {
    const title = events.flatMap((e) => (e.type === "title" ? [e.title] : []))[0];
    expect(title).toBe("会话上下文在Redis中的默认过期时间");
    expect(Array.from(title!).length).toBeLessThanOrEqual(20);
    expect((await member.session.get({ id: sessionId })).title).toBe(title);
  });

  it("finds the session by a Chinese word inside a run and by an ASCII word between Chinese characters", async () => {
    const other = await member.session.create({ title: "Redis cluster notes" });
    for (const search of ["过期", "过期时间", "上下文", "24小时"]) expect(ids((await member.session.list({ search })).items), search).toEqual([sessionId]);
    expect(ids((await member.session.list({ search: "Redis" })).items)).toEqual([other.id, sessionId]);
    expect(ids((await member.session.list({ search: "red" })).items)).toEqual([other.id, sessionId]);
    expect((await member.session.list({ search: "天气" })).items).toEqual([]);
    expect(ids((await admin.admin.sessions({ search: "过期" })).items)).toEqual([sessionId]);
  });

  it("finds message content by a Chinese word: the answer's own words", async () => {
    const untitled = await member.session.create({ title: "x", knowledgeBaseId: null, strategy: { fallbackStrategy: "fixed", fallbackResponse: "企鹅喜欢冰山。" } });
    await ask(untitled.id, "hello");
    expect(ids((await member.session.list({ search: "企鹅" })).items)).toEqual([untitled.id]);
    expect(ids((await member.session.list({ search: "冰山" })).items)).toEqual([untitled.id]);
  });
});

describe("Chinese keyword search of knowledge", () => {
  it("matches Chinese words inside runs, and ASCII words between Chinese characters", async () => {
    const { items } = await member.knowledge.search({ knowledgeBaseIds: [baseId], query: "事件流的过期时间" });
    expect(items.length).toBeGreaterThan(0);
    expect(items.some((r) => r.content.includes("默认1小时"))).toBe(true);
    expect(items.find((r) => r.content.includes("默认1小时"))!.matchedBy).not.toBe("vector");
    const gorm = await member.knowledge.search({ knowledgeBaseIds: [baseId], query: "GORM" });
    expect(gorm.items[0]!.content).toContain("GORM");
  });
});

describe("Parley's own sentences in Chinese", () => {
  it("says it found no source, in Chinese, for a Chinese question nothing answers", async () => {
    const s = await member.session.create({ knowledgeBaseId: baseId });
    const events = await ask(s.id, "明天巴黎的天气怎么样？");
    expect(events.map((e) => e.type)).not.toContain("references");
    expect(textOf(events)).toContain("我在可用的知识中没有找到这个问题的来源");
  });

  it("gives the default fixed fallback in the question's language, and a session's own fallback verbatim", async () => {
    const fixed = await member.session.create({ knowledgeBaseId: null, strategy: { fallbackStrategy: "fixed" } });
    expect(textOf(await ask(fixed.id, "明天巴黎的天气怎么样？"))).toBe("抱歉，我无法回答这个问题。");
    expect(textOf(await ask(fixed.id, "What is the weather in Paris tomorrow?"))).toBe("Sorry, I am unable to answer this question.");
    const own = await member.session.create({ knowledgeBaseId: null, strategy: { fallbackStrategy: "fixed", fallbackResponse: "Only Parley questions." } });
    expect(textOf(await ask(own.id, "明天巴黎的天气怎么样？"))).toBe("Only Parley questions.");
  });
});
