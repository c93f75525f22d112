import { expect, test, type Page } from "@playwright/test";
import { OFFLINE_MODEL } from "./constants";
import { ask, lastAnswer, listMessages, newUser, normalise, sentences, signIn, trpc, type Session } from "./helpers";

function sessionIdFromUrl(page: Page): string {
  const id = new URL(page.url()).searchParams.get("c");
  expect(id).toMatch(/^[0-9a-f-]{36}$/);
  return id!;
}

test.describe("chatting", () => {
  test("a new chat gets a streamed answer, its sources, its model and a title", async ({ page }) => {
    const user = await newUser(page.request);
    await signIn(page, user.key);
    await page.goto("/");
    await expect(page.getByRole("heading", { name: "How can I help?" })).toBeVisible();

    // Shift+Enter adds a line instead of sending.
    const box = page.getByRole("textbox", { name: "Message" });
    await box.fill("How do answers survive a reload");
    await box.press("Shift+Enter");
    await box.pressSequentially("and a dropped connection?");
    await expect(box).toHaveValue("How do answers survive a reload\nand a dropped connection?");
    await expect(page.locator("article.msg-user")).toHaveCount(0);
    await box.press("Enter");

    await expect(page.getByTestId("user-message")).toHaveText("How do answers survive a reload\nand a dropped connection?");
    const answer = lastAnswer(page);
    // While it streams: Stop is offered, the composer is disabled, and the text grows.
    await expect(page.getByRole("button", { name: "Stop answering" })).toBeVisible();
    await expect(box).toBeDisabled();
    await expect(answer).toHaveAttribute("data-status", "streaming");
    await expect.poll(async () => (await answer.getByTestId("assistant-content").innerText()).length).toBeGreaterThan(20);
    const early = (await answer.getByTestId("assistant-content").innerText()).length;
    await expect.poll(async () => (await answer.getByTestId("assistant-content").innerText()).length).toBeGreaterThan(early + 20);

    await expect(answer).toHaveAttribute("data-status", "completed", { timeout: 40_000 });
    await expect(page.getByRole("button", { name: "Send message" })).toBeVisible();
    await expect(box).toBeEnabled();
    await expect(answer.getByTestId("message-model")).toHaveText(OFFLINE_MODEL);
    await expect(answer.getByRole("region", { name: "Sources" })).toBeVisible();
    await expect(answer.locator(".sources li").first()).toContainText("Parley handbook");

    // The session was created, is in the URL and in the sidebar, with a generated title.
    const id = sessionIdFromUrl(page);
    const session = await trpc<Session>(page.request, "query", "session.get", { id }, user.key);
    expect(session.title.length).toBeGreaterThan(0);
    await expect(page.locator(`[data-session-id="${id}"]`)).toContainText(session.title);
    await expect(page.getByRole("heading", { level: 1 })).toHaveText(session.title);

    // The text shown is the stored answer.
    const { items } = await listMessages(page.request, user.key, id);
    const stored = items.findLast((m) => m.role === "assistant")!;
    expect(stored.status).toBe("completed");
    expect(stored.model).toBe(OFFLINE_MODEL);
    expect(normalise(await answer.getByTestId("assistant-content").innerText())).toBe(normalise(stored.content));
  });

  test("reloading mid-answer shows the text so far at once and completes without repeating it", async ({ page }) => {
    const user = await newUser(page.request);
    await signIn(page, user.key);
    await page.goto("/");
    await ask(page, "What happens to an answer when the browser reloads or the connection drops?");
    const answer = lastAnswer(page);
    await expect.poll(async () => (await answer.getByTestId("assistant-content").innerText()).length).toBeGreaterThan(120);
    await expect(answer).toHaveAttribute("data-status", "streaming");
    const id = sessionIdFromUrl(page);

    // Hold the resumed stream back a moment, so the restoring state can be seen.
    await page.route(/\/api\/trpc\/chat\.stream/, async (route) => {
      await new Promise((r) => setTimeout(r, 1500));
      await route.continue();
    });
    await page.reload();
    const after = lastAnswer(page);
    // Text so far is on screen straight from message.list, before the stream has caught up.
    await expect(after.getByTestId("assistant-content")).not.toBeEmpty({ timeout: 5_000 });
    await expect(after.getByText("Restoring…")).toBeVisible();
    const shownAtReload = (await after.getByTestId("assistant-content").innerText()).length;
    expect(shownAtReload).toBeGreaterThan(60);
    await expect(after).toHaveAttribute("data-status", "streaming");
    await expect(after.getByText("Restoring…")).toBeHidden({ timeout: 10_000 });

    await expect(after).toHaveAttribute("data-status", "completed", { timeout: 40_000 });
    await expect(page.getByText("Restoring…")).toHaveCount(0);
    const shown = normalise(await after.getByTestId("assistant-content").innerText());
    const { items } = await listMessages(page.request, user.key, id);
    const stored = items.findLast((m) => m.role === "assistant")!;
    expect(stored.status).toBe("completed");
    expect(shown).toBe(normalise(stored.content));
    // No sentence is shown twice.
    const seen = sentences(shown);
    expect(seen.length).toBeGreaterThan(1);
    expect(new Set(seen).size).toBe(seen.length);
    // The opening words appear exactly once.
    const opening = normalise(stored.content).slice(0, 40);
    expect(shown.split(opening).length - 1).toBe(1);
  });

  test("Stop ends the answer and keeps what was written", async ({ page }) => {
    const user = await newUser(page.request);
    await signIn(page, user.key);
    await page.goto("/");
    await ask(page, "Explain how sessions, titles and sources work in Parley.");
    const answer = lastAnswer(page);
    await expect.poll(async () => (await answer.getByTestId("assistant-content").innerText()).length).toBeGreaterThan(30);
    await page.getByRole("button", { name: "Stop answering" }).click();

    await expect(answer).toHaveAttribute("data-status", "stopped");
    await expect(answer.getByText("Stopped", { exact: true })).toBeVisible();
    await expect(page.getByRole("textbox", { name: "Message" })).toBeEnabled();
    const id = sessionIdFromUrl(page);
    const { items } = await listMessages(page.request, user.key, id);
    const stored = items.findLast((m) => m.role === "assistant")!;
    expect(stored.status).toBe("stopped");
    expect(stored.content.length).toBeGreaterThan(0);
    expect(normalise(await answer.getByTestId("assistant-content").innerText())).toBe(normalise(stored.content));

    // The chat goes on after a stop.
    await ask(page, "Thanks, and what are sources?");
    await expect(page.locator("article.msg-assistant")).toHaveCount(2);
    await expect(lastAnswer(page)).toHaveAttribute("data-status", "completed", { timeout: 40_000 });
  });

  test("a failed send shows the error with Retry, and Retry sends it once", async ({ page }) => {
    const user = await newUser(page.request);
    await signIn(page, user.key);
    await page.goto("/");
    let failed = false;
    await page.route(/\/api\/trpc\/[^?]*chat\.send/, async (route) => {
      if (!failed) {
        failed = true;
        await route.abort("connectionreset");
      } else await route.continue();
    });
    await ask(page, "Which model answers without an API key?");
    const userMessage = page.locator("article.msg-user");
    await expect(userMessage.getByRole("alert")).toBeVisible();
    await userMessage.getByRole("button", { name: "Retry" }).click();
    await expect(userMessage.getByRole("alert")).toHaveCount(0);
    await expect(lastAnswer(page)).toHaveAttribute("data-status", "completed", { timeout: 40_000 });
    const { items } = await listMessages(page.request, user.key, sessionIdFromUrl(page));
    expect(items.filter((m) => m.role === "user")).toHaveLength(1);
  });

  test("older messages load when scrolling up", async ({ page }) => {
    const user = await newUser(page.request);
    const s = await trpc<Session>(page.request, "mutation", "session.create", { title: "A long conversation" }, user.key);
    // 18 turns (36 messages, more than one page of 30): each answer is stopped at once to go fast.
    for (let i = 1; i <= 18; i++) {
      const input = { sessionId: s.id, query: `Question number ${i} of the long conversation`, requestId: crypto.randomUUID() };
      let turn: { assistantMessage: { id: string } } | undefined;
      // The previous answer's slot frees a moment after its stop: CONFLICT until then.
      for (let attempt = 0; !turn; attempt++) {
        try {
          turn = await trpc(page.request, "mutation", "chat.send", input, user.key);
        } catch (e) {
          if (attempt > 50 || !String(e).includes("CONFLICT")) throw e;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      await trpc(page.request, "mutation", "chat.stop", { sessionId: s.id, messageId: turn.assistantMessage.id }, user.key);
    }
    await signIn(page, user.key);
    await page.goto(`/?c=${s.id}`);
    await expect(page.getByTestId("user-message").last()).toHaveText("Question number 18 of the long conversation");
    await expect(page.locator("article.msg")).toHaveCount(30);
    await expect(page.getByText("Question number 1 of the long conversation", { exact: true })).toHaveCount(0);

    await page.locator(".chat-scroll").evaluate((el) => el.scrollTo({ top: 0 }));
    await expect(page.locator("article.msg")).toHaveCount(36);
    await expect(page.getByText("Question number 1 of the long conversation", { exact: true })).toBeVisible();
    // Everything in order, nothing twice.
    const questions = await page.getByTestId("user-message").allInnerTexts();
    expect(questions).toEqual(Array.from({ length: 18 }, (_, i) => `Question number ${i + 1} of the long conversation`));
  });
});
