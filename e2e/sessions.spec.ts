import { readFile } from "node:fs/promises";
import { expect, test, type Page } from "@playwright/test";
import { chooseFromChatMenu, createSession, newUser, sendChat, signIn, trpc, trpcCode, type Session } from "./helpers";

const sidebar = (page: Page) => page.getByRole("complementary", { name: "Chats sidebar" });
const item = (page: Page, id: string) => page.locator(`[data-session-id="${id}"]`);

const openMenu = (page: Page, id: string, action: string) => chooseFromChatMenu(page, item(page, id), action);

test.describe("the session sidebar", () => {
  test("rename inline (Enter saves, Esc cancels) and pin/unpin", async ({ page }) => {
    const user = await newUser(page.request);
    const a = await createSession(page.request, user.key, { title: "First chat" });
    const b = await createSession(page.request, user.key, { title: "Second chat" });
    await signIn(page, user.key);
    await page.goto("/");
    await expect(item(page, a.id)).toBeVisible();

    await openMenu(page, a.id, "Rename");
    const input = item(page, a.id).getByRole("textbox", { name: "Chat title" });
    await expect(input).toBeFocused();
    await input.fill("Should not stick");
    await input.press("Escape");
    await expect(item(page, a.id)).toContainText("First chat");

    await openMenu(page, a.id, "Rename");
    await item(page, a.id).getByRole("textbox", { name: "Chat title" }).fill("Quarterly planning notes");
    await item(page, a.id).getByRole("textbox", { name: "Chat title" }).press("Enter");
    await expect(item(page, a.id)).toContainText("Quarterly planning notes");
    await expect
      .poll(async () => (await trpc<Session>(page.request, "query", "session.get", { id: a.id }, user.key)).title)
      .toBe("Quarterly planning notes");

    // Pin the older one: it moves to the Pinned group, above the newer one.
    await openMenu(page, a.id, "Pin");
    const pinned = sidebar(page).getByRole("region", { name: "Pinned" });
    await expect(pinned.locator(`[data-session-id="${a.id}"]`)).toBeVisible();
    await expect(pinned.locator(`[data-session-id="${b.id}"]`)).toHaveCount(0);
    await expect.poll(async () => (await trpc<Session>(page.request, "query", "session.get", { id: a.id }, user.key)).pinned).toBe(true);
    await page.reload();
    await expect(sidebar(page).getByRole("region", { name: "Pinned" }).locator(`[data-session-id="${a.id}"]`)).toBeVisible();

    await openMenu(page, a.id, "Unpin");
    await expect(sidebar(page).getByRole("region", { name: "Pinned" })).toHaveCount(0);
    await expect.poll(async () => (await trpc<Session>(page.request, "query", "session.get", { id: a.id }, user.key)).pinned).toBe(false);
  });

  test("search finds a chat by a word only in its messages, and highlights it", async ({ page }) => {
    const user = await newUser(page.request);
    const word = `zebraquartz${Date.now().toString(36)}`;
    const hit = await createSession(page.request, user.key, { title: "Alpha notes" });
    const miss = await createSession(page.request, user.key, { title: "Beta notes" });
    await sendChat(page.request, user.key, hit.id, `Please remember the codeword ${word} for later.`);
    await signIn(page, user.key);
    await page.goto("/");
    await expect(item(page, miss.id)).toBeVisible();

    // Ctrl+K focuses the search box.
    await page.locator("body").click();
    await page.keyboard.press("Control+k");
    const search = page.getByRole("searchbox", { name: "Search chats" });
    await expect(search).toBeFocused();
    await search.fill(word.toUpperCase());
    await expect(item(page, hit.id)).toBeVisible();
    await expect(item(page, miss.id)).toHaveCount(0);
    await expect(sidebar(page).getByRole("region", { name: "Results" })).toContainText("Alpha notes");

    // Opening the result shows the message with the word highlighted.
    await item(page, hit.id).getByRole("button", { name: "Alpha notes", exact: true }).click();
    await expect(page.getByTestId("user-message").first()).toContainText(word);
    await expect
      .poll(() => page.evaluate(() => (CSS as unknown as { highlights: Map<string, { size: number }> }).highlights.get("parley-search")?.size ?? 0))
      .toBeGreaterThan(0);

    // A title match is highlighted in the list.
    await search.fill("Beta");
    await expect(item(page, miss.id).locator("mark")).toHaveText("Beta");
    await search.fill("");
    await expect(item(page, hit.id)).toBeVisible();
    await expect(item(page, miss.id)).toBeVisible();
  });

  test("export as Markdown and as JSON downloads the file", async ({ page }) => {
    const user = await newUser(page.request);
    const s = await createSession(page.request, user.key, { title: "Export me please" });
    await sendChat(page.request, user.key, s.id, "What is Parley for?");
    await signIn(page, user.key);
    await page.goto("/");

    const [md] = await Promise.all([page.waitForEvent("download"), openMenu(page, s.id, "Export as Markdown")]);
    expect(md.suggestedFilename()).toBe(`export-me-please-${s.id.slice(0, 8)}.md`);
    const mdText = await readFile(await md.path(), "utf8");
    expect(mdText).toContain("# Export me please");
    expect(mdText).toContain("What is Parley for?");

    const [json] = await Promise.all([page.waitForEvent("download"), openMenu(page, s.id, "Export as JSON")]);
    expect(json.suggestedFilename()).toBe(`export-me-please-${s.id.slice(0, 8)}.json`);
    const data = JSON.parse(await readFile(await json.path(), "utf8"));
    expect(data.session.id).toBe(s.id);
    expect(data.messages.some((m: { content: string }) => m.content === "What is Parley for?")).toBe(true);
  });

  test("delete one with confirmation", async ({ page }) => {
    const user = await newUser(page.request);
    const keep = await createSession(page.request, user.key, { title: "Keep this one" });
    const drop = await createSession(page.request, user.key, { title: "Drop this one" });
    await signIn(page, user.key);
    await page.goto(`/?c=${drop.id}`);
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("Drop this one");

    await openMenu(page, drop.id, "Delete");
    const dialog = page.getByRole("dialog", { name: "Delete chat?" });
    await expect(dialog).toContainText("Drop this one");
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await expect(item(page, drop.id)).toBeVisible();

    await openMenu(page, drop.id, "Delete");
    await page.getByRole("dialog", { name: "Delete chat?" }).getByRole("button", { name: "Delete", exact: true }).click();
    await expect(item(page, drop.id)).toHaveCount(0);
    await expect(item(page, keep.id)).toBeVisible();
    // The open chat was the deleted one: the view goes back to a new chat.
    await expect(page.getByRole("heading", { name: "How can I help?" })).toBeVisible();
    expect(await trpcCode(page.request, "query", "session.get", { id: drop.id }, user.key)).toBe("NOT_FOUND");
  });

  test("select three and delete them together", async ({ page }) => {
    const user = await newUser(page.request);
    const sessions = [];
    for (const t of ["One", "Two", "Three", "Four"]) sessions.push(await createSession(page.request, user.key, { title: `Bulk ${t}` }));
    await signIn(page, user.key);
    await page.goto("/");
    await expect(item(page, sessions[3]!.id)).toBeVisible();

    await page.getByRole("button", { name: "Select chats" }).click();
    // Select all, then clear it, then pick three.
    await page.getByRole("checkbox", { name: "Select all" }).check();
    await expect(page.getByRole("button", { name: "Delete 4 sessions" })).toBeEnabled();
    await page.getByRole("checkbox", { name: "Select all" }).uncheck();
    await expect(page.getByRole("button", { name: "Delete 0 sessions" })).toBeDisabled();
    for (const s of sessions.slice(0, 3)) await page.getByRole("checkbox", { name: `Select ${s.title}` }).check();
    await page.getByRole("button", { name: "Delete 3 sessions" }).click();
    const dialog = page.getByRole("dialog", { name: "Delete 3 sessions?" });
    await dialog.getByRole("button", { name: "Delete 3 sessions" }).click();
    await expect(dialog).toBeHidden();
    for (const s of sessions.slice(0, 3)) await expect(item(page, s.id)).toHaveCount(0);
    await expect(item(page, sessions[3]!.id)).toBeVisible();
    const list = await trpc<{ items: Session[]; total: number }>(page.request, "query", "session.list", { withTotal: true }, user.key);
    expect(list.total).toBe(1);
    expect(list.items[0]!.id).toBe(sessions[3]!.id);
  });

  test("the list scrolls in further pages, and Ctrl+Shift+O starts a new chat", async ({ page }) => {
    const user = await newUser(page.request);
    const created: Session[] = [];
    for (let i = 0; i < 34; i++) created.push(await createSession(page.request, user.key, { title: `Paged chat ${String(i).padStart(2, "0")}` }));
    await signIn(page, user.key);
    await page.goto(`/?c=${created[33]!.id}`);
    const rows = sidebar(page).locator("[data-session-id]");
    await expect(rows).toHaveCount(30);
    await rows.nth(29).scrollIntoViewIfNeeded();
    await expect(rows).toHaveCount(34);
    await expect(item(page, created[0]!.id)).toContainText("Paged chat 00");

    await expect(page.getByRole("heading", { level: 1 })).toHaveText("Paged chat 33");
    await page.keyboard.press("Control+Shift+O");
    await expect(page.getByRole("heading", { name: "How can I help?" })).toBeVisible();
    await expect(page).toHaveURL(/\/$/);
  });

  test("a new chat's settings open before its first message, making the session then", async ({ page }) => {
    const user = await newUser(page.request);
    await signIn(page, user.key);
    await page.goto("/");
    await expect(page.getByRole("heading", { name: "How can I help?" })).toBeVisible();
    await page.getByRole("button", { name: "Chat settings" }).click();
    const panel = page.getByRole("dialog", { name: "Chat settings" });
    await panel.getByLabel("Conversation rounds").fill("3");
    await panel.getByRole("button", { name: "Save" }).click();
    await expect(panel.getByText("Saved.")).toBeVisible();
    await expect(page).toHaveURL(/\?c=[0-9a-f-]{36}/);
    const id = new URL(page.url()).searchParams.get("c")!;
    expect((await trpc<Session>(page.request, "query", "session.get", { id }, user.key)).strategy.maxRounds).toBe(3);
  });

  test("the settings panel validates with the contract's limits and saves a deep-merged change", async ({ page }) => {
    const user = await newUser(page.request);
    const s = await createSession(page.request, user.key, { title: "Tuned chat" });
    await signIn(page, user.key);
    await page.goto(`/?c=${s.id}`);
    await page.getByRole("button", { name: "Chat settings" }).click();
    const panel = page.getByRole("dialog", { name: "Chat settings" });
    const rounds = panel.getByLabel("Conversation rounds");
    await expect(rounds).toHaveValue("5");
    await expect(rounds).toHaveAccessibleDescription(/1–100 · default 5/);

    await rounds.fill("500");
    await panel.getByRole("button", { name: "Save" }).click();
    await expect(rounds).toHaveAttribute("aria-invalid", "true");
    await expect(rounds).toHaveAccessibleDescription("At most 100");
    await expect(panel.getByRole("alert")).toContainText("Fix the field");
    expect((await trpc<Session>(page.request, "query", "session.get", { id: s.id }, user.key)).strategy.maxRounds).toBe(5);

    await rounds.fill("7");
    await panel.getByLabel("Temperature").fill("0.8");
    await panel.getByLabel("Compression").selectOption("smart");
    await panel.getByRole("button", { name: "Save" }).click();
    await expect(panel.getByText("Saved.")).toBeVisible();
    const saved = await trpc<Session>(page.request, "query", "session.get", { id: s.id }, user.key);
    expect(saved.strategy).toMatchObject({ maxRounds: 7, enableRewrite: true, fallbackStrategy: "model", rerankTopK: 5 });
    expect(saved.summaryParameters).toMatchObject({ temperature: 0.8, maxCompletionTokens: 2048 });
    expect(saved.contextConfig).toMatchObject({ compressionStrategy: "smart", maxTokens: 131072, recentMessageCount: 20 });
  });
});
