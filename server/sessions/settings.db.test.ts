import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createParleyClient } from "../../client";
import { sessions } from "../../db/schema";
import type { App } from "../boot/app";
import { defaultContextConfig, defaultStrategy, defaultSummaryParameters } from "../../common/settings";
import { createTestTenant } from "../testing/app";
import { readAnswer } from "../testing/answers";
import { serveTestApp, type ServedTestApp } from "../testing/http";

/** A session's stored config always has the contract's full shape, whatever a partial update sends. */
let app: App;
let server: ServedTestApp;
beforeAll(async () => {
  server = await serveTestApp();
  app = server.app;
});
afterAll(() => server?.close());

async function storedConfig(id: string) {
  const [row] = await app.db.select().from(sessions).where(eq(sessions.id, id));
  if (!row) throw new Error(`no session ${id}`);
  return row;
}

describe("partial settings updates", () => {
  it("tRPC (superjson): an explicit undefined leaves the field as it was, and the session still answers", async () => {
    const t = await createTestTenant(app);
    const client = createParleyClient({ url: server.url, apiKey: t.owner.apiKey });
    const s = await client.session.create.mutate({ title: "settings", summaryParameters: { prompt: "Be brief." } });
    // superjson carries `undefined` as a value: the key arrives, set to undefined.
    const updated = await client.session.update.mutate({
      id: s.id,
      summaryParameters: { prompt: undefined, temperature: 0.5 },
      strategy: { maxRounds: undefined },
      contextConfig: { maxTokens: undefined },
    });
    expect(updated.summaryParameters).toEqual({ ...defaultSummaryParameters(), prompt: "Be brief.", temperature: 0.5 });
    expect(updated.strategy).toEqual(defaultStrategy());
    expect(updated.contextConfig).toEqual(defaultContextConfig());
    const row = await storedConfig(s.id);
    expect(row.summaryParameters).toEqual(updated.summaryParameters);
    expect(row.strategy).toEqual(defaultStrategy());

    const turn = await client.chat.send.mutate({ sessionId: s.id, query: "What is Parley?" });
    const events = await readAnswer(t.owner.api, { sessionId: s.id, messageId: turn.assistantMessage.id });
    expect(events.at(-1)?.type).toBe("complete");
  });

  it("REST: a partial update of a session stored with an incomplete config stores the full shape", async () => {
    const t = await createTestTenant(app);
    const s = await t.owner.api.session.create({ title: "legacy" });
    // A row written before some fields existed (or by an older version): only some fields.
    await app.db.update(sessions).set({ strategy: { maxRounds: 3 } as never, contextConfig: {} as never }).where(eq(sessions.id, s.id));
    const res = await fetch(`${server.url}/api/v1/sessions/${s.id}`, {
      method: "PUT",
      headers: { "X-API-Key": t.owner.apiKey, "content-type": "application/json" },
      body: JSON.stringify({ session_strategy: { enable_rewrite: false }, context_config: { max_tokens: 4096 } }),
    });
    expect(res.status).toBe(200);
    const row = await storedConfig(s.id);
    expect(row.strategy).toEqual({ ...defaultStrategy(), maxRounds: 3, enableRewrite: false });
    expect(row.contextConfig).toEqual({ ...defaultContextConfig(), maxTokens: 4096 });
  });

  it("a merged config the full schema refuses is BAD_REQUEST naming the field, and nothing is stored", async () => {
    const t = await createTestTenant(app);
    const s = await t.owner.api.session.create({ title: "broken" });
    await app.db.update(sessions).set({ contextConfig: { ...defaultContextConfig(), maxTokens: 5 } }).where(eq(sessions.id, s.id));
    const before = await storedConfig(s.id);
    const res = await fetch(`${server.url}/api/v1/sessions/${s.id}`, {
      method: "PUT",
      headers: { "X-API-Key": t.owner.apiKey, "content-type": "application/json" },
      body: JSON.stringify({ title: "renamed", context_config: { recent_message_count: 3 } }),
    });
    expect(res.status).toBe(400);
    expect(await storedConfig(s.id)).toEqual(before);
  });
});
