import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { knowledgeDocuments, messages } from "../../db/schema";
import type { App } from "../boot/app";
import { createTestTenant } from "../testing/app";
import { serveTestApp, type ServedTestApp } from "../testing/http";

/**
 * Rate limits at their edge, over HTTP (tRPC and REST), on the embedded default (in process) and on
 * real Postgres + Redis (shared counters). A 2 s window stands in for the minute.
 */
const WINDOW_SECONDS = 2;
const CALLS = 6;
const SENDS = 2;

let app: App;
let server: ServedTestApp;
beforeAll(async () => {
  server = await serveTestApp(
    { PARLEY_RATE_LIMIT_PER_MINUTE: String(CALLS), PARLEY_SEND_LIMIT_PER_MINUTE: String(SENDS) },
    { rateLimitWindowSeconds: WINDOW_SECONDS },
  );
  app = server.app;
});
afterAll(() => server?.close());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const me = (url: string, key: string, headers: Record<string, string> = {}) =>
  fetch(`${url}/api/trpc/auth.me`, { headers: { authorization: `Bearer ${key}`, ...headers } });
const trpcCode = async (response: Response) => ((await response.json()) as { error?: { json: { data: { code: string } } } }).error?.json.data.code;
const refusedCount = async (limit: string) => {
  const text = await app.metrics.registry.getSingleMetricAsString("parley_rate_limited_total");
  return Number(new RegExp(`limit="${limit}"} (\\d+)`).exec(text)?.[1] ?? 0);
};

describe("calls per API key", () => {
  it("tRPC: the N-th call passes, the N+1-th (and a stream connect) is TOO_MANY_REQUESTS with Retry-After, another key is unaffected, the window resets", async () => {
    const key = (await createTestTenant(app)).owner.apiKey;
    const other = (await createTestTenant(app)).owner.apiKey;
    const refusedBefore = await refusedCount("calls");
    for (let n = 1; n <= CALLS; n++) expect((await me(server.url, key)).status).toBe(200);
    const refused = await me(server.url, key);
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(WINDOW_SECONDS);
    expect(await trpcCode(refused)).toBe("TOO_MANY_REQUESTS");
    expect(await refusedCount("calls")).toBe(refusedBefore + 1);
    // A stream's (re)connect is refused the same way, with its Retry-After, before it streams anything.
    const input = encodeURIComponent(JSON.stringify({ json: { sessionId: crypto.randomUUID(), messageId: crypto.randomUUID() } }));
    const stream = await fetch(`${server.url}/api/trpc/chat.stream?input=${input}`, { headers: { authorization: `Bearer ${key}`, accept: "text/event-stream" } });
    expect(Number(stream.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(await stream.text()).toContain("TOO_MANY_REQUESTS");
    expect((await me(server.url, other)).status).toBe(200);
    await sleep(retryAfter * 1000 + 100);
    expect((await me(server.url, key)).status).toBe(200);
  });

  it("REST: the N+1-th request is 429 with code 1006 and Retry-After; a stream (re)connect counts like any call", async () => {
    const t = await createTestTenant(app);
    const session = await t.owner.api.session.create({ title: "limits" });
    const turn = await t.owner.api.chat.send({ sessionId: session.id, query: "What is Parley?" });
    const headers = { "X-API-Key": t.owner.apiKey };
    // Three calls so far (create, send, and this continue-stream), then the REST requests up to the limit.
    const stream = await fetch(`${server.url}/api/v1/sessions/continue-stream/${session.id}?message_id=${turn.assistantMessage.id}`, { headers });
    expect(stream.status).toBe(200);
    await stream.text();
    for (let n = 4; n <= CALLS; n++) expect((await fetch(`${server.url}/api/v1/sessions`, { headers })).status).toBe(200);
    const refused = await fetch(`${server.url}/api/v1/sessions`, { headers });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(await refused.json()).toMatchObject({ success: false, error: { code: 1006, message: expect.stringMatching(/Too many calls/) } });
    // A refused stream reconnect is refused before it follows anything.
    const again = await fetch(`${server.url}/api/v1/sessions/continue-stream/${session.id}?message_id=${turn.assistantMessage.id}`, { headers });
    expect(again.status).toBe(429);
    expect(again.headers.get("content-type")).toMatch(/json/);
  });
});

describe("uploads count as calls", () => {
  it("an upload past the call limit is 429 with Retry-After and stores nothing", async () => {
    // A window of a minute, so the count cannot reset while the uploads are parsed.
    const limitedServer = await serveTestApp({ PARLEY_RATE_LIMIT_PER_MINUTE: "3" });
    const limited = limitedServer.app;
    try {
      const t = limitedServer.tenant;
      const base = await t.owner.api.knowledge.bases.create({ name: "uploads" }); // the first call
      const upload = (n: number) => {
        const form = new FormData();
        form.set("knowledgeBaseId", base.id);
        form.set("file", new File([`Upload number ${n} says hello.`], `upload-${n}.txt`));
        return fetch(`${limitedServer.url}/api/knowledge/upload`, { method: "POST", headers: { authorization: `Bearer ${t.owner.apiKey}` }, body: form });
      };
      expect((await upload(1)).status).toBe(201);
      expect((await upload(2)).status).toBe(201);
      const refused = await upload(3);
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      expect(await refused.json()).toMatchObject({ error: { code: "TOO_MANY_REQUESTS", message: expect.stringMatching(/Too many calls/) } });
      expect(await limited.db.select().from(knowledgeDocuments).where(eq(knowledgeDocuments.knowledgeBaseId, base.id))).toHaveLength(2);
    } finally {
      await limitedServer.close();
    }
  });
});

describe("answers started per API key", () => {
  it("the N+1-th chat.send is TOO_MANY_REQUESTS and stores nothing; a retried send counts nothing; the window resets", async () => {
    const t = await createTestTenant(app);
    const sessions = [];
    for (let i = 0; i < SENDS + 1; i++) sessions.push(await t.owner.api.session.create({ title: `s${i}` }));
    await sleep(WINDOW_SECONDS * 1000 + 100); // a fresh window for the sends and calls below
    const first = await t.owner.api.chat.send({ sessionId: sessions[0]!.id, query: "What is Parley?" });
    // The same requestId again is the same turn, not a new answer.
    expect((await t.owner.api.chat.send({ sessionId: sessions[0]!.id, query: "What is Parley?", requestId: first.requestId })).assistantMessage.id).toBe(
      first.assistantMessage.id,
    );
    await t.owner.api.chat.send({ sessionId: sessions[1]!.id, query: "How are answers streamed?" });
    const sends = await fetch(`${server.url}/api/trpc/chat.send`, {
      method: "POST",
      headers: { authorization: `Bearer ${t.owner.apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ json: { sessionId: sessions[2]!.id, query: "One too many?" } }),
    });
    expect(sends.status).toBe(429);
    expect(Number(sends.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(await trpcCode(sends)).toBe("TOO_MANY_REQUESTS");
    expect(await app.db.select().from(messages).where(eq(messages.sessionId, sessions[2]!.id))).toEqual([]);
    // The session is not locked by the refused send: once the window resets it answers.
    await sleep(Number(sends.headers.get("retry-after")) * 1000 + 100);
    const later = await t.owner.api.chat.send({ sessionId: sessions[2]!.id, query: "Now?" });
    expect(later.assistantMessage.status).toBe("streaming");
  });

  it("REST knowledge-chat over the limit: 429 code 1006 before any frame, nothing stored", async () => {
    const t = await createTestTenant(app);
    const sessions = [];
    for (let i = 0; i < SENDS + 1; i++) sessions.push(await t.owner.api.session.create({ title: `r${i}` }));
    await sleep(WINDOW_SECONDS * 1000 + 100);
    const chat = (sessionId: string) =>
      fetch(`${server.url}/api/v1/knowledge-chat/${sessionId}`, {
        method: "POST",
        headers: { "X-API-Key": t.owner.apiKey, "content-type": "application/json" },
        body: JSON.stringify({ query: "What is Parley?" }),
      });
    for (let i = 0; i < SENDS; i++) {
      const ok = await chat(sessions[i]!.id);
      expect(ok.status).toBe(200);
      await ok.text();
    }
    const refused = await chat(sessions[SENDS]!.id);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(await refused.json()).toMatchObject({ success: false, error: { code: 1006, message: expect.stringMatching(/Too many questions/) } });
    expect(await app.db.select().from(messages).where(eq(messages.sessionId, sessions[SENDS]!.id))).toEqual([]);
  });
});

describe("wrong-key sign-ins per client address", () => {
  const signIn = (url: string, apiKey: string, headers: Record<string, string> = {}) =>
    fetch(`${url}/api/trpc/auth.signIn`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: url, ...headers },
      body: JSON.stringify({ json: { apiKey } }),
    });

  it("10 wrong attempts are UNAUTHORIZED, then every attempt from that address (the right key too) is refused; X-Forwarded-For is ignored without PARLEY_TRUST_PROXY", async () => {
    const key = (await createTestTenant(app)).owner.apiKey;
    for (let n = 1; n <= 10; n++) expect((await signIn(server.url, `pk_wrong_${n}`, { "x-forwarded-for": `10.0.0.${n}` })).status).toBe(401);
    const refused = await signIn(server.url, key, { "x-forwarded-for": "10.9.9.9" });
    expect(refused.status).toBe(429);
    expect(await trpcCode(refused)).toBe("TOO_MANY_REQUESTS");
    const retryAfter = Number(refused.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    await sleep(retryAfter * 1000 + 100);
    const ok = await signIn(server.url, key);
    expect(ok.status).toBe(200);
    expect(ok.headers.getSetCookie()[0]).toMatch(/^parley_session=/);
  });

  describe("a wrong key in a header or an unknown cookie counts toward the same limit", () => {
    let proxied: App;
    let proxiedServer: ServedTestApp;
    beforeAll(async () => {
      // Behind a trusted proxy, so that each case below comes from an address of its own.
      proxiedServer = await serveTestApp({ PARLEY_TRUST_PROXY: "1" });
      proxied = proxiedServer.app;
    });
    afterAll(() => proxiedServer?.close());

    const cases: Array<[string, string, (wrong: string) => Promise<Response>]> = [
      ["Authorization: Bearer (tRPC)", "203.0.113.21", (wrong) => me(proxiedServer.url, wrong, { "x-forwarded-for": "203.0.113.21" })],
      [
        "X-API-Key (REST)",
        "203.0.113.22",
        (wrong) => fetch(`${proxiedServer.url}/api/v1/sessions`, { headers: { "x-api-key": wrong, "x-forwarded-for": "203.0.113.22" } }),
      ],
      [
        "an unknown sign-in cookie (tRPC)",
        "203.0.113.23",
        (wrong) => fetch(`${proxiedServer.url}/api/trpc/auth.me`, { headers: { cookie: `parley_session=${wrong}`, "x-forwarded-for": "203.0.113.23" } }),
      ],
    ];
    it.each(cases)("%s: 10 wrong are 401, the 11th is 429 with Retry-After, and so is a sign-in from that address", async (_how, address, call) => {
      const key = (await createTestTenant(proxied)).owner.apiKey;
      for (let n = 1; n <= 10; n++) expect((await call(`pk_wrong_${address}_${n}`)).status).toBe(401);
      const refused = await call(`pk_wrong_${address}_11`);
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      expect(JSON.stringify(await refused.json())).toMatch(/TOO_MANY_REQUESTS|"code":1006/);
      expect((await signIn(proxiedServer.url, key, { "x-forwarded-for": address })).status).toBe(429);
      // A right key from that address still passes (one client's wrong keys lock nobody else out), and so does another client.
      expect((await me(proxiedServer.url, key, { "x-forwarded-for": address })).status).toBe(200);
      expect((await me(proxiedServer.url, key, { "x-forwarded-for": "198.51.100.9" })).status).toBe(200);
    });
  });

  it("with PARLEY_TRUST_PROXY=1 the address is the first X-Forwarded-For hop", async () => {
    const proxiedServer = await serveTestApp({ PARLEY_TRUST_PROXY: "1" }, { rateLimitWindowSeconds: WINDOW_SECONDS });
    try {
      const key = proxiedServer.tenant.owner.apiKey;
      const from = (client: string) => ({ "x-forwarded-for": `${client}, 127.0.0.1` });
      for (let n = 1; n <= 10; n++) expect((await signIn(proxiedServer.url, `pk_wrong_${n}`, from("203.0.113.7"))).status).toBe(401);
      expect((await signIn(proxiedServer.url, key, from("203.0.113.7"))).status).toBe(429);
      // Another client behind the same proxy is unaffected.
      expect((await signIn(proxiedServer.url, key, from("198.51.100.2"))).status).toBe(200);
    } finally {
      await proxiedServer.close();
    }
  });
});
