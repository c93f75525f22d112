import { randomBytes, randomUUID } from "node:crypto";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { messages, shares } from "../../db/schema";
import type { App } from "../boot/app";
import { readyHost } from "../boot/host";
import { sha256 } from "../auth/accounts";
import { apiRoutes } from "../http/routes";
import { createHttpServer } from "../http/server";
import { withSharePageGuard } from "../http/share";
import { codeOf, createTestApp, createTestTenant, fieldErrorsOf, type TestTenant } from "../testing/app";
import { ask, readAnswer } from "../testing/answers";
import { serveTestApp, type ServedTestApp } from "../testing/http";
import { MAX_LIVE_SHARES } from "./shares";

/**
 * Share links at the tRPC edge and over HTTP (`GET /api/share/<token>`, the page's guard): an
 * immutable copy of the active path, a token stored only as its hash, one 404 for every link
 * that shows nothing, a per-address limit.
 */
let app: App;
let server: ServedTestApp;
let t: TestTenant;
let kbId: string;
beforeAll(async () => {
  server = await serveTestApp();
  app = server.app;
  t = server.tenant;
  const kb = await t.owner.api.knowledge.bases.create({ name: "Zoo" });
  await t.owner.api.knowledge.documents.add({
    knowledgeBaseId: kb.id,
    title: "Zoo guide",
    mimeType: "text/markdown",
    content: `# Giraffes\n\nThe giraffes live in the north enclosure, beside the lake. ${"They eat acacia leaves from the tall feeders every morning. ".repeat(12)}\n\n# Penguins\n\nThe penguins live in the cold house by the south gate.`,
  });
  kbId = kb.id;
});
afterAll(() => server?.close());

const member = () => t.addUser("member");
const getShare = (token: string, base = server.url) => fetch(`${base}/api/share/${token}`);
/** The body and status every link that shows nothing answers. */
async function unknown(token: string) {
  const res = await getShare(token);
  return { status: res.status, body: await res.text() };
}

describe("share.create", () => {
  it("copies the active path's completed messages with their sources' titles and snippets, and nothing of the owner but the title", async () => {
    const { api } = await member();
    const s = await api.session.create({ title: "Zoo questions", knowledgeBaseId: kbId });
    await ask(api, s.id, "Where do the giraffes live?");
    const second = await ask(api, s.id, "Where do the penguins live?");
    // A second version of the last answer: the first leaves the active path.
    const again = await api.chat.regenerate({ sessionId: s.id, messageId: second.assistantMessage.id });
    await readAnswer(api, { sessionId: s.id, messageId: again.assistantMessage.id });
    const path = (await api.message.list({ sessionId: s.id })).items;

    const share = await api.share.create({ sessionId: s.id });
    expect(share).toMatchObject({ sessionId: s.id, title: "Zoo questions", messageCount: 4, revokedAt: null });
    expect(share.token).toMatch(/^[A-Za-z0-9_-]{43}$/); // 32 random bytes
    expect(share.url).toMatch(new RegExp(`/share/${share.token}$`));

    const res = await getShare(share.token!);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-robots-tag")).toContain("noindex");
    const body = await res.json();
    expect(Object.keys(body).sort()).toEqual(["createdAt", "messages", "title"]);
    expect(body.title).toBe("Zoo questions");
    expect(new Date(body.createdAt).getTime()).toBe(share.createdAt.getTime());
    expect(body.messages.map((m: { role: string; content: string }) => [m.role, m.content])).toEqual(path.map((m) => [m.role, m.content]));
    for (const m of body.messages) expect(Object.keys(m).sort()).toEqual(["content", "createdAt", "references", "role"]);
    const cited = body.messages.flatMap((m: { references: object[] }) => m.references);
    expect(cited.length).toBeGreaterThan(0);
    for (const r of cited) {
      expect(Object.keys(r).sort()).toEqual(["snippet", "title"]);
      expect(["Giraffes", "Penguins"]).toContain(r.title);
      expect(r.snippet.length).toBeLessThanOrEqual(301);
    }
    expect(cited.some((r: { snippet: string }) => r.snippet.endsWith("…"))).toBe(true);
    const json = JSON.stringify(body);
    const me = await api.auth.me();
    for (const secret of [s.id, me.user.id, me.user.name, t.tenant.id, t.tenant.name, kbId]) expect(json).not.toContain(secret);
  });

  it("leaves out an answer still streaming, or stopped, and every other branch", async () => {
    const { api } = await member();
    const s = await api.session.create({ title: "partial" });
    await ask(api, s.id, "First question");
    const { events: stopped } = await ask(api, s.id, "Second question");
    expect(stopped.at(-1)?.type).toBe("complete");
    const path = (await api.message.list({ sessionId: s.id })).items;
    await app.db.update(messages).set({ status: "stopped" }).where(eq(messages.id, path[3]!.id));
    const share = await api.share.create({ sessionId: s.id });
    // The stopped answer is left out; its question is a completed message and stays.
    expect(share.messageCount).toBe(3);
    const body = await (await getShare(share.token!)).json();
    expect(body.messages.map((m: { content: string }) => m.content)).toEqual([path[0]!.content, path[1]!.content, path[2]!.content]);
  });

  it("never changes: a later message, an edit, a regenerate or a clear leave the copy as it was", async () => {
    const { api } = await member();
    const s = await api.session.create({ title: "frozen", knowledgeBaseId: kbId });
    const first = await ask(api, s.id, "Where do the giraffes live?");
    const share = await api.share.create({ sessionId: s.id });
    const before = await (await getShare(share.token!)).text();

    await ask(api, s.id, "And the penguins?");
    const edited = await api.chat.edit({ sessionId: s.id, messageId: first.userMessage.id, query: "Where do the penguins live?" });
    await readAnswer(api, { sessionId: s.id, messageId: edited.assistantMessage.id });
    const regenerated = await api.chat.regenerate({ sessionId: s.id, messageId: edited.assistantMessage.id });
    await readAnswer(api, { sessionId: s.id, messageId: regenerated.assistantMessage.id });
    await api.session.update({ id: s.id, title: "renamed later" });
    expect(await (await getShare(share.token!)).text()).toBe(before);
    await api.session.clearMessages({ id: s.id });
    expect(await (await getShare(share.token!)).text()).toBe(before);
    expect((await api.share.list({ sessionId: s.id })).items).toEqual([{ ...share, token: null, url: null }]);
  });

  it("stores only the token's hash, and every token is new", async () => {
    const { api } = await member();
    const s = await api.session.create();
    const a = await api.share.create({ sessionId: s.id });
    const b = await api.share.create({ sessionId: s.id });
    expect(a.token).not.toBe(b.token);
    const [row] = await app.db.select().from(shares).where(eq(shares.id, a.id));
    expect(row!.tokenHash).toBe(sha256(a.token!));
    expect(JSON.stringify(row)).not.toContain(a.token!);
    // Nobody sees the token again.
    expect((await api.share.list()).items.map((x) => [x.id, x.token, x.url])).toEqual([
      [b.id, null, null],
      [a.id, null, null],
    ]);
  });

  it("refuses a temporary chat (BAD_REQUEST), another user's session (NOT_FOUND), and past 100 live shares", async () => {
    const { api } = await member();
    const other = await member();
    const temporary = await api.session.create({ temporary: true });
    expect(await fieldErrorsOf(api.share.create({ sessionId: temporary.id }))).toEqual(["sessionId"]);
    const theirs = await other.api.session.create();
    expect(await codeOf(api.share.create({ sessionId: theirs.id }))).toBe("NOT_FOUND");
    expect(await codeOf(t.owner.api.share.create({ sessionId: theirs.id }))).toBe("NOT_FOUND");
    expect(await codeOf(api.share.list({ sessionId: theirs.id }))).toBe("NOT_FOUND");
    expect(await codeOf(api.share.create({ sessionId: randomUUID() }))).toBe("NOT_FOUND");

    const s = await api.session.create();
    const me = await api.auth.me();
    await app.db.insert(shares).values(
      Array.from({ length: MAX_LIVE_SHARES - 1 }, () => ({ tenantId: t.tenant.id, userId: me.user.id, sessionId: s.id, tokenHash: sha256(randomUUID()), title: "", messages: [], messageCount: 0 })),
    );
    const last = await api.share.create({ sessionId: s.id });
    expect(await fieldErrorsOf(api.share.create({ sessionId: s.id }))).toEqual(["sessionId"]);
    await api.share.revoke({ id: last.id });
    expect((await api.share.create({ sessionId: s.id })).messageCount).toBe(0);
  });
});

describe("one 404 for every link that shows nothing", () => {
  it("revoked, deleted, unknown and malformed tokens answer alike; revoke is the owner's and idempotent", async () => {
    const { api } = await member();
    const other = await member();
    const s = await api.session.create({ title: "short-lived" });
    await ask(api, s.id, "Hello there");
    const revoked = await api.share.create({ sessionId: s.id });
    const deleted = await api.share.create({ sessionId: s.id });
    const expected = await unknown(randomBytes(32).toString("base64url"));
    expect(expected.status).toBe(404);

    expect(await codeOf(other.api.share.revoke({ id: revoked.id }))).toBe("NOT_FOUND");
    expect(await codeOf(t.owner.api.share.revoke({ id: revoked.id }))).toBe("NOT_FOUND");
    expect((await getShare(revoked.token!)).status).toBe(200);
    const done = await api.share.revoke({ id: revoked.id });
    expect(done.revokedAt).toBeInstanceOf(Date);
    expect((await api.share.revoke({ id: revoked.id })).revokedAt).toEqual(done.revokedAt);
    expect(await codeOf(api.share.revoke({ id: randomUUID() }))).toBe("NOT_FOUND");

    await api.session.delete({ id: s.id });
    expect(await app.db.select().from(shares).where(eq(shares.sessionId, s.id))).toEqual([]);
    for (const token of [revoked.token!, deleted.token!, "abc", "x".repeat(43), `${deleted.token!}x`, "%E0%A4%A"]) {
      expect(await unknown(token), token).toEqual(expected);
    }
    expect((await fetch(`${server.url}/api/share`)).status).toBe(404);
  });

  it("an admin's delete of the session deletes its shares too", async () => {
    const { api } = await member();
    const s = await api.session.create();
    const share = await api.share.create({ sessionId: s.id });
    await t.owner.api.session.delete({ id: s.id });
    expect((await getShare(share.token!)).status).toBe(404);
    expect((await api.share.list()).items.map((x) => x.id)).not.toContain(share.id);
  });

  it("a tenant with sharing off refuses new shares (FORBIDDEN) and its links 404 until it is on again", async () => {
    const tenant = await createTestTenant(app);
    const { api } = await tenant.addUser("member");
    const s = await api.session.create({ title: "switch" });
    const share = await api.share.create({ sessionId: s.id });
    const elsewhere = await t.owner.api.share.create({ sessionId: (await t.owner.api.session.create()).id });

    expect(await codeOf(api.admin.tenant.update({ sharingEnabled: false }))).toBe("FORBIDDEN");
    expect(await tenant.owner.api.admin.tenant.update({ sharingEnabled: false })).toEqual({ retentionDays: null, keepPinned: true, sharingEnabled: false });
    expect(await codeOf(api.share.create({ sessionId: s.id }))).toBe("FORBIDDEN");
    expect(await unknown(share.token!)).toEqual(await unknown(randomBytes(32).toString("base64url")));
    // Another tenant's links are not affected.
    expect((await getShare(elsewhere.token!)).status).toBe(200);

    await tenant.owner.api.admin.tenant.update({ sharingEnabled: true });
    expect((await getShare(share.token!)).status).toBe(200);
    expect((await api.share.create({ sessionId: s.id })).sessionId).toBe(s.id);
  });
});

describe("the per-address limit", () => {
  it("counts the page and its JSON together: 120 reads a minute per client address, then 429 with Retry-After", async () => {
    const limited = await createTestApp();
    const host = readyHost(limited);
    const http = createHttpServer({
      host,
      routes: apiRoutes(host),
      // A stand-in for Next's page, behind the guard main.ts puts in front of it.
      pages: withSharePageGuard(host, (req, res) => {
        res.setHeader("Content-Type", "text/plain");
        res.end(`page: ${req.url}`);
      }),
    });
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    const base = `http://127.0.0.1:${(http.address() as { port: number }).port}`;
    try {
      const tenant = await createTestTenant(limited);
      const share = await tenant.owner.api.share.create({ sessionId: (await tenant.owner.api.session.create()).id });
      const page = await fetch(`${base}/share/${share.token}`);
      expect(page.status).toBe(200);
      expect(page.headers.get("x-robots-tag")).toContain("noindex");
      expect(page.headers.get("content-security-policy")).toContain("default-src 'self'");
      for (let i = 1; i < 120; i++) {
        const res = i % 2 ? await getShare(i % 4 === 1 ? share.token! : "unknown", base) : await fetch(`${base}/share/${share.token}`);
        expect(res.status, `read ${i + 1}`).not.toBe(429);
        await res.arrayBuffer();
      }
      const json = await getShare(share.token!, base);
      expect(json.status).toBe(429);
      expect(Number(json.headers.get("retry-after"))).toBeGreaterThan(0);
      expect((await fetch(`${base}/share/${share.token}`)).status).toBe(429);
      // Other pages and the API for callers are not counted.
      expect((await fetch(`${base}/`)).status).toBe(200);
      expect(await tenant.owner.api.share.list()).toMatchObject({ items: [{ id: share.id }] });
      expect(await limited.metrics.registry.getSingleMetricAsString("parley_rate_limited_total")).toMatch(/limit="share"} [1-9]/);
    } finally {
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      await limited.close();
    }
  });
});
