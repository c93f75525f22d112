import { expect, test } from "@playwright/test";
import { BOOTSTRAP_KEY } from "./constants";
import { ask, chooseFromChatMenu, lastAnswer, newUser, signIn } from "./helpers";

const PAYLOAD = "<img src=x onerror=alert(1)>";

test("a title and a message holding HTML show it as text, and no script runs", async ({ page }) => {
  const dialogs: string[] = [];
  page.on("dialog", async (d) => {
    dialogs.push(d.message());
    await d.dismiss();
  });
  const user = await newUser(page.request, "member", "xss");
  await signIn(page, user.key);
  await page.goto("/");

  // No handbook section matches these words, so the offline model quotes the question back:
  // the payload then goes through the Markdown renderer as well.
  await ask(page, `What does ${PAYLOAD} do?`);
  await expect(page.getByTestId("user-message")).toHaveText(`What does ${PAYLOAD} do?`);
  const answer = lastAnswer(page);
  await expect(answer).toHaveAttribute("data-status", "completed", { timeout: 40_000 });

  // Rename the chat to the payload too.
  const id = new URL(page.url()).searchParams.get("c")!;
  const row = page.locator(`[data-session-id="${id}"]`);
  await chooseFromChatMenu(page, row, "Rename");
  await row.getByRole("textbox", { name: "Chat title" }).fill(PAYLOAD);
  await row.getByRole("textbox", { name: "Chat title" }).press("Enter");
  await expect(row.locator(".session-title")).toHaveText(PAYLOAD);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(PAYLOAD);

  await page.reload();
  await expect(page.locator(`[data-session-id="${id}"] .session-title`)).toHaveText(PAYLOAD);
  await expect(page.getByTestId("user-message")).toContainText(PAYLOAD);
  // The answer quotes the question: the tag is text there too, inside rendered Markdown.
  await expect(lastAnswer(page).getByTestId("assistant-content")).toContainText(PAYLOAD);

  // The admin transcript renders it the same way.
  await signIn(page, BOOTSTRAP_KEY);
  await page.goto("/admin#sessions");
  await page.getByRole("searchbox", { name: "Search sessions" }).fill("onerror");
  await page.getByRole("table").getByRole("button", { name: PAYLOAD }).first().click();
  await expect(page.getByRole("dialog").getByText(`What does ${PAYLOAD} do?`, { exact: false }).first()).toBeVisible();

  await page.waitForTimeout(300);
  expect(await page.locator('img[src="x"]').count()).toBe(0);
  expect(dialogs).toEqual([]);
});
