import { mkdirSync, statSync } from "node:fs";
import path from "node:path";
import { expect, test } from "@playwright/test";
import { BOOTSTRAP_KEY } from "./constants";
import { createSession, sendChat, signIn, trpc, waitForAnswer } from "./helpers";

const DIR = path.join(process.cwd(), "e2e", "screenshots");
const VIEWPORTS = { desktop: { width: 1280, height: 800 }, mobile: { width: 375, height: 812 } } as const;

test("screenshots of the chat and the dashboard, light and dark, desktop and 375px", async ({ page }) => {
  test.setTimeout(120_000);
  mkdirSync(DIR, { recursive: true });
  const shots: string[] = [];
  const shoot = async (name: string) => {
    const file = path.join(DIR, `${name}.png`);
    await page.screenshot({ path: file });
    shots.push(file);
  };

  // A conversation worth looking at: two answered questions, plus a few more chats in the list.
  const me = await trpc<{ user: { id: string } }>(page.request, "query", "auth.me", undefined, BOOTSTRAP_KEY);
  expect(me.user.id).toBeTruthy();
  for (const t of ["Onboarding checklist", "Release notes draft", "Pricing questions"]) await createSession(page.request, BOOTSTRAP_KEY, { title: t });
  const s = await createSession(page.request, BOOTSTRAP_KEY);
  await sendChat(page.request, BOOTSTRAP_KEY, s.id, "How do answers survive a reload?");
  await waitForAnswer(page.request, BOOTSTRAP_KEY, s.id);
  await sendChat(page.request, BOOTSTRAP_KEY, s.id, "Which model answers without an API key?");
  await waitForAnswer(page.request, BOOTSTRAP_KEY, s.id);

  await signIn(page, BOOTSTRAP_KEY);
  // An answer while it streams: Stop in the composer, the text growing.
  await page.goto("/");
  await page.getByRole("textbox", { name: "Message" }).fill("What can admins do in Parley?");
  await page.getByRole("textbox", { name: "Message" }).press("Enter");
  await expect.poll(async () => (await page.getByTestId("assistant-content").last().innerText()).length).toBeGreaterThan(150);
  await expect(page.getByRole("button", { name: "Stop answering" })).toBeVisible();
  await shoot("streaming-light-desktop");
  await page.getByRole("button", { name: "Stop answering" }).click();
  await expect(page.locator("article.msg-assistant").last()).toHaveAttribute("data-status", "stopped");

  for (const scheme of ["light", "dark"] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    for (const [vp, size] of Object.entries(VIEWPORTS)) {
      await page.setViewportSize(size);
      await page.goto(`/?c=${s.id}`);
      await expect(page.locator("article.msg-assistant").last()).toHaveAttribute("data-status", "completed");
      await expect(page.getByRole("heading", { level: 1 })).not.toHaveText("New chat");
      await shoot(`chat-${scheme}-${vp}`);

      await page.goto("/");
      await expect(page.getByRole("heading", { name: "How can I help?" })).toBeVisible();
      await shoot(`new-chat-${scheme}-${vp}`);

      if (vp === "mobile") {
        await page.getByRole("button", { name: "Open sidebar" }).click();
        await expect(page.getByRole("button", { name: "Close sidebar" })).toBeVisible();
        await page.waitForTimeout(300);
        await shoot(`drawer-${scheme}-${vp}`);
      } else {
        await page.goto(`/?c=${s.id}`);
        await page.getByRole("button", { name: "Chat settings" }).click();
        await expect(page.getByRole("dialog", { name: "Chat settings" })).toBeVisible();
        await shoot(`settings-${scheme}-${vp}`);
      }

      await page.goto("/admin");
      await expect(page.getByTestId("stat-sessions")).not.toHaveText("0");
      await shoot(`admin-${scheme}-${vp}`);
      await page.getByRole("tab", { name: "Sessions" }).click();
      await expect(page.getByRole("table").getByRole("row").nth(1)).toBeVisible();
      await shoot(`admin-sessions-${scheme}-${vp}`);
      await page.getByRole("tab", { name: "Users & keys" }).click();
      await expect(page.getByRole("heading", { name: "API keys" })).toBeVisible();
      await shoot(`admin-users-${scheme}-${vp}`);
    }
  }
  await page.context().clearCookies();
  await page.emulateMedia({ colorScheme: "light" });
  await page.setViewportSize(VIEWPORTS.mobile);
  await page.goto("/signin");
  await shoot("signin-light-mobile");

  for (const file of shots) expect(statSync(file).size).toBeGreaterThan(5_000);
});
