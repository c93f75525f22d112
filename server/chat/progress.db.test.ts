import { randomUUID } from "node:crypto";
import { inArray, type SQL } from "drizzle-orm";
import { PgDialect } from "drizzle-orm/pg-core";
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

/** The parameters a statement the progress writer executed sent to Postgres. */
const paramsOf = (query: unknown) => new PgDialect().sqlToQuery(query as SQL).params;

const contentOf = async (ids: string[]) =>
  Object.fromEntries((await app.db.select({ id: messages.id, content: messages.content }).from(messages).where(inArray(messages.id, ids))).map((r) => [r.id, r.content]));

describe("answer progress", () => {
  it("writes every growing answer's latest text in one statement per interval, never over an answer that ended", async () => {
    const t = await createTestTenant(app);
    const session = await t.owner.api.session.create({ title: "progress" });
    const [a, b, ended] = [await answerRow(session, "streaming", ""), await answerRow(session, "streaming", ""), await answerRow(session, "completed", "Final text")];
    const execute = vi.spyOn(app.db, "execute");
    const progress = createAnswerProgress({ db: app.db, log: app.log }, 50);
    progress.grow(a, "A, first words", "A, first words");
    progress.grow(a, " and more", "A, first words and more");
    progress.grow(b, "B so far", "B so far");
    // A late update of an answer whose row is already final changes nothing.
    progress.grow(ended, "stale text", "stale text");
    await vi.waitFor(async () => expect(await contentOf([a, b, ended])).toEqual({ [a]: "A, first words and more", [b]: "B so far", [ended]: "Final text" }), { timeout: 5000 });
    expect(execute).toHaveBeenCalledTimes(1);

    // A forgotten answer (it is ending and writes its own final row) is not written again.
    progress.grow(a, " after the end", "A, first words and more after the end");
    progress.forget(a);
    progress.grow(b, ", and later", "B so far, and later");
    await progress.close();
    expect(await contentOf([a, b])).toEqual({ [a]: "A, first words and more", [b]: "B so far, and later" });
    expect(execute).toHaveBeenCalledTimes(2);
    // That second write sent only what the row lacked.
    const sent = paramsOf(execute.mock.calls[1]![0]);
    expect(sent).toContain(", and later");
    expect(sent).not.toContain("B so far, and later");
    execute.mockRestore();
  });

  it("sends the whole text again after a write that failed, since it may or may not have reached the row", async () => {
    const t = await createTestTenant(app);
    const session = await t.owner.api.session.create({ title: "progress after a failure" });
    const a = await answerRow(session, "streaming", "");
    const progress = createAnswerProgress({ db: app.db, log: app.log }, 10);
    progress.grow(a, "one ", "one ");
    await vi.waitFor(async () => expect(await contentOf([a])).toEqual({ [a]: "one " }), { timeout: 5000 });
    // The next write fails after reaching Postgres (its update applied, its answer lost).
    const execute = app.db.execute.bind(app.db);
    const failOnce = vi.spyOn(app.db, "execute").mockImplementationOnce(
      (query) => execute(query).then(() => Promise.reject(new Error("connection lost after the commit"))) as unknown as ReturnType<typeof execute>,
    );
    progress.grow(a, "two ", "one two ");
    await vi.waitFor(() => expect(failOnce).toHaveBeenCalledTimes(1), { timeout: 5000 });
    progress.grow(a, "three", "one two three");
    await progress.close();
    expect(await contentOf([a])).toEqual({ [a]: "one two three" });
    failOnce.mockRestore();
  });

  it("writes a long answer less often, at most its rate of characters a second, and still writes an answer that stopped before it was due", async () => {
    const t = await createTestTenant(app);
    const session = await t.owner.api.session.create({ title: "progress of a long answer" });
    const [long, short] = [await answerRow(session, "streaming", ""), await answerRow(session, "streaming", "")];
    const execute = vi.spyOn(app.db, "execute");
    // Every 10 ms, at 1,000 characters a second: a 600-character answer waits 600 ms between writes.
    const progress = createAnswerProgress({ db: app.db, log: app.log }, 10, 1000);
    let longText = "L".repeat(600);
    let shortText = "";
    progress.grow(long, longText, longText);
    const started = Date.now();
    while (Date.now() - started < 300) {
      longText += "l";
      shortText += "s";
      progress.grow(long, "l", longText);
      progress.grow(short, "s", shortText);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const writes = execute.mock.calls.map((call) => paramsOf(call[0]));
    expect(writes.filter((params) => params.includes(long))).toHaveLength(1);
    expect(writes.filter((params) => params.includes(short)).length).toBeGreaterThanOrEqual(5);
    // Nothing grows any more: what the long answer gained since its first write still reaches its row.
    await vi.waitFor(async () => expect(await contentOf([long, short])).toEqual({ [long]: longText, [short]: shortText }), { timeout: 5000 });
    await progress.close();
    execute.mockRestore();
  });
});
