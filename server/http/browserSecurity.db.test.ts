import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../boot/app";
import { serveTestApp, signInCookie, type ServedTestApp } from "../testing/http";

/**
 * What the server does for the browser: a Content-Security-Policy with nothing remote, nosniff and
 * a framing rule on every page, and cookie-authenticated writes refused from other sites.
 */
let app: App;
let server: ServedTestApp;
let key: string;
beforeAll(async () => {
  server = await serveTestApp();
  app = server.app;
  key = server.tenant.owner.apiKey;
});
afterAll(() => server?.close());

const EVIL = "https://evil.example";

const createSession = (base: string, headers: Record<string, string>) =>
  fetch(`${base}/api/trpc/session.create`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify({ json: { title: "x" } }) });

function upload(base: string, headers: Record<string, string>) {
  const form = new FormData();
  form.set("knowledgeBaseId", "6f1c1a4e-3b1d-4c51-9a0e-2f6d5b7c8e90");
  form.set("file", new File(["hello"], "a.txt"));
  return fetch(`${base}/api/knowledge/upload`, { method: "POST", headers, body: form });
}

describe("pages", () => {
  it.each(["/", "/signin", "/admin"])("%s carries a CSP with nothing remote, nosniff and a framing rule", async (path) => {
    const res = await fetch(`${server.url}${path}`);
    const csp = res.headers.get("content-security-policy") ?? "";
    const directives = Object.fromEntries(csp.split(";").map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name, values]));
    expect(directives["default-src"]).toEqual(["'self'"]);
    expect(directives["img-src"]).toEqual(["'self'", "data:", "blob:"]);
    expect(directives["script-src"]).toEqual(["'self'", "'unsafe-inline'"]);
    expect(directives["connect-src"]).toEqual(["'self'"]);
    expect(directives["object-src"]).toEqual(["'none'"]);
    expect(directives["frame-ancestors"]).toEqual(["'none'"]);
    // No directive names another host or a scheme-wide source.
    expect(csp).not.toMatch(/https?:|\*/);
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
  });
});

describe("cross-site writes", () => {
  it("a cookie-authenticated mutation or upload from another Origin is 403 and changes nothing; from Parley's own it works", async () => {
    const cookie = await signInCookie(server.url, key);
    const before = (await app.db.query.sessions.findMany()).length;
    const forged = await createSession(server.url, { cookie, origin: EVIL });
    expect(forged.status).toBe(403);
    expect(JSON.stringify(await forged.json())).toContain("FORBIDDEN");
    expect((await upload(server.url, { cookie, origin: EVIL })).status).toBe(403);
    expect((await app.db.query.sessions.findMany()).length).toBe(before);
    // A sign-in from another site (login CSRF) is refused too.
    const signIn = await fetch(`${server.url}/api/trpc/auth.signIn`, { method: "POST", headers: { "content-type": "application/json", origin: EVIL }, body: JSON.stringify({ json: { apiKey: key } }) });
    expect(signIn.status).toBe(403);

    expect((await createSession(server.url, { cookie, origin: server.url })).status).toBe(200);
    // No Origin: not a browser's cross-site request.
    expect((await createSession(server.url, { cookie })).status).toBe(200);
    // Reads are not writes.
    expect((await fetch(`${server.url}/api/trpc/auth.me`, { headers: { cookie, origin: EVIL } })).status).toBe(200);
  });

  it("API-key calls are unaffected by their Origin", async () => {
    expect((await createSession(server.url, { authorization: `Bearer ${key}`, origin: EVIL })).status).toBe(200);
    expect((await createSession(server.url, { "x-api-key": key, origin: EVIL })).status).toBe(200);
    expect((await upload(server.url, { authorization: `Bearer ${key}`, origin: EVIL })).status).not.toBe(403);
  });

  it("with PARLEY_PUBLIC_URL set, only that origin is Parley's own", async () => {
    const served = await serveTestApp({ PARLEY_PUBLIC_URL: "https://parley.example.org" });
    try {
      const ownerKey = served.tenant.owner.apiKey;
      const cookie = await signInCookie(served.url, ownerKey);
      expect((await createSession(served.url, { cookie, origin: "https://parley.example.org" })).status).toBe(200);
      expect((await createSession(served.url, { cookie, origin: served.url })).status).toBe(403);
    } finally {
      await served.close();
    }
  });
});

describe("the sign-in cookie's Secure flag", () => {
  const signInCookie = async (base: string, apiKey: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${base}/api/trpc/auth.signIn`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify({ json: { apiKey } }) });
    expect(res.status).toBe(200);
    return res.headers.get("set-cookie")!;
  };
  const secure = /;\s*Secure(;|$)/i;

  it("ignores X-Forwarded-Proto without PARLEY_TRUST_PROXY: the socket's scheme (here http) decides", async () => {
    expect(await signInCookie(server.url, key, { "x-forwarded-proto": "https" })).not.toMatch(secure);
    expect(await signInCookie(server.url, key)).not.toMatch(secure);
  });

  it("with PARLEY_TRUST_PROXY=1 follows the proxy's X-Forwarded-Proto", async () => {
    const served = await serveTestApp({ PARLEY_TRUST_PROXY: "1" });
    try {
      const ownerKey = served.tenant.owner.apiKey;
      expect(await signInCookie(served.url, ownerKey, { "x-forwarded-proto": "https" })).toMatch(secure);
      expect(await signInCookie(served.url, ownerKey, { "x-forwarded-proto": "http" })).not.toMatch(secure);
      expect(await signInCookie(served.url, ownerKey)).not.toMatch(secure);
    } finally {
      await served.close();
    }
  });
});
