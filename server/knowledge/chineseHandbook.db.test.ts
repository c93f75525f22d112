import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "../../db";
import { knowledgeDocuments } from "../../db/schema";
import type { App } from "../boot/app";
import { ANSWER_SET, missingFacts, type AnswerSet } from "./evaluate";
import { ensureHandbookBase, HANDBOOK_BASE_NAME } from "./handbookBase";
import { knowledgeDeps } from "./sessionKnowledge";
import { languageOf } from "../platform/text/language";
import { createTestApp, defaultTenantUser, type TestCaller } from "../testing/app";
import { ask, referencesOf, textOf } from "../testing/answers";

/**
 * A Chinese user's first run: the default knowledge base holds the Chinese handbook beside the
 * English one, and Chinese questions about Parley get answers in Chinese, cited from it.
 */

const ZH_HANDBOOK = "Parley 使用手册";
const ZH_HANDBOOK_FILE = "docs/handbook.zh.md";
/** The answer set's Chinese questions about Parley itself, each with the facts its answer must hold. */
const QUESTIONS = (JSON.parse(readFileSync(ANSWER_SET, "utf8")) as AnswerSet).questions.filter((q) => q.language === "zh" && q.topic === undefined);

let app: App;
let member: TestCaller;
let baseId: string;

beforeAll(async () => {
  app = await createTestApp();
  member = await defaultTenantUser(app, "member");
  baseId = (await member.knowledge.bases.list()).items.find((b) => b.name === HANDBOOK_BASE_NAME)!.id;
});
afterAll(() => app.close());

const zhHandbookRow = (db: Db) =>
  db
    .select({ id: knowledgeDocuments.id, contentHash: knowledgeDocuments.contentHash, chunkCount: knowledgeDocuments.chunkCount })
    .from(knowledgeDocuments)
    .where(and(eq(knowledgeDocuments.knowledgeBaseId, baseId), eq(knowledgeDocuments.title, ZH_HANDBOOK)))
    .then((rows) => rows[0]);

/** Runs `change` and start-up's refresh in a transaction that is rolled back, so other suites sharing the database never see the base changed. */
async function afterStartUp(change: (db: Db) => Promise<void>, check: (db: Db) => Promise<void>) {
  const rollback = new Error("rolled back");
  await app.db
    .transaction(async (tx) => {
      const db = tx as unknown as Db;
      await change(db);
      await ensureHandbookBase({ ...knowledgeDeps(app), db });
      await check(db);
      throw rollback;
    })
    .catch((error: unknown) => {
      if (error !== rollback) throw error;
    });
}

describe("the Chinese handbook", () => {
  it("is indexed in the default knowledge base on a fresh start, beside the English one", async () => {
    const documents = (await member.knowledge.documents.list({ knowledgeBaseId: baseId })).items;
    expect(documents.map((d) => d.title).sort()).toEqual(["Parley README", "Parley handbook", ZH_HANDBOOK].sort());
    expect(documents.find((d) => d.title === ZH_HANDBOOK)!.chunkCount).toBeGreaterThan(10);
    expect((await zhHandbookRow(app.db))!.contentHash).toBe(createHash("sha256").update(readFileSync(ZH_HANDBOOK_FILE, "utf8")).digest("hex"));
  });

  it("is indexed on upgrade: added to a base that lacks it, re-indexed when its text changed", async () => {
    const current = (await zhHandbookRow(app.db))!;
    // A base from before the Chinese handbook shipped.
    await afterStartUp(
      (db) => db.delete(knowledgeDocuments).where(eq(knowledgeDocuments.id, current.id)).then(() => undefined),
      async (db) => expect(await zhHandbookRow(db)).toMatchObject({ contentHash: current.contentHash, chunkCount: current.chunkCount }),
    );
    // A base indexed from an earlier text of it.
    await afterStartUp(
      (db) => db.update(knowledgeDocuments).set({ contentHash: "an earlier text" }).where(eq(knowledgeDocuments.id, current.id)).then(() => undefined),
      async (db) => {
        const refreshed = (await zhHandbookRow(db))!;
        expect(refreshed.id).not.toBe(current.id);
        expect(refreshed.contentHash).toBe(current.contentHash);
      },
    );
    expect(await zhHandbookRow(app.db)).toEqual(current);
  });
});

describe("Chinese questions about Parley on a fresh install", () => {
  it(`are answered in Chinese from the Chinese handbook, with the fact asked for (${QUESTIONS.length} questions)`, async () => {
    expect(QUESTIONS.length).toBeGreaterThanOrEqual(10);
    const failures: string[] = [];
    for (const { question, facts } of QUESTIONS) {
      const session = await member.session.create();
      expect(session.knowledgeBaseId).toBe(baseId);
      const { events } = await ask(member, session.id, question);
      const references = referencesOf(events);
      const answer = textOf(events);
      const [leadIn = "", ...body] = answer.split("\n\n");
      const cited = new Set([...answer.matchAll(/\[(\d+)\]/g)].map((m) => references[Number(m[1]) - 1]?.source));
      const problems = [
        references[0]?.source === ZH_HANDBOOK ? "" : `first source ${references[0]?.source ?? "none"}`,
        cited.has(ZH_HANDBOOK) ? "" : "the Chinese handbook is not cited",
        languageOf(answer) === "zh" && languageOf(leadIn) === "zh" && leadIn.endsWith("：") && body.length > 0 ? "" : "not a Chinese answer",
        ...missingFacts(answer, facts).map((fact) => `lacks ${fact}`),
      ].filter(Boolean);
      if (problems.length > 0) failures.push(`${question}: ${problems.join(", ")}\n${answer}`);
    }
    expect(failures).toEqual([]);
  }, 120_000);

  it("leave English questions to the English handbook", async () => {
    const session = await member.session.create();
    const { events } = await ask(member, session.id, "How do I delete a session?");
    expect(referencesOf(events)[0]!.source).toBe("Parley handbook");
    // Which English passage leads depends on what the README (indexed beside the handbooks) says about deleting;
    // what this test holds is the language: an English answer, led by the English handbook, no Chinese in it.
    expect(textOf(events)).toMatch(/^The (Parley handbook explains|sources explain) how to delete a session:\n/);
    expect(textOf(events)).not.toMatch(/\p{Script=Han}/u);
  });
});
