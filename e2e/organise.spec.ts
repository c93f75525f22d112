import { mkdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { expect, test, type Browser, type Page } from "@playwright/test";
import { BASE, ask, chooseFromChatMenu, createSession, lastAnswer, newUser, sendChat, signIn, trpc, waitForAnswer, type Session } from "./helpers";

/**
 * Organise, share and forget (contract, "Folders, archive, sharing, temporary chats, retention"), in
 * the browser: folders in the sidebar and Move to…, the archive, share links opened without a
 * cookie and revoked, a temporary chat kept, the tenant's retention and sharing in the admin
 * dashboard. Then screenshots, English and Chinese, desktop and 375px.
 */
type Folder = { id: string; name: string; sessionCount: number };
type Share = { id: string; url: string | null; revokedAt: string | null };
type SessionState = Session & { folderId: string | null; archivedAt: string | null; temporary: boolean };

const sidebar = (page: Page) => page.getByRole("complementary", { name: "Chats sidebar" });
const folderNav = (page: Page) => page.getByRole("navigation", { name: "Folders and views" });
const item = (page: Page, id: string) => sidebar(page).locator(`[data-session-id="${id}"]`);
const folderRow = (page: Page, name: string) => folderNav(page).locator("[data-folder-id]").filter({ hasText: name });
const getSession = (page: Page, key: string, id: string) => trpc<SessionState>(page.request, "query", "session.get", { id }, key);

const openMenu = (page: Page, id: string, action: string) => chooseFromChatMenu(page, item(page, id), action);

test.describe("organise, share and forget", () => {
  test("folders: create one, move a chat in, filter by it, rename it, delete it and keep the chat", async ({ page }) => {
    const user = await newUser(page.request);
    const budget = await createSession(page.request, user.key, { title: "Budget review" });
    const offsite = await createSession(page.request, user.key, { title: "Team offsite" });
    await signIn(page, user.key);
    await page.goto("/");
    await expect(item(page, budget.id)).toBeVisible();
    await expect(folderNav(page).getByText("No folders yet.")).toBeVisible();

    // A new folder, named inline: the list shows it, empty.
    await folderNav(page).getByRole("button", { name: "New folder" }).click();
    await folderNav(page).getByRole("textbox", { name: "Folder name" }).fill("Finance");
    await folderNav(page).getByRole("textbox", { name: "Folder name" }).press("Enter");
    await expect(folderRow(page, "Finance")).toBeVisible();
    await expect(folderRow(page, "Finance").getByRole("button", { name: /^Finance/ })).toHaveAttribute("aria-current", "page");
    await expect(sidebar(page).getByText("No chats in this folder yet.")).toBeVisible();
    const [finance] = (await trpc<{ items: Folder[] }>(page.request, "query", "folder.list", undefined, user.key)).items;
    expect(finance?.name).toBe("Finance");

    // Move a chat into it from its menu.
    await folderNav(page).getByRole("button", { name: "All chats" }).click();
    await openMenu(page, budget.id, "Move to…");
    const move = page.getByRole("dialog", { name: "Move “Budget review”" });
    await expect(move.getByRole("button", { name: "No folder" })).toHaveAttribute("aria-pressed", "true");
    await move.getByRole("button", { name: "Finance", exact: true }).click();
    await expect(move).toHaveCount(0);
    await expect.poll(async () => (await getSession(page, user.key, budget.id)).folderId).toBe(finance!.id);
    await expect(folderRow(page, "Finance").locator(".folder-count")).toHaveText("1");

    // The folder filters the list.
    await folderRow(page, "Finance").getByRole("button", { name: /^Finance/ }).click();
    await expect(item(page, budget.id)).toBeVisible();
    await expect(item(page, offsite.id)).toHaveCount(0);

    // Another chat to a folder made in the dialog.
    await folderNav(page).getByRole("button", { name: "All chats" }).click();
    await openMenu(page, offsite.id, "Move to…");
    await page.getByRole("dialog").getByRole("textbox", { name: "Folder name" }).fill("Events");
    await page.getByRole("dialog").getByRole("button", { name: "Create and move" }).click();
    await expect(page.getByRole("dialog")).toHaveCount(0);
    await expect(folderRow(page, "Events").locator(".folder-count")).toHaveText("1");

    // Rename the folder from its menu.
    await folderRow(page, "Finance").hover();
    await folderRow(page, "Finance").getByRole("button", { name: "Options for folder Finance" }).click();
    await page.getByRole("menuitem", { name: "Rename" }).click();
    await folderNav(page).getByRole("textbox", { name: "Folder name" }).fill("Money");
    await folderNav(page).getByRole("textbox", { name: "Folder name" }).press("Enter");
    await expect(folderRow(page, "Money")).toBeVisible();

    // Delete it (while showing it): its chat is kept, out of any folder.
    await folderRow(page, "Money").getByRole("button", { name: /^Money/ }).click();
    await expect(item(page, offsite.id)).toHaveCount(0);
    await folderRow(page, "Money").getByRole("button", { name: "Options for folder Money" }).click();
    await page.getByRole("menuitem", { name: "Delete" }).click();
    const confirm = page.getByRole("dialog", { name: "Delete folder?" });
    await expect(confirm).toContainText("Its 1 chat is kept and moves out of the folder.");
    await confirm.getByRole("button", { name: "Delete folder" }).click();
    await expect(folderRow(page, "Money")).toHaveCount(0);
    await expect(folderNav(page).getByRole("button", { name: "All chats" })).toHaveAttribute("aria-current", "page");
    await expect(item(page, budget.id)).toBeVisible();
    await expect(item(page, offsite.id)).toBeVisible();
    expect((await getSession(page, user.key, budget.id)).folderId).toBeNull();
  });

  test("archive a chat, find it under Archived, restore it", async ({ page }) => {
    const user = await newUser(page.request);
    const old = await createSession(page.request, user.key, { title: "Old project" });
    const other = await createSession(page.request, user.key, { title: "Current work" });
    await signIn(page, user.key);
    await page.goto("/");

    await openMenu(page, old.id, "Archive");
    await expect(item(page, old.id)).toHaveCount(0);
    await expect(item(page, other.id)).toBeVisible();
    await expect.poll(async () => (await getSession(page, user.key, old.id)).archivedAt).not.toBeNull();

    await folderNav(page).getByRole("button", { name: "Archived" }).click();
    await expect(item(page, old.id)).toBeVisible();
    await expect(item(page, other.id)).toHaveCount(0);

    await openMenu(page, old.id, "Restore from archive");
    await expect(item(page, old.id)).toHaveCount(0);
    await expect(sidebar(page).getByText("No archived chats.")).toBeVisible();
    await expect.poll(async () => (await getSession(page, user.key, old.id)).archivedAt).toBeNull();
    await folderNav(page).getByRole("button", { name: "All chats" }).click();
    await expect(item(page, old.id)).toBeVisible();
  });

  test("share a chat: the link opens without signing in, copies, and is 404 once revoked", async ({ page, browser, context }) => {
    const user = await newUser(page.request);
    const s = await createSession(page.request, user.key, { title: "Shareable answers" });
    const question = "How do answers survive a reload?";
    await sendChat(page.request, user.key, s.id, question);
    await waitForAnswer(page.request, user.key, s.id);
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: BASE });
    await signIn(page, user.key);
    await page.goto(`/?c=${s.id}`);
    await expect(lastAnswer(page)).toHaveAttribute("data-status", "completed");

    await page.getByRole("button", { name: "Share this chat" }).click();
    const dialog = page.getByRole("dialog", { name: "Share “Shareable answers”" });
    await expect(dialog.getByText("No live links.")).toBeVisible();
    await dialog.getByRole("button", { name: "Create a link" }).click();
    const link = dialog.getByRole("textbox", { name: "Your new link" });
    await expect(link).toHaveValue(/\/share\/[A-Za-z0-9_-]{40,}$/);
    const url = await link.inputValue();
    await dialog.getByRole("button", { name: "Copy link" }).click();
    await expect(dialog.getByRole("button", { name: "Copied" })).toBeVisible();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(url);
    await expect(dialog.getByRole("listitem")).toHaveCount(1);
    await expect(dialog.getByRole("listitem")).toContainText("2 messages");

    // Someone without a cookie reads it.
    const stranger = await browser.newContext();
    const reader = await stranger.newPage();
    const shown = await reader.goto(url);
    expect(shown?.status()).toBe(200);
    await expect(reader.getByRole("heading", { level: 1 })).toHaveText("Shareable answers");
    await expect(reader.getByRole("article", { name: "Question" })).toHaveText(question);
    await expect(reader.getByRole("article", { name: "Parley's answer" })).not.toBeEmpty();

    // Revoked: gone from the list, and the link is the 404 page.
    await dialog.getByRole("button", { name: /^Revoke the link created / }).click();
    await expect(dialog.getByText("No live links.")).toBeVisible();
    const gone = await reader.goto(url);
    expect(gone?.status()).toBe(404);
    await stranger.close();
    const [share] = (await trpc<{ items: Share[] }>(page.request, "query", "share.list", { sessionId: s.id }, user.key)).items;
    expect(share?.revokedAt).not.toBeNull();

    // The sidebar's menu opens the same dialog.
    await dialog.getByRole("button", { name: "Close" }).click();
    await openMenu(page, s.id, "Share…");
    await expect(page.getByRole("dialog", { name: "Share “Shareable answers”" }).getByRole("button", { name: "Create a link" })).toBeVisible();
  });

  test("a temporary chat: a banner, not in the list, not shareable, kept on request", async ({ page }) => {
    test.setTimeout(90_000);
    const user = await newUser(page.request);
    const listed = await createSession(page.request, user.key, { title: "A listed chat" });
    await signIn(page, user.key);
    await page.goto("/");
    await expect(item(page, listed.id)).toBeVisible();

    const toggle = page.getByRole("button", { name: "Temporary chat" });
    await toggle.click();
    await expect(toggle).toHaveAttribute("aria-pressed", "true");
    const banner = page.locator(".temporary-banner");
    await expect(banner).toContainText("It is not saved in your chat list and is deleted after a period of inactivity.");

    await ask(page, "Remember the word heliotrope for a moment.");
    await expect(page).toHaveURL(/\?c=[0-9a-f-]{36}$/);
    const id = new URL(page.url()).searchParams.get("c")!;
    await expect(lastAnswer(page)).toHaveAttribute("data-status", "completed", { timeout: 45_000 });
    await expect(banner).toContainText("Deleted");
    await expect(banner.getByRole("button", { name: "Keep" })).toBeVisible();
    expect((await getSession(page, user.key, id)).temporary).toBe(true);
    await expect(sidebar(page).locator("[data-session-id]")).toHaveCount(1);
    await expect(item(page, id)).toHaveCount(0);
    await expect(page.getByRole("button", { name: "Share this chat" })).toHaveCount(0);
    const listedIds = (await trpc<{ items: SessionState[] }>(page.request, "query", "session.list", {}, user.key)).items.map((s) => s.id);
    expect(listedIds).not.toContain(id);

    // Kept: an ordinary chat, in the list, shareable.
    await banner.getByRole("button", { name: "Keep" }).click();
    await expect(banner).toHaveCount(0);
    await expect(item(page, id)).toBeVisible();
    await expect(page.getByRole("button", { name: "Share this chat" })).toBeVisible();
    expect((await getSession(page, user.key, id)).temporary).toBe(false);
    await page.reload();
    await expect(item(page, id)).toBeVisible();
    await expect(page.locator(".temporary-banner")).toHaveCount(0);
  });

  test("an admin sets retention (checked above 0) and turns sharing off, which a member's Share then says", async ({ page }) => {
    // A tenant of its own, so turning sharing off touches no other test.
    const created = await trpc<{ tenant: { name: string }; apiKey: string }>(page.request, "mutation", "admin.tenants.create", {
      name: `org-${Date.now().toString(36)}`,
    });
    const owner = created.apiKey;
    const member = await trpc<{ apiKey: string }>(page.request, "mutation", "admin.users.create", { name: "member", role: "member" }, owner);
    const settings = () => trpc<{ retentionDays: number | null; keepPinned: boolean; sharingEnabled: boolean }>(page.request, "query", "admin.tenant.get", undefined, owner);

    await signIn(page, owner);
    await page.goto("/admin");
    await page.getByRole("tab", { name: "Settings" }).click();
    const days = page.getByRole("textbox", { name: "Delete chats inactive for (days)" });
    await expect(days).toHaveValue("");
    await expect(page.getByRole("checkbox", { name: "Keep pinned chats" })).toBeChecked();
    await expect(page.getByRole("checkbox", { name: "Allow share links" })).toBeChecked();

    // 0 is refused before anything is sent.
    await days.fill("0");
    await page.getByRole("button", { name: "Save" }).click();
    await expect(page.getByRole("alert").filter({ hasText: "Enter a number of days" })).toHaveText(
      "Enter a number of days above 0 (at most 36,500), or leave it empty to keep chats forever.",
    );
    await expect(days).toHaveAttribute("aria-invalid", "true");
    expect((await settings()).retentionDays).toBeNull();

    await days.fill("30");
    await page.getByRole("checkbox", { name: "Keep pinned chats" }).uncheck();
    await page.getByRole("checkbox", { name: "Allow share links" }).uncheck();
    await page.getByRole("button", { name: "Save" }).click();
    await expect(page.getByRole("status").filter({ hasText: "Saved." })).toBeVisible();
    expect(await settings()).toEqual({ retentionDays: 30, keepPinned: false, sharingEnabled: false });
    await page.reload();
    await page.getByRole("tab", { name: "Settings" }).click();
    await expect(days).toHaveValue("30");
    await expect(page.getByRole("checkbox", { name: "Allow share links" })).not.toBeChecked();

    // A member's share is refused, and the dialog says why.
    const s = await createSession(page.request, member.apiKey, { title: "Member chat" });
    await signIn(page, member.apiKey);
    await page.goto(`/?c=${s.id}`);
    await page.getByRole("button", { name: "Share this chat" }).click();
    const dialog = page.getByRole("dialog", { name: "Share “Member chat”" });
    await dialog.getByRole("button", { name: "Create a link" }).click();
    await expect(dialog.getByRole("alert")).toHaveText("Sharing is turned off in your organisation. An admin can turn it on in the admin dashboard.");

    // Empty keeps chats forever again.
    await signIn(page, owner);
    await page.goto("/admin#settings");
    await expect(days).toHaveValue("30");
    await days.fill("");
    await page.getByRole("button", { name: "Save" }).click();
    await expect(page.getByRole("status").filter({ hasText: "Saved." })).toBeVisible();
    expect((await settings()).retentionDays).toBeNull();
  });
});

/** Screenshots of the new parts, for a person to look at (kept out of git like the others). */
const DIR = path.join(process.cwd(), "e2e", "screenshots");
const VIEWPORTS = { desktop: { width: 1280, height: 800 }, mobile: { width: 375, height: 812 } } as const;
/** A message of the language's catalogue by its dotted key, as the page shows it. */
function catalogue(lang: "en" | "zh"): (key: string) => string {
  const messages: unknown = JSON.parse(readFileSync(path.join(process.cwd(), "messages", `${lang}.json`), "utf8"));
  return (key) => key.split(".").reduce((node, k) => (node as Record<string, unknown>)[k], messages) as string;
}
const CONTENT = {
  en: { folders: ["Finance", "Research notes", "Team offsite"], chats: ["Quarterly budget review", "Vendor contract questions", "Offsite agenda"], question: "How do answers survive a reload?", temporary: "Which model answers without an API key?" },
  zh: { folders: ["财务", "研究笔记", "团建"], chats: ["季度预算评审", "供应商合同问题", "团建议程"], question: "刷新页面后回答如何保留？", temporary: "没有 API 密钥时由哪个模型回答？" },
};

async function shootOrganise(browser: Browser, request: Page["request"], lang: "en" | "zh") {
  mkdirSync(DIR, { recursive: true });
  const m = catalogue(lang);
  const c = CONTENT[lang];
  const user = await newUser(request, "member", lang === "en" ? "Dana" : "李雷");
  const admin = await newUser(request, "admin", lang === "en" ? "Ada" : "韩梅梅");
  const folders: Folder[] = [];
  for (const name of c.folders) folders.push(await trpc<Folder>(request, "mutation", "folder.create", { name }, user.key));
  for (const [i, title] of c.chats.entries()) await createSession(request, user.key, { title, folderId: folders[i % 2]!.id });
  const answered = await createSession(request, user.key, { title: c.chats[0] + " · Q&A", folderId: folders[0]!.id });
  await sendChat(request, user.key, answered.id, c.question);
  await waitForAnswer(request, user.key, answered.id);
  const share = await trpc<Share>(request, "mutation", "share.create", { sessionId: answered.id }, user.key);

  const shots: string[] = [];
  const schemes = lang === "en" ? (["light", "dark"] as const) : (["light"] as const);
  for (const scheme of schemes) {
    for (const [vp, size] of Object.entries(VIEWPORTS)) {
      const context = await browser.newContext({ locale: lang === "en" ? "en-US" : "zh-CN", viewport: size, colorScheme: scheme });
      const page = await context.newPage();
      const shoot = async (name: string) => {
        const file = path.join(DIR, `organise-${name}-${lang}-${scheme}-${vp}.png`);
        await page.screenshot({ path: file });
        shots.push(file);
      };
      await signIn(page, user.key);

      // The sidebar with its folders, one of them open.
      await page.goto(`/?c=${answered.id}`);
      await expect(lastAnswer(page)).toHaveAttribute("data-status", "completed");
      if (vp === "mobile") {
        await page.getByRole("button", { name: m("chat.openSidebar") }).click();
        await page.waitForTimeout(300);
      }
      await page.locator(".folder-nav [data-folder-id]").filter({ hasText: c.folders[0] }).getByRole("button").first().click();
      await expect(page.locator(`[data-session-id="${answered.id}"]`)).toBeVisible();
      await shoot("sidebar");
      // A chat's menu, which must fit the drawer at 375px.
      await page.locator(`[data-session-id="${answered.id}"]`).hover();
      await page.locator(`[data-session-id="${answered.id}"] .session-menu-btn`).click();
      await expect(page.getByRole("menu")).toBeVisible();
      await shoot("menu");
      await page.keyboard.press("Escape");

      // The share dialog, a new link made.
      await page.goto(`/?c=${answered.id}`);
      await page.getByRole("button", { name: m("chat.share") }).click();
      await page.getByRole("dialog").getByRole("button", { name: m("sharing.create") }).click();
      await expect(page.getByRole("dialog").getByRole("textbox")).toHaveValue(/\/share\//);
      await shoot("share-dialog");
      await page.keyboard.press("Escape");

      // Move to…, from the chat's menu.
      if (vp === "mobile") {
        await page.getByRole("button", { name: m("chat.openSidebar") }).click();
        await page.waitForTimeout(300);
      }
      await page.locator(`[data-session-id="${answered.id}"]`).hover();
      await page.locator(`[data-session-id="${answered.id}"] .session-menu-btn`).click();
      await page.getByRole("menuitem", { name: m("sessionItem.moveTo") }).click();
      await expect(page.getByRole("dialog").getByRole("button", { pressed: true })).toBeVisible();
      await shoot("move-dialog");
      await page.keyboard.press("Escape");

      // A temporary chat, before its first message and with its banner.
      await page.goto("/");
      await page.getByRole("button", { name: m("temporary.toggleLabel") }).click();
      await expect(page.locator(".temporary-banner")).toBeVisible();
      await shoot("temporary-new");
      await ask(page, c.temporary, m("composer.message"));
      await expect(lastAnswer(page)).toHaveAttribute("data-status", "completed", { timeout: 45_000 });
      await expect(page.locator(".temporary-banner button")).toBeVisible();
      await shoot("temporary");

      // The shared page, as anyone reads it.
      await context.clearCookies();
      await page.goto(share.url!);
      await expect(page.getByRole("heading", { level: 1 })).toBeVisible();
      await shoot("share-page");

      // The tenant's settings, as an admin sees them, with a refused retention (nothing saved).
      await signIn(page, admin.key);
      await page.goto("/admin");
      await page.getByRole("tab", { name: m("admin.tabs.settings") }).click();
      await page.locator("#retention-days").fill("0");
      await page.getByRole("button", { name: m("common.save") }).click();
      await expect(page.locator("#retention-days")).toHaveAttribute("aria-invalid", "true");
      await shoot("admin-settings");
      await context.close();
    }
  }
  for (const file of shots) expect(statSync(file).size).toBeGreaterThan(5_000);
}

test("screenshots of folders, the share dialog, a temporary chat and a shared page, English and Chinese, desktop and 375px", async ({ page, browser }) => {
  test.setTimeout(240_000);
  await shootOrganise(browser, page.request, "en");
  await shootOrganise(browser, page.request, "zh");
});
