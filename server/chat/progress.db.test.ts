import { randomUUID } from "node:crypto";
import { inArray } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { messages } from "../../db/schema";
import type { App } from "../boot/app";
import { createTestApp, createTestTenant } from "../testing/app";
import { createAnswerProgress } from "./progress";

let app: App;
beforeAll(async () => {
  app = await createTestApp();
});
afterAll(() => app.close());

/** An answer row of a new turn in `sessionId`, with the given status and text. */
async function answerRow(session: { id: string; tenantId: string; userId: string }, status: "streaming" | "completed", content: string) {
  const requestId = randomUUID();
  const id = randomUUID();
  const owner = { sessionId: session.id, tenantId: session.tenantId, userId: session.userId, requestId };
  await app.db.insert(messages).values([
    { ...owner, role: "user", content: "q", status: "completed" },
    { ...owner, id, role: "assistant", content, status },
  ]);
  return id;
}

const contentOf = async (ids: string[]) =>
  Object.fromEntries((await app.db.select({ id: messages.id, content: messages.content }).from(messages).where(inArray(messages.id, ids))).map((r) => [r.id, r.content]));

describe("answer progress", () => {
  it("writes every growing answer's latest text in one statement per interval, never over an answer that ended", async () => {
    const t = await createTestTenant(app);
    const session = await t.owner.api.session.create({ title: "progress" });
    const [a, b, ended] = [await answerRow(session, "streaming", ""), await answerRow(session, "streaming", ""), await answerRow(session, "completed", "Final text")];
    const execute = vi.spyOn(app.db, "execute");
    const progress = createAnswerProgress({ db: app.db, log: app.log }, 50);
    progress.update(a, "A, first words");
    progress.update(a, "A, more words");
    progress.update(b, "B so far");
    // A late update of an answer whose row is already final changes nothing.
    progress.update(ended, "stale text");
    await vi.waitFor(async () => expect(await contentOf([a, b, ended])).toEqual({ [a]: "A, more words", [b]: "B so far", [ended]: "Final text" }), { timeout: 5000 });
    expect(execute).toHaveBeenCalledTimes(1);

    // A forgotten answer (it is ending and writes its own final row) is not written again.
    progress.update(a, "A, after the end");
    progress.forget(a);
    progress.update(b, "B, later");
    await progress.close();
    expect(await contentOf([a, b])).toEqual({ [a]: "A, more words", [b]: "B, later" });
    expect(execute).toHaveBeenCalledTimes(2);
    execute.mockRestore();
  });
});
