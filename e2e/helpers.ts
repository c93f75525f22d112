import { expect, type APIRequestContext, type Locator, type Page } from "@playwright/test";
import { BOOTSTRAP_KEY, E2E_PORT } from "./constants";

export const BASE = `http://localhost:${E2E_PORT}`;

/** tRPC over plain HTTP (superjson envelope), authenticated with an API key. */
export async function trpc<T = unknown>(
  request: APIRequestContext,
  kind: "query" | "mutation",
  path: string,
  input: unknown,
  key: string = BOOTSTRAP_KEY,
): Promise<T> {
  const headers = { authorization: `Bearer ${key}`, "content-type": "application/json" };
  const url = `${BASE}/api/trpc/${path}`;
  const res =
    kind === "query"
      ? await request.get(`${url}?input=${encodeURIComponent(JSON.stringify({ json: input }))}`, { headers })
      : await request.post(url, { headers, data: { json: input } });
  const body = (await res.json()) as { error?: { json?: unknown }; result: { data: { json: unknown } } };
  if (!res.ok()) throw new Error(`${path} failed (${res.status()}): ${JSON.stringify(body.error?.json ?? body)}`);
  return body.result.data.json as T;
}

/** Same, but returns the tRPC error code instead of throwing. */
export async function trpcCode(request: APIRequestContext, kind: "query" | "mutation", path: string, input: unknown, key: string) {
  try {
    await trpc(request, kind, path, input, key);
    return "OK";
  } catch (e) {
    const m = /"code":"([A-Z_]+)"/.exec((e as Error).message);
    return m?.[1] ?? (e as Error).message;
  }
}

let counter = 0;
/** A fresh user of tenant `default` (created with the owner key), so each test starts with an empty sidebar. */
export async function newUser(request: APIRequestContext, role: "member" | "admin" | "owner" = "member", prefix = "user") {
  const name = `${prefix}-${Date.now().toString(36)}-${++counter}`;
  const res = await trpc<{ user: { id: string; name: string; role: string }; apiKey: string }>(
    request,
    "mutation",
    "admin.users.create",
    { name, role },
  );
  return { ...res.user, key: res.apiKey };
}

/** Signs the page's browser context in with a key (sets the httpOnly cookie), without the UI. */
export async function signIn(page: Page, key: string) {
  const res = await page.request.post(`${BASE}/api/trpc/auth.signIn`, {
    headers: { "content-type": "application/json" },
    data: { json: { apiKey: key } },
  });
  expect(res.ok(), await res.text()).toBe(true);
}

export interface Session {
  id: string;
  title: string;
  pinned: boolean;
  strategy: Record<string, unknown>;
  summaryParameters: Record<string, unknown>;
  contextConfig: Record<string, unknown>;
}
export interface Message {
  id: string;
  role: "user" | "assistant";
  content: string;
  status: string;
  model: string | null;
}

export const createSession = (request: APIRequestContext, key: string, input: Record<string, unknown> = {}) =>
  trpc<Session>(request, "mutation", "session.create", input, key);

export const sendChat = (request: APIRequestContext, key: string, sessionId: string, query: string) =>
  trpc<{ userMessage: Message; assistantMessage: Message }>(request, "mutation", "chat.send", { sessionId, query }, key);

export const listMessages = (request: APIRequestContext, key: string, sessionId: string) =>
  trpc<{ items: Message[]; hasMore: boolean }>(request, "query", "message.list", { sessionId, limit: 100 }, key);

/** Waits (polling message.list) until the session's last answer is no longer streaming. */
export async function waitForAnswer(request: APIRequestContext, key: string, sessionId: string, timeout = 45_000) {
  let last: Message | undefined;
  await expect
    .poll(
      async () => {
        const { items } = await listMessages(request, key, sessionId);
        last = items.findLast((m) => m.role === "assistant");
        return last?.status;
      },
      { timeout, intervals: [250, 500, 1000] },
    )
    .not.toBe("streaming");
  return last!;
}

/** Opens the options menu of a chat's row in the sidebar and picks `action` from it. */
export async function chooseFromChatMenu(page: Page, row: Locator, action: string) {
  await row.hover();
  await row.getByRole("button", { name: /^Options for / }).click();
  await page.getByRole("menuitem", { name: action }).click();
}

/** The conversation's last answer article. */
export const lastAnswer = (page: Page) => page.locator("article.msg-assistant").last();

/** Text with Markdown's inline marks and all whitespace runs folded, for comparing rendered and stored text. */
export function normalise(text: string): string {
  return text
    .replace(/[*_`]/g, "")
    .replace(/\s+/g, " ")
    .trim();
}

/** Sentences of a text (split after . ! ? followed by a space). */
export function sentences(text: string): string[] {
  return normalise(text)
    .split(/(?<=[.!?…])\s+/)
    .map((s) => s.trim())
    .filter((s) => s.length > 20);
}

/** Sends a question from the composer (`label`: its accessible name in the page's language). */
export async function ask(page: Page, question: string, label = "Message") {
  const box = page.getByRole("textbox", { name: label });
  const asked = page.getByTestId("user-message").filter({ hasText: question });
  const before = await asked.count();
  // A question typed while the page is still hydrating is wiped by React: type it again until the
  // conversation shows it (never twice: a retry only happens while it has not appeared).
  await expect(async () => {
    if ((await asked.count()) > before) return;
    if ((await box.inputValue()) !== question) await box.fill(question);
    await box.press("Enter");
    await expect(asked).toHaveCount(before + 1, { timeout: 5_000 });
  }).toPass({ timeout: 20_000 });
}
