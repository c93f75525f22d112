import { mkdirSync } from "node:fs";
import path from "node:path";
import { expect, test, type Page } from "@playwright/test";
import { createSession, lastAnswer, newUser, sendChat, signIn, trpc, waitForAnswer } from "./helpers";

/**
 * A conversation people steer (contract, "Branches"): regenerate an answer, page between its
 * versions, edit a question and resend it, switch back, and find the same branch after a reload;
 * rate an answer with a reason. Then screenshots, English and Chinese, desktop and 375px.
 */
const DIR = path.join(process.cwd(), "e2e", "screenshots");
const FIRST = "How do answers survive a reload?";
const EDITED = "How do answers survive a crashed instance?";

const question = (page: Page) => page.locator("article.msg-user").last();
const versionsOf = (article: ReturnType<Page["locator"]>) => article.getByTestId("versions");

/** A session with one answered question, opened in the page as `key`'s user. */
async function openAnswered(page: Page, key: string, query = FIRST, title = "Branches") {
  const s = await createSession(page.request, key, { title });
  await sendChat(page.request, key, s.id, query);
  await waitForAnswer(page.request, key, s.id);
  await signIn(page, key);
  await page.goto(`/?c=${s.id}`);
  await expect(lastAnswer(page)).toHaveAttribute("data-status", "completed");
  return s;
}

test("regenerate, page between versions, edit and resend, switch back, reload keeps the branch, rate", async ({ page }) => {
  test.setTimeout(120_000);
  const user = await newUser(page.request);
  const s = await openAnswered(page, user.key);
  const firstAnswer = (await lastAnswer(page).getByTestId("assistant-content").innerText()).trim();
  await expect(versionsOf(lastAnswer(page))).toHaveCount(0);

  // Regenerate, from the keyboard: a second version streams in place of the first.
  const first = await lastAnswer(page).getAttribute("data-message-id");
  await lastAnswer(page).getByRole("button", { name: "Regenerate answer" }).focus();
  await page.keyboard.press("Enter");
  await expect(lastAnswer(page)).not.toHaveAttribute("data-message-id", first ?? "");
  await expect(lastAnswer(page)).toHaveAttribute("data-status", "completed", { timeout: 45_000 });
  await expect(versionsOf(lastAnswer(page))).toHaveAccessibleName("Version 2 of 2");
  await expect(versionsOf(lastAnswer(page))).toContainText("2/2");

  // Page back to the first version and forward again.
  await lastAnswer(page).getByRole("button", { name: "Previous version" }).click();
  await expect(versionsOf(lastAnswer(page))).toContainText("1/2");
  await expect(lastAnswer(page).getByTestId("assistant-content")).toHaveText(firstAnswer);
  await lastAnswer(page).getByRole("button", { name: "Next version" }).click();
  await expect(versionsOf(lastAnswer(page))).toContainText("2/2");
  const secondAnswer = (await lastAnswer(page).getByTestId("assistant-content").innerText()).trim();

  // Edit the question: Escape cancels, Enter sends the new version.
  await question(page).hover();
  await question(page).getByRole("button", { name: "Edit question" }).click();
  const editor = page.getByRole("textbox", { name: "Edit your question" });
  await expect(editor).toBeFocused();
  await editor.fill("Not this");
  await editor.press("Escape");
  await expect(editor).toHaveCount(0);
  await expect(question(page).getByTestId("user-message")).toHaveText(FIRST);
  await question(page).hover();
  await question(page).getByRole("button", { name: "Edit question" }).click();
  await editor.fill(EDITED);
  await editor.press("Enter");
  await expect(question(page).getByTestId("user-message")).toHaveText(EDITED);
  await expect(versionsOf(question(page))).toContainText("2/2");
  await expect(lastAnswer(page)).toHaveAttribute("data-status", "completed", { timeout: 45_000 });
  await expect(versionsOf(lastAnswer(page))).toHaveCount(0);

  // Switch back to the first question: its answer is the version chosen last there (the second).
  await question(page).getByRole("button", { name: "Previous version" }).click();
  await expect(question(page).getByTestId("user-message")).toHaveText(FIRST);
  await expect(versionsOf(question(page))).toContainText("1/2");
  await expect(versionsOf(lastAnswer(page))).toContainText("2/2");
  await expect(lastAnswer(page).getByTestId("assistant-content")).toHaveText(secondAnswer);

  // Rate it down with a reason.
  await lastAnswer(page).getByRole("button", { name: "Bad answer" }).click();
  await expect(lastAnswer(page).getByRole("button", { name: "Bad answer" })).toHaveAttribute("aria-pressed", "true");
  const reason = page.getByRole("textbox", { name: "What went wrong? (optional)" });
  await expect(reason).toBeFocused();
  await reason.fill("Too vague");
  await reason.press("Enter");
  await expect(lastAnswer(page)).toContainText("“Too vague”");

  // A reload (another device alike) shows the same branch and the rating: they live on the server.
  await page.reload();
  await expect(lastAnswer(page)).toHaveAttribute("data-status", "completed");
  await expect(question(page).getByTestId("user-message")).toHaveText(FIRST);
  await expect(versionsOf(question(page))).toContainText("1/2");
  await expect(versionsOf(lastAnswer(page))).toContainText("2/2");
  await expect(lastAnswer(page).getByTestId("assistant-content")).toHaveText(secondAnswer);
  await expect(lastAnswer(page).getByRole("button", { name: "Bad answer" })).toHaveAttribute("aria-pressed", "true");
  await expect(lastAnswer(page)).toContainText("“Too vague”");
  const { items } = await trpc<{ items: { content: string; feedback: { rating: string; reason: string } | null }[] }>(
    page.request,
    "query",
    "message.list",
    { sessionId: s.id },
    user.key,
  );
  expect(items.map((m) => m.feedback)).toEqual([null, { rating: "down", reason: "Too vague" }]);

  // Pressing the pressed thumb again removes the rating.
  await lastAnswer(page).getByRole("button", { name: "Bad answer" }).click();
  await expect(lastAnswer(page).getByRole("button", { name: "Bad answer" })).toHaveAttribute("aria-pressed", "false");
});

/** Regenerates the last answer and waits for the new version to finish (the old one is replaced once the server answers). */
async function regenerateLast(page: Page, label: string) {
  const before = await lastAnswer(page).getAttribute("data-message-id");
  await lastAnswer(page).getByRole("button", { name: label }).click();
  await expect(lastAnswer(page)).not.toHaveAttribute("data-message-id", before ?? "");
  await expect(lastAnswer(page)).toHaveAttribute("data-status", "completed", { timeout: 45_000 });
}

/** A conversation with versions on both sides and a rated answer, for the screenshots. */
async function branchedConversation(page: Page, query: string, edited: string, reason: string, labels: { regenerate: string; edit: string; editBox: string; good: string; reasonBox: string }) {
  const user = await newUser(page.request);
  await openAnswered(page, user.key, query, query.slice(0, 40));
  await regenerateLast(page, labels.regenerate);
  await question(page).hover();
  await question(page).getByRole("button", { name: labels.edit }).click();
  await page.getByRole("textbox", { name: labels.editBox }).fill(edited);
  await page.getByRole("textbox", { name: labels.editBox }).press("Enter");
  await expect(question(page).getByTestId("user-message")).toHaveText(edited);
  await expect(lastAnswer(page)).toHaveAttribute("data-status", "completed", { timeout: 45_000 });
  await regenerateLast(page, labels.regenerate);
  await lastAnswer(page).getByRole("button", { name: labels.good }).click();
  await page.getByRole("textbox", { name: labels.reasonBox }).fill(reason);
  await page.getByRole("textbox", { name: labels.reasonBox }).press("Enter");
  await expect(lastAnswer(page)).toContainText(reason);
}

/** A screenshot with `what` in view: by default the last answer's footer (its versions, regenerate and rating). */
async function shoot(page: Page, name: string, what = lastAnswer(page).locator("footer")) {
  mkdirSync(DIR, { recursive: true });
  await what.scrollIntoViewIfNeeded();
  await page.screenshot({ path: path.join(DIR, `branches-${name}.png`) });
}

const VIEWPORTS = [
  ["desktop", { width: 1280, height: 800 }],
  ["mobile", { width: 375, height: 812 }],
] as const;

test("screenshots: English, light and dark, desktop and 375px", async ({ page }) => {
  test.setTimeout(150_000);
  await branchedConversation(page, FIRST, EDITED, "Clear and cited", {
    regenerate: "Regenerate answer",
    edit: "Edit question",
    editBox: "Edit your question",
    good: "Good answer",
    reasonBox: "What was good? (optional)",
  });
  for (const scheme of ["light", "dark"] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    for (const [name, size] of VIEWPORTS) {
      await page.setViewportSize(size);
      await page.reload();
      await expect(versionsOf(lastAnswer(page))).toContainText("2/2");
      await shoot(page, `en-${scheme}-${name}`);
    }
  }
  // The inline editor open, at 375px.
  await question(page).getByRole("button", { name: "Edit question" }).click();
  await expect(page.getByRole("textbox", { name: "Edit your question" })).toBeFocused();
  await shoot(page, "en-dark-mobile-editing", question(page));
});

test.describe("in Chinese", () => {
  test.use({ locale: "zh-CN" });

  test("screenshots: Chinese, desktop and 375px", async ({ page }) => {
    test.setTimeout(150_000);
    await branchedConversation(page, "会话上下文在Redis中的默认过期时间是多少？", "回答如何在实例崩溃后保留？", "清楚，有引用", {
      regenerate: "重新生成回答",
      edit: "编辑问题",
      editBox: "编辑你的问题",
      good: "好回答",
      reasonBox: "哪里好？（可选）",
    });
    await expect(versionsOf(lastAnswer(page))).toHaveAccessibleName("第 2 版，共 2 版");
    for (const [name, size] of VIEWPORTS) {
      await page.setViewportSize(size);
      await page.reload();
      await expect(versionsOf(lastAnswer(page))).toContainText("2/2");
      await shoot(page, `zh-light-${name}`);
    }
  });
});
