import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sessionAttachments } from "../../../../db/schema";
import { MAX_DOCUMENT_BYTES } from "../../../../common/limits";
import type { App } from "../../../boot/app";
import { MAX_ATTACHMENTS_PER_SESSION } from "../../../sessions/attachments";
import { sweepExpiredSessions } from "../../../sessions/retention";
import { createTestTenant, type TestTenant } from "../../../testing/app";
import { startFakeOpenAI, type FakeOpenAI } from "../../../testing/fakeOpenai";
import { serveTestApp, type ServedTestApp } from "../../../testing/http";
import { answerText, restClient, type RestResponse } from "../../../testing/rest";

/** WeKnora's temporary attachments (attachments.ts) over real HTTP, the answers' model a fake one that shows what it was sent. */
let served: ServedTestApp;
let app: App;
let base: string;
let t: TestTenant;
let ownerKey: string;
let fake: FakeOpenAI;
const { call, newSession, chat } = restClient(() => base, () => ownerKey);

beforeAll(async () => {
  fake = await startFakeOpenAI();
  fake.reply({ text: "Answered from what I was given." });
  served = await serveTestApp({ OPENAI_BASE_URL: fake.baseURL, OPENAI_API_KEY: "test-key", PARLEY_CHAT_MODEL: "fake-chat", PARLEY_SUMMARY_MODEL: "fake-summary" });
  app = served.app;
  base = `${served.url}/api/v1`;
  t = served.tenant;
  ownerKey = t.owner.apiKey;
});
afterAll(async () => {
  await served?.close();
  await fake?.close();
});

/** Uploads `content` as the multipart field `file` named `name`. */
async function upload(sessionId: string, name: string, content: string | Uint8Array<ArrayBuffer>, key = ownerKey) {
  const form = new FormData();
  form.append("file", new Blob([content]), name);
  const res = await fetch(`${base}/sessions/${sessionId}/attachments`, { method: "POST", headers: { "X-API-Key": key }, body: form });
  const body: RestResponse["body"] = await res.json();
  return { status: res.status, body };
}

/** The system prompt of the model's latest streamed (answer) request. */
const lastSystemPrompt = () => fake.requests.findLast((r) => r.body.stream)?.body.messages?.find((m) => m.role === "system")?.content ?? "";

describe("temporary attachments", () => {
  it("reads an uploaded file's text into the answer that names it, and only that one; get, list, preview and delete", async () => {
    const s = await newSession();
    const up = await upload(s.id, "launch notes.md", "# Launch\n\nThe launch code is PELICAN-42.\n");
    expect(up.status).toBe(201);
    const attachment = up.body.data;
    expect(attachment).toMatchObject({ session_id: s.id, file_name: "launch notes.md", file_type: "md", mime_type: "text/markdown", status: "ready", tenant_id: t.tenant.number, chunk_count: 0, image_refs: [] });
    expect(attachment.token_count).toBeGreaterThan(0);
    expect(new Date(attachment.expires_at).getTime() - Date.now()).toBeGreaterThan(23.9 * 3600_000);

    expect((await call("GET", `/sessions/${s.id}/attachments/${attachment.id}`)).body.data).toEqual(attachment);
    expect((await call("GET", `/sessions/${s.id}/attachments`)).body.data).toEqual([attachment]);
    const preview = await fetch(`${base}/sessions/${s.id}/attachments/${attachment.id}/preview`, { headers: { "X-API-Key": ownerKey } });
    expect(preview.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(await preview.text()).toBe("Launch\n\nThe launch code is PELICAN-42.");

    const { frames } = await chat(s.id, "What is the launch code?", { body: { attachment_ids: [attachment.id], disable_title: true } });
    expect(answerText(frames)).toBe("Answered from what I was given.");
    expect(lastSystemPrompt()).toContain("Attached file: launch notes.md");
    expect(lastSystemPrompt()).toContain("The launch code is PELICAN-42.");
    // Not one of the answer's references: those are the knowledge it retrieved.
    expect(frames.some((f) => f.payload.response_type === "references")).toBe(false);
    await chat(s.id, "And without the file?", { body: { disable_title: true } });
    expect(lastSystemPrompt()).not.toContain("PELICAN-42");

    expect((await call("DELETE", `/sessions/${s.id}/attachments/${attachment.id}`)).body).toEqual({ success: true, message: "Attachment deleted" });
    const gone = await call("GET", `/sessions/${s.id}/attachments/${attachment.id}`);
    expect([gone.status, gone.body.error.code]).toEqual([404, 1003]);
    expect((await call("DELETE", `/sessions/${s.id}/attachments/${attachment.id}`)).status).toBe(404);
    const named = await call("POST", `/knowledge-chat/${s.id}`, { body: { query: "Again?", attachment_ids: [attachment.id] } });
    expect([named.status, named.body.error.code, named.body.error.details.field]).toEqual([400, 1010, "attachment_ids"]);
  });

  it("is walled: another tenant's or another member's key finds nothing, and an admin reads but does not attach", async () => {
    const member = await t.addUser("member");
    const s = await newSession(member.apiKey);
    const { body } = await upload(s.id, "a.txt", "Member's private note.", member.apiKey);
    const other = await createTestTenant(app);
    const colleague = await t.addUser("member");
    for (const key of [other.owner.apiKey, colleague.apiKey]) {
      for (const [method, path] of [
        ["GET", `/sessions/${s.id}/attachments/${body.data.id}`],
        ["GET", `/sessions/${s.id}/attachments`],
        ["DELETE", `/sessions/${s.id}/attachments/${body.data.id}`],
      ] as const) {
        const res = await call(method, path, { key });
        expect([res.status, res.body.error.code]).toEqual([404, 1003]);
      }
      expect((await fetch(`${base}/sessions/${s.id}/attachments/${body.data.id}/preview`, { headers: { "X-API-Key": key } })).status).toBe(404);
      expect((await upload(s.id, "b.txt", "Intruder", key)).status).toBe(404);
    }
    // The tenant's owner reads it (as any session of the tenant) but may not add to someone else's chat.
    expect((await call("GET", `/sessions/${s.id}/attachments/${body.data.id}`)).status).toBe(200);
    expect((await upload(s.id, "c.txt", "Owner's note")).status).toBe(404);
    // Someone else's attachment named in one's own chat is not found there.
    const mine = await newSession();
    const named = await call("POST", `/knowledge-chat/${mine.id}`, { body: { query: "Read it", attachment_ids: [body.data.id] } });
    expect([named.status, named.body.error.details.field]).toEqual([400, "attachment_ids"]);
  });

  it("refuses a file over the document limit (413), a format it cannot read, and an upload past the count cap until one goes", async () => {
    const s = await newSession();
    const tooBig = await upload(s.id, "big.txt", new Uint8Array(MAX_DOCUMENT_BYTES + 1).fill(97));
    expect([tooBig.status, tooBig.body.success, tooBig.body.error.code]).toEqual([413, false, 1000]);
    const exe = await upload(s.id, "tool.exe", "MZ");
    expect([exe.status, exe.body.error.code, exe.body.error.details.field]).toEqual([400, 1010, "file"]);
    const notMultipart = await call("POST", `/sessions/${s.id}/attachments`, { body: { file: "text" } });
    expect(notMultipart.status).toBe(400);
    expect((await call("GET", `/sessions/${s.id}/attachments`)).body.data).toEqual([]);

    const ids: string[] = [];
    for (let i = 1; i <= MAX_ATTACHMENTS_PER_SESSION; i++) {
      const res = await upload(s.id, `note-${i}.txt`, `Note number ${i}.`);
      expect(res.status).toBe(201);
      ids.push(res.body.data.id as string);
    }
    const over = await upload(s.id, "one-more.txt", "One too many.");
    expect([over.status, over.body.error.code, over.body.error.details.field]).toEqual([400, 1010, "file"]);
    expect((await call("GET", `/sessions/${s.id}/attachments`)).body.data).toHaveLength(MAX_ATTACHMENTS_PER_SESSION);
    await call("DELETE", `/sessions/${s.id}/attachments/${ids[0]}`);
    expect((await upload(s.id, "one-more.txt", "Now there is room.")).status).toBe(201);
    // At most five per answer, as WeKnora.
    const six = await call("POST", `/knowledge-chat/${s.id}`, { body: { query: "All of them", attachment_ids: ids.slice(1, 7) } });
    expect([six.status, six.body.error.details.field]).toEqual([400, "attachment_ids"]);
  });

  it("goes with its session, and by itself when it expires (the retention sweep deletes it)", async () => {
    const s = await newSession();
    await upload(s.id, "a.txt", "Goes with the session.");
    const rowsOf = (sessionId: string) => app.db.select({ id: sessionAttachments.id }).from(sessionAttachments).where(eq(sessionAttachments.sessionId, sessionId));
    expect(await rowsOf(s.id)).toHaveLength(1);
    expect((await call("DELETE", `/sessions/${s.id}`)).status).toBe(200);
    expect(await rowsOf(s.id)).toEqual([]);

    const kept = await newSession();
    const { body } = await upload(kept.id, "b.txt", "Expires.");
    await app.db.update(sessionAttachments).set({ expiresAt: new Date(Date.now() - 1000) }).where(eq(sessionAttachments.id, body.data.id as string));
    expect((await call("GET", `/sessions/${kept.id}/attachments/${body.data.id}`)).status).toBe(404);
    expect((await call("GET", `/sessions/${kept.id}/attachments`)).body.data).toEqual([]);
    expect(await rowsOf(kept.id)).toHaveLength(1);
    await sweepExpiredSessions(app);
    expect(await rowsOf(kept.id)).toEqual([]);
  });
});
